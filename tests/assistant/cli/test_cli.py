"""`kabar index` and `kabar search` end to end, through the installed console script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.paths import KOMPAS, model_cache

pytestmark = pytest.mark.slow  # starts processes

KABAR = shutil.which("kabar", path=str(Path(sys.executable).parent)) or "kabar"


def kabar(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KABAR_STORE": str(store), "KABAR_MODEL_CACHE": str(model_cache())}
    return subprocess.run([KABAR, *args], capture_output=True, text=True, env=env, timeout=2700)


@pytest.fixture(scope="module")
def news_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Kompas page plus all 909 Detik articles, indexed once for this module."""
    if not KOMPAS.exists():
        pytest.skip("../shared/data is not present")
    store = tmp_path_factory.mktemp("news") / "store"
    detik = KOMPAS.parents[1] / "news-id" / "detik-2025.jsonl"
    result = kabar("index", str(KOMPAS), str(detik), "--json", store=store)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == 910 and report["failed"] == []
    assert report["chunks"] > 910
    return store


def test_search_finds_kompas_geneva_paragraph_first(news_store: Path) -> None:
    result = kabar(
        "search",
        "Where will the US and Russia hold an emergency meeting?",
        "--json",
        store=news_store,
    )
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 5
    top = hits[0]
    assert set(top) == {
        "article_id",
        "title",
        "url",
        "published",
        "source",
        "lang",
        "paragraphs",
        "text",
        "score",
        "alternates",  # other outlets' near-duplicate copies (index/dedupe.py)
    }
    assert top["title"] == "Ketegangan di Ukraina Sangat Panas, AS-Rusia Gelar Rapat Darurat"
    assert "Jenewa" in top["text"]
    assert top["paragraphs"][0] == 1 and top["published"] == "2022-01-21"
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_second_index_run_is_unchanged(news_store: Path) -> None:
    detik = KOMPAS.parents[1] / "news-id" / "detik-2025.jsonl"
    result = kabar("index", str(KOMPAS), str(detik), "--json", store=news_store)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["added"], report["updated"], report["unchanged"], report["chunks"]) == (
        0,
        0,
        910,
        0,
    )


def test_search_filters(news_store: Path) -> None:
    result = kabar("search", "rapat darurat", "--from", "2025-01-01", "--json", store=news_store)
    hits = json.loads(result.stdout)
    assert hits and all(h["published"] >= "2025-01-01" for h in hits)
    assert all("kompas" not in (h["source"] or "").lower() for h in hits)


def test_index_bad_file_exit_code_and_json(tmp_path: Path) -> None:
    good = tmp_path / "in" / "good.md"
    good.parent.mkdir()
    good.write_text(
        "---\ntitle: Uji\nlang: id\n---\n\nSebuah paragraf berita yang cukup panjang.\n"
    )
    (tmp_path / "in" / "bad.json").write_text("{oops", "utf-8")
    result = kabar("index", str(tmp_path / "in"), "--json", store=tmp_path / "store")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["added"] == 1
    assert [Path(f["path"]).name for f in report["failed"]] == ["bad.json"]
    assert "JSON" in report["failed"][0]["error"]


def test_search_on_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    result = kabar("search", "apa saja", store=tmp_path / "none")
    assert result.returncode == 2
    assert "kabar index" in result.stderr


@pytest.mark.parametrize(
    ("question", "lang"),
    [("Where will the US and Russia meet?", "en"), ("Di mana AS dan Rusia akan bertemu?", "id")],
)
def test_ask_cites_the_jenewa_paragraph_in_the_askers_language(
    news_store: Path, question: str, lang: str
) -> None:
    """`kabar ask --json` over the Kompas page plus Detik (the answers issue's acceptance)."""
    result = kabar("ask", question, "--json", store=news_store)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["lang"] == lang and not answer["abstained"]
    numbers = {c["n"] for c in answer["citations"]}
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])}
    assert cited and cited <= numbers
    jenewa = [c for c in answer["citations"] if "Jenewa" in c["quote"]]
    assert jenewa and jenewa[0]["title"].startswith("Ketegangan di Ukraina")
    assert jenewa[0]["quote"] in answer["answer"]
