"""The LangChain retriever, used exactly as README shows: from another program, outside the
repository, given nothing but a store folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.retriever import KabarRetriever, default_model_cache
from index.settings import StoreSettings
from tests.fixtures.paths import REPO

README_STORE = '"~/.local/share/kabar/store"'


def readme_example() -> str:
    """The retriever example in README.md (the Python block after its heading)."""
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("### The retriever for other apps", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README has no Python example for the retriever"
    return match.group(1)


@pytest.mark.slow  # starts a process
def test_readme_example_runs_from_another_program(
    sample_settings: StoreSettings, tmp_path: Path
) -> None:
    code = readme_example()
    assert README_STORE in code
    code = code.replace(README_STORE, repr(str(sample_settings.store)))
    if (
        sample_settings.model_cache != default_model_cache()
    ):  # this machine keeps the model elsewhere
        code = code.replace("k=4)", f"k=4, model_cache={str(sample_settings.model_cache)!r})")
    code += (
        "\nimport json\nprint(json.dumps({'sync': [d.metadata for d in docs],"
        " 'async': [d.metadata for d in later], 'text': docs[0].page_content}))\n"
    )
    script = tmp_path / "other_app.py"
    script.write_text(code, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    first = result["sync"][0]
    assert "pekalongan" in first["article_id"]
    assert set(first) >= {"article_id", "title", "url", "published", "source", "lang",
                          "paragraphs", "score"}  # fmt: skip
    assert first["published"] == "2026-02-09" and first["lang"] == "id"
    first_p, last_p = first["paragraphs"]
    assert 1 <= first_p <= last_p
    assert len(result["sync"]) <= 4
    assert [m["article_id"] for m in result["async"]][:1] == [first["article_id"]]
    assert "Pekalongan" in result["text"] or "sensor" in result["text"]


def test_filters_and_k_apply(sample_settings: StoreSettings) -> None:
    from index.search.searcher import Filters

    retriever = KabarRetriever.from_store(
        sample_settings.store,
        k=2,
        filters=Filters(langs=("en",)),
        model_cache=sample_settings.model_cache,
    )
    docs = retriever.invoke("banjir Pekalongan sensor")
    assert 0 < len(docs) <= 2
    assert {d.metadata["lang"] for d in docs} == {"en"}
    assert all(d.id and "::" in d.id for d in docs)
