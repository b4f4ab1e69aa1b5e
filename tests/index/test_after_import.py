"""`index.after_import`: a patch lands between a module running and its first use."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from index.after_import import after_import


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_patch_runs_before_importers_use_the_module(module_dir: Path) -> None:
    (module_dir / "kabar_probe_lib.py").write_text("def check():\n    return 'slow check'\n")
    # An importer that uses the function while it is itself being imported, as Gradio's and
    # Chroma's class definitions do.
    (module_dir / "kabar_probe_user.py").write_text(
        "from kabar_probe_lib import check\nRESULT = check()\n"
    )

    def patch(module: ModuleType) -> None:
        module.check = lambda: "patched"  # type: ignore[attr-defined]

    after_import("kabar_probe_lib", patch)
    try:
        import kabar_probe_user  # type: ignore[import-not-found]

        assert kabar_probe_user.RESULT == "patched"
    finally:
        for name in ("kabar_probe_lib", "kabar_probe_user"):
            sys.modules.pop(name, None)


def test_module_already_imported_is_left_alone(module_dir: Path) -> None:
    (module_dir / "kabar_probe_done.py").write_text("VALUE = 1\n")
    importlib.import_module("kabar_probe_done")

    calls: list[str] = []
    after_import("kabar_probe_done", lambda m: calls.append(m.__name__))
    try:
        assert calls == []
        assert not any(getattr(f, "name", None) == "kabar_probe_done" for f in sys.meta_path)
    finally:
        sys.modules.pop("kabar_probe_done", None)


def _fresh(code: str) -> str:
    """Run `code` in a new interpreter (the patches act only on a first import)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_chroma_keeps_its_override_flags_without_the_checks(tmp_path: Path) -> None:
    out = _fresh(
        f"""
        from index.settings import StoreSettings
        from index.store.chroma import open_client
        client = open_client(StoreSettings.from_env(store={str(tmp_path)!r}))
        import overrides
        print(overrides.override.__name__)
        c = client.create_collection("probe", embedding_function=None)
        c.add(ids=["a"], embeddings=[[0.1, 0.2]], documents=["x"])
        print(c.count())
        """
    )
    assert out.splitlines() == ["_mark_only", "1"]


def test_gradio_loads_without_rewriting_its_stubs() -> None:
    out = _fresh(
        """
        import assistant.web, gradio, gradio.component_meta as meta
        print(meta.create_or_modify_pyi.__name__)
        print(gradio.Button.click.__doc__.splitlines()[0].strip())
        """
    )
    assert out.splitlines() == [
        "_skip_stub_rewrite",
        "Triggered when the Button is clicked.",
    ]
