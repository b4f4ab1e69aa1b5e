"""One writer per store: a second indexer waits for the first, or gives up with a clear message.

Chroma's embedded PersistentClient is not safe with two writing processes. Readers need no lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from index.settings import StoreSettings


class StoreBusyError(RuntimeError):
    """Another process is writing to the same store."""


def lock_path(settings: StoreSettings) -> Path:
    """The lock file: in the store folder, or per server address for a Chroma server."""
    if settings.server_mode:
        key = hashlib.sha1(
            f"{settings.chroma_host}:{settings.chroma_port}/{settings.collection}".encode()
        ).hexdigest()[:12]
        return settings.model_cache.parent / "locks" / f"server-{key}.lock"
    return settings.store / f".{settings.collection}-writer.lock"


@contextmanager
def writer_lock(settings: StoreSettings, timeout: float = 600.0) -> Iterator[None]:
    """Hold the store's writer lock; wait up to `timeout` seconds (0 = fail at once)."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    where = path if settings.server_mode else settings.store
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
