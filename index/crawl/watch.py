"""Poll the followed feeds on a schedule, backing off while polls fail.

Each poll is one ordinary indexing run under the writer lock, so a poller, `kabar index` and the
chat's uploads never write at the same time. The model is loaded once, on the first poll that
has something to embed.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from index.crawl.fetch import Fetcher
from index.crawl.web import WebBatch, index_with_web
from index.embed.embedder import Embedder
from index.indexing import IndexReport, index_locked
from index.settings import StoreSettings

log = logging.getLogger(__name__)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_BACKOFF = 8  # at most this many intervals between polls while they keep failing


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '1.5h', '1d' -> seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (try 30s, 15m, 1h)")
    return float(match.group(1)) * _UNIT[match.group(2)]


@dataclass(frozen=True)
class Poll:
    """One poll's outcome; `ok` is False when it raised or no feed could be read."""

    report: IndexReport | None
    web: WebBatch | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        if self.error is not None or self.web is None:
            return False
        return not (self.web.feeds and self.web.feeds_failed == self.web.feeds)


class Poller:
    """Runs `poll` every `every` seconds until stopped; the delay doubles after each failed poll,
    up to MAX_BACKOFF intervals, and returns to normal after a good one."""

    def __init__(
        self,
        settings: StoreSettings,
        every: float,
        embedder: Embedder | None = None,
        fetcher_factory: Callable[[], Fetcher] = Fetcher,
        lock_timeout: float = 600.0,
    ) -> None:
        self.settings = settings
        self.every = every
        self.embedder = embedder or Embedder(settings.model, settings.model_cache)
        self.fetcher_factory = fetcher_factory
        self.lock_timeout = lock_timeout
        self.failures = 0

    def poll(self) -> Poll:
        try:
            with (
                index_locked(
                    self.settings, embedder=self.embedder, timeout=self.lock_timeout
                ) as indexer,
                self.fetcher_factory() as fetcher,
            ):
                report, web = index_with_web(
                    self.settings, indexer, [], with_feeds=True, fetcher=fetcher
                )
        except Exception as exc:  # a poller outlives any one bad poll; the next one retries
            log.warning("poll failed: %s", exc, exc_info=log.isEnabledFor(logging.DEBUG))
            return Poll(None, None, f"{type(exc).__name__}: {exc}")
        log.info(
            "poll: added %d, updated %d, unchanged %d, near-duplicates %d; "
            "%d downloaded, %d not modified; %d failed",
            report.added,
            report.updated,
            report.unchanged,
            report.duplicates,
            web.downloaded,
            web.not_modified,
            len(report.failed),
        )
        for failure in report.failed:
            log.warning("failed %s: %s", failure.path, failure.error)
        return Poll(report, web)

    def next_delay(self, poll: Poll) -> float:
        self.failures = 0 if poll.ok else self.failures + 1
        return self.every * min(2**self.failures, MAX_BACKOFF)

    def run(self, stop: threading.Event, polls: int | None = None) -> None:
        """Poll until `stop` is set (or `polls` polls are done)."""
        done = 0
        while not stop.is_set():
            delay = self.next_delay(self.poll())
            done += 1
            if polls is not None and done >= polls:
                return
            if delay > self.every:
                log.warning("polling failed %d time(s); next try in %.0fs", self.failures, delay)
            stop.wait(delay)

    def start(self) -> tuple[threading.Thread, threading.Event]:
        """Poll in a daemon thread (the chat's `--watch`); set the event to stop it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="kabar-watch", daemon=True)
        thread.start()
        return thread, stop
