"""Everything the web app serves from, built once: store, model, search, answers, uploads.

The UI, the JSON API and `gradio_client` endpoints share these objects, so the model is loaded
once and every user's question goes through the same retrieval and answer code as the CLI.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from assistant.answer.pipeline import Assistant
from assistant.settings import Settings
from assistant.web.library import Library
from assistant.web.limits import Limits
from index.search.searcher import Searcher

log = logging.getLogger(__name__)


def uploads_folder(settings: Settings) -> Path:
    """Uploads live beside the store (`…/kabar/uploads` next to `…/kabar/store`)."""
    return settings.store.store.parent / "uploads"


@dataclass
class Services:
    searcher: Searcher
    assistant: Assistant
    library: Library | None
    _facets: dict[str, list[str]] | None = field(default=None, repr=False)
    limits: Limits = field(default_factory=Limits)  # every surface checks its inputs here
    _warming: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _warm_thread: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, uploads: bool = True) -> Services:
        searcher = Searcher.from_settings(settings.store)
        assistant = Assistant(settings, searcher)
        library = None
        if uploads:
            library = Library(
                settings.store, searcher.store, searcher.embedder, uploads_folder(settings)
            )
        return cls(searcher, assistant, library)

    def facets(self) -> dict[str, list[str]]:
        """Sources and languages for the filter widgets (cached until the next upload)."""
        if self._facets is None:
            self._facets = self.searcher.store.facets()
        return self._facets

    def refresh(self) -> None:
        """After an upload: new sources may exist; the searcher reloads its lexical index itself."""
        self._facets = None

    def warm_up(self) -> threading.Thread:
        """Load the model in the background, once (later calls return the same thread).

        Called when the chat page has loaded in a browser (or a while after the server
        listens, for API-only use): loading it as the server began to listen competed with the
        browser for our two cores and GIL, and the page was ready 0.7 s later (5.2 s against
        5.9 s, median of 4 starts). A question asked before it is done loads the model itself.
        """
        with self._warming:
            if self._warm_thread is None:

                def load() -> None:
                    try:
                        self.searcher.embedder.embed_query("kabar")
                    except Exception:  # a broken model shows up on the first question
                        log.exception("could not preload the embedding model")

                self._warm_thread = threading.Thread(target=load, name="kabar-warm-up", daemon=True)
                self._warm_thread.start()
            return self._warm_thread
