"""One writer per store: a second indexer waits for the first, or gives up with a clear message.

Chroma's embedded PersistentClient is not safe with two writing processes. Readers need no lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from index.settings import StoreSettings
from index.store.paths import cache_folder


class StoreBusyError(RuntimeError):
    """Another process is writing to the same store."""


def lock_path(settings: StoreSettings) -> Path:
    """The lock file: in the store folder, or for a Chroma server in the local folder Kabar keeps
    for that server (so it excludes writers on this machine only: run one indexer per server)."""
    if settings.server_mode:
        return cache_folder(settings) / "writer.lock"
    return settings.store / f".{settings.collection}-writer.lock"


def _described(settings: StoreSettings) -> str:
    if settings.server_mode:
        return f"the Chroma server {settings.chroma_host}:{settings.chroma_port}"
    return str(settings.store)


@contextmanager
def writer_lock(settings: StoreSettings, timeout: float = 600.0) -> Iterator[None]:
    """Hold the store's writer lock; wait up to `timeout` seconds (0 = fail at once)."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    where = _described(settings)
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise StoreBusyError(
            f"another Kabar process is writing to {where}"
            f"; waited {timeout:g}s (try again when it finishes)"
        ) from exc
    try:
        yield
    finally:
        lock.release()
