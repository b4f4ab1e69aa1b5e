"""`index.after_import`: a patch lands between a module running and its first use."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from index.after_import import after_import, stand_in_while_importing


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


def test_stand_in_imports_the_library_on_first_use(module_dir: Path) -> None:
    (module_dir / "kabar_probe_heavy.py").write_text("VALUE = 42\n")
    (module_dir / "kabar_probe_light.py").write_text(
        "import kabar_probe_heavy as heavy\ndef use():\n    return heavy.VALUE\n"
    )
    # Another importer that reads the library while it is itself being imported.
    (module_dir / "kabar_probe_eager.py").write_text(
        "import kabar_probe_heavy as heavy\nVALUE = heavy.VALUE\n"
    )
    stand_in_while_importing("kabar_probe_light", "kabar_probe_heavy")
    stand_in_while_importing("kabar_probe_eager", "kabar_probe_heavy")
    names = ("kabar_probe_heavy", "kabar_probe_light", "kabar_probe_eager")
    try:
        import kabar_probe_light  # type: ignore[import-not-found]

        assert "kabar_probe_heavy" not in sys.modules  # not imported, and no stand-in left
        assert kabar_probe_light.use() == 42
        real = sys.modules["kabar_probe_heavy"]
        assert type(real) is ModuleType
        import kabar_probe_eager  # type: ignore[import-not-found]

        assert kabar_probe_eager.VALUE == 42 and kabar_probe_eager.heavy is real
    finally:
        for name in names:
            sys.modules.pop(name, None)


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


def test_the_chat_is_built_without_pandas(tmp_path: Path) -> None:
    """Gradio's cache helpers get pandas only when they use it (never, in Kabar), and no table
    of ours needs it: importing it was 0.35 s of the chat's start."""
    out = _fresh(
        f"""
        import sys
        from assistant.settings import Settings
        from assistant.web.server import create_app
        from assistant.web.services import Services
        settings = Settings.from_env(store={str(tmp_path / "store")!r})
        create_app(Services.from_settings(settings))
        print("pandas" in sys.modules)
        import gradio.caching
        print(gradio.caching.pd.DataFrame.__name__, "pandas" in sys.modules)
        """
    )
    assert out.splitlines() == ["False", "DataFrame True"]
