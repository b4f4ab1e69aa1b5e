"""`python tests/crash_runner.py N ARGS...`: run `kabar ARGS`, SIGKILL it after its N-th write.

A write is one upsert, delete or update call on a Chroma collection that returned, so the kill
lands at a known point of the bookkeeping (e.g. after an article's new chunks, before its stale
ones are deleted). Kabar itself has no crash hook: this wraps Chroma from the outside.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from chromadb.api.models.Collection import Collection


def arm(after: int) -> None:
    writes = 0

    def counting(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Collection, *args: Any, **kwargs: Any) -> Any:
            nonlocal writes
            result = original(self, *args, **kwargs)
            writes += 1
            if writes >= after:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        return wrapper

    for name in ("add", "upsert", "update", "delete"):
        setattr(Collection, name, counting(getattr(Collection, name)))


if __name__ == "__main__":
    arm(int(sys.argv[1]))
    from assistant.cli import main

    sys.exit(main(sys.argv[2:]))
