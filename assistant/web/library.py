"""Adding articles from the UI: save uploads safely, index them one writer at a time, per file.

The web app and the CLI share the store, so every write goes through the store's writer lock;
readers keep answering while a reindex runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.web.uploads import Stored, UploadError, store_pasted, store_upload
from index.indexing import Indexer
from index.settings import StoreSettings
from index.store.lock import writer_lock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileResult:
    """One row of the add tab's table: added / updated / unchanged / failed, and why."""

    name: str
    result: str
    detail: str = ""


class Library:
    """Accepts uploads into `folder` and indexes them into the store."""

    def __init__(
        self, settings: StoreSettings, indexer: Indexer, folder: Path, lock_timeout: float = 60.0
    ) -> None:
        self.settings = settings
        self.indexer = indexer
        self.folder = folder
        self.lock_timeout = lock_timeout
        self._in_process = threading.Lock()  # the file lock does not exclude our own threads

    def add(
        self,
        files: Sequence[tuple[Path, str]],
        pasted: tuple[str, str, str | None] | None = None,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> list[FileResult]:
        """Save then index each file (path on disk, name the user gave) and the pasted article."""
        results: list[FileResult] = []
        accepted: list[Stored] = []
        for path, name in files:
            try:
                accepted.append(store_upload(path, name, self.folder))
            except UploadError as exc:
                results.append(FileResult(name, "failed", str(exc)))
            except OSError as exc:
                results.append(FileResult(name, "failed", f"could not read the upload ({exc})"))
        if pasted is not None:
            try:
                accepted.append(store_pasted(*pasted, folder=self.folder))
            except UploadError as exc:
                results.append(FileResult(pasted[0] or "(pasted)", "failed", str(exc)))
        with self._in_process, writer_lock(self.settings, timeout=self.lock_timeout):
            for done, stored in enumerate(accepted):
                if progress:
                    progress(done, len(accepted), stored.original)
                results.append(self._index_one(stored))
        return results

    def _index_one(self, stored: Stored) -> FileResult:
        report = self.indexer.run([stored.path])
        if report.failed:
            # Errors name the saved file; the user knows it by the name they uploaded.
            reasons = "; ".join(
                f.error.replace(stored.path.name, stored.original) for f in report.failed
            )
            return FileResult(stored.original, "failed", reasons)
        counts = {
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
        }
        result = next((k for k, v in counts.items() if v), "unchanged")
        detail = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        log.info("indexed upload %s: %s", stored.original, detail)
        return FileResult(stored.original, result, detail)
