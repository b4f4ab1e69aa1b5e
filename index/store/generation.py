"""Tell other processes that an embedded store changed, so they reopen it instead of reading stale.

Chroma's embedded client keeps each collection's vector index (HNSW) in memory. A process that
opened the store before another process wrote to it keeps querying that old index, and even a new
client in the same process reuses it (chroma-core/chroma#3792): its queries miss new chunks and
return deleted ones with no text. So every Kabar write also replaces a small marker file in the
store folder, and a reader that finds a new marker opens the store afresh. A Chroma server is a
single process, so its clients need none of this.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from index.atomic import write_atomic


class Generation:
    """The store's write marker, as this process last saw it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen = self.read()

    def read(self) -> str:
        try:
            return self.path.read_text("utf-8")
        except OSError:  # never written yet (or the store folder is gone)
            return ""

    def changed(self) -> bool:
        """True once after each write by someone else since the last call."""
        current = self.read()
        if current == self.seen:
            return False
        self.seen = current
        return True

    def bump(self) -> None:
        """Record a write of ours; replaced atomically, so readers never see half a marker."""
        token = uuid.uuid4().hex
        write_atomic(self.path, lambda fh: fh.write(token))
        self.seen = token
