"""Run a patch on a third-party module right after it executes, before its importers use it.

Two libraries we load on every start spend most of their import time on checks meant for their
own developers (see `index.store.chroma` for `overrides` and `assistant.web.gradio_import` for
Gradio). The checks run while the importing package defines its classes, so the patch must land
between the module running and its first use: a finder in front of the normal one wraps that
one module's loader. Nothing else is touched, and a module already imported is left alone.

`stand_in_while_importing` is the other half: a module that imports a heavy library at its top
but uses it only in functions Kabar never calls is given a stand-in that imports the library on
first use (Gradio's cache helpers and pandas, see `assistant.web.gradio_import`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

Patch = Callable[[ModuleType], None]
Around = Callable[[ModuleType, Callable[[], None]], None]  # (module, run it)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, around: Around) -> None:
        self.name = name
        self.around = around

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
        around = self.around

        def exec_module(module: ModuleType) -> None:
            around(module, lambda: run_module(module))

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def after_import(name: str, patch: Patch) -> None:
    """Call `patch(module)` once `name` has run for the first time in this process."""

    def run_then_patch(module: ModuleType, run: Callable[[], None]) -> None:
        run()
        patch(module)

    _install(name, run_then_patch)


class _OnFirstUse(ModuleType):
    """Stands in for a library: the first attribute read imports the real one."""

    def __getattr__(self, attr: str) -> object:
        if sys.modules.get(self.__name__) is self:  # read while its importer still runs
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def stand_in_while_importing(name: str, library: str) -> None:
    """While `name` runs for the first time, its `import library` gets a stand-in that imports
    `library` when an attribute of it is first read. Only `name` holds the stand-in: it is out
    of `sys.modules` again once `name` has run, so every other importer gets the real library."""

    def with_stand_in(_module: ModuleType, run: Callable[[], None]) -> None:
        if library in sys.modules:
            run()
            return
        stand_in = _OnFirstUse(library)
        sys.modules[library] = stand_in
        try:
            run()
        finally:
            if sys.modules.get(library) is stand_in:
                del sys.modules[library]

    _install(name, with_stand_in)


def _install(name: str, around: Around) -> None:
    if name in sys.modules:
        return
    if any(isinstance(f, _Finder) and f.name == name for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder(name, around))
