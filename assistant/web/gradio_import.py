"""Skip the parts of `import gradio` that only serve Gradio's own developers, or features
Kabar does not use.

1. `gradio.component_meta.create_or_modify_pyi` parses each component's source with `ast`
   whenever a component class is defined, and rewrites the `.pyi` stub beside it when it
   differs: editor support, run in every process that imports Gradio 6. Measured on our 2-core
   machine it was 3 s of the 4.5 s `import gradio` (cProfile: 3.3 s cumulative), most of the
   app's time to a ready page. Stubs are read only by type checkers.
2. `EventListener.set_doc` compiles a Jinja template for each event of each component (216)
   to put the component's name into a docstring; a string replace gives the same text.

Both are replaced right after their module runs, before any component class is defined
(`index.after_import`). `import gradio` went from 4.5 s to 1.6 s. If a Gradio release renames
either, nothing is replaced and the import is just slower.

3. `gradio.caching` imports pandas (0.35 s of the chat's start) to hash DataFrames for
   `gr.Cache`, which Kabar does not use; its other importer was `gr.Dataframe`, which Kabar
   no longer uses (`render.table_html`). It gets a stand-in that imports pandas on first use.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

from index.after_import import after_import, stand_in_while_importing

log = logging.getLogger(__name__)

MODULE = "gradio.component_meta"
FUNCTION = "create_or_modify_pyi"
EVENTS = "gradio.events"
CACHING = "gradio.caching"


def _skip_stub_rewrite(*_args: object, **_kwargs: object) -> None:
    """Stands in for Gradio's stub writer."""


def _switch_off(module: ModuleType) -> None:
    if hasattr(module, FUNCTION):
        setattr(module, FUNCTION, _skip_stub_rewrite)
    else:
        log.debug("%s has no %s: nothing to switch off", MODULE, FUNCTION)


def _plain_set_doc(self: Any, component: str) -> None:
    """`EventListener.set_doc` without Jinja: its templates only name the component."""
    if self.listener.__doc__:
        self.listener.__doc__ = self.listener.__doc__.replace("{{ component }}", component)


def _plain_event_docs(module: ModuleType) -> None:
    listener = getattr(module, "EventListener", None)
    if listener is not None and hasattr(listener, "set_doc"):
        listener.set_doc = _plain_set_doc


def install() -> None:
    """Switch all three off in this process (a no-op once Gradio is imported)."""
    after_import(MODULE, _switch_off)
    after_import(EVENTS, _plain_event_docs)
    stand_in_while_importing(CACHING, "pandas")
