"""Everything the web app serves from, built once: store, model, search, answers, uploads.

The UI, the JSON API and `gradio_client` endpoints share these objects, so the model is loaded
once and every user's question goes through the same retrieval and answer code as the CLI.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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


@dataclass(frozen=True)
class Opened:
    """What the store gives once open: the searcher (and its model), answers, uploads."""

    searcher: Searcher
    assistant: Assistant
    library: Library | None


def open_store(settings: Settings, uploads: bool) -> Opened:
    searcher = Searcher.from_settings(settings.store)
    library = None
    if uploads:
        library = Library(
            settings.store, searcher.store, searcher.embedder, uploads_folder(settings)
        )
    return Opened(searcher, Assistant(settings, searcher), library)


@dataclass
class Services:
    """The app's shared objects; the store opens on first use, not before the server listens.

    Opening it (importing Chroma, reading the lexical index) took 0.5 s of CPU, and in a thread
    beside Gradio's imports it still held the server back: both need the GIL. Opened when the
    chat page has loaded (`warm_up`), the server listened after 2.14 s instead of 2.83 s on our
    2-core machine (median of 8 alternating starts each, timed as `bench/app_startup.py` times
    `listening_s`), and the page was ready in 4.1 s (`bench/app_startup.py --runs 7`).
    """

    opener: Callable[[], Opened]
    uploads: bool  # whether adding articles is enabled (known before the store opens)
    _facets: dict[str, list[str]] | None = field(default=None, repr=False)
    limits: Limits = field(default_factory=Limits)  # every surface checks its inputs here
    _opened: Opened | None = field(default=None, repr=False)
    _opening: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _warming: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _warm_thread: threading.Thread | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, uploads: bool = True) -> Services:
        return cls(lambda: open_store(settings, uploads), uploads)

    @classmethod
    def of(cls, searcher: Searcher, assistant: Assistant, library: Library | None) -> Services:
        """Services over objects that are already open."""
        opened = Opened(searcher, assistant, library)
        return cls(lambda: opened, library is not None)

    def opened(self) -> Opened:
        """The open store, opening it on the first call (later callers wait for it)."""
        with self._opening:
            if self._opened is None:
                self._opened = self.opener()
            return self._opened

    @property
    def searcher(self) -> Searcher:
        return self.opened().searcher

    @property
    def assistant(self) -> Assistant:
        return self.opened().assistant

    @property
    def library(self) -> Library | None:
        return self.opened().library

    def facets(self) -> dict[str, list[str]]:
        """Sources and languages for the filter widgets (cached until the next upload)."""
        if self._facets is None:
            self._facets = self.searcher.store.facets()
        return self._facets

    def refresh(self) -> None:
        """After an upload: new sources may exist; the searcher reloads its lexical index itself."""
        self._facets = None

    def warm_up(self) -> threading.Thread:
        """Open the store and load the model in the background, once (later calls return the
        same thread).

        Called when the chat page has loaded in a browser (or a while after the server
        listens, for API-only use): loading the model as the server began to listen competed
        with the browser for our two cores and GIL, and the page was ready 0.7 s later (5.2 s
        against 5.9 s, median of 4 starts). A question asked before it is done waits for it.
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
