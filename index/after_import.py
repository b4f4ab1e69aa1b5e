"""Run a patch on a third-party module right after it executes, before its importers use it.

Two libraries we load on every start spend most of their import time on checks meant for their
own developers (see `index.store.chroma` for `overrides` and `assistant.web.gradio_import` for
Gradio). The checks run while the importing package defines its classes, so the patch must land
between the module running and its first use: a finder in front of the normal one wraps that
one module's loader. Nothing else is touched, and a module already imported is left alone.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

Patch = Callable[[ModuleType], None]


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, patch: Patch) -> None:
        self.name = name
        self.patch = patch

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        loader = spec.loader if spec else None
        if spec is None or not isinstance(loader, importlib.abc.Loader):
            return spec
        run_module = loader.exec_module
        patch = self.patch

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def after_import(name: str, patch: Patch) -> None:
    """Call `patch(module)` once `name` has run for the first time in this process."""
    if name in sys.modules:
        return
    if any(isinstance(f, _Finder) and f.name == name for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder(name, patch))
