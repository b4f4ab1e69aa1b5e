"""Write a file so that readers see the old version or the new one, never half of either.

Every derived file beside the store (the BM25 index, near-duplicates, the feed list, the HTTP
cache, the generation marker) is rewritten through here: written to a temporary file in the same
folder, made readable like an ordinary file, then renamed over the old one. A crash leaves at
worst a stray temporary file, never a truncated cache.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_binary(path: Path) -> Iterator[IO[bytes]]:
    """A binary file handle whose contents replace `path` when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.chmod(tmp, 0o644)  # mkstemp makes it private; readers may run as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Replace `path` with what `write` writes to a UTF-8 text handle."""
    with atomic_binary(path) as raw, open(raw.fileno(), "w", encoding="utf-8", closefd=False) as fh:
        write(fh)
