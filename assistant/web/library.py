"""Adding articles from the UI: save uploads safely, index them one writer at a time, per file.

The web app and the CLI share the store, so every write goes through the store's writer lock;
readers keep answering while a reindex runs. Files are read before the lock is taken, so a big
upload does not keep other writers waiting while it is parsed.

An upload never silently replaces an article that came from elsewhere (the CLI, a feed): a
JSONL record reusing an indexed article's id or canonical URL used to report "1 updated" and
answers then cited the forged text. Such a file is refused, unless the user ticks "replace".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.web.uploads import Stored, UploadError, store_pasted, store_upload
from index.embed.embedder import Embedder
from index.indexing import Indexer, index_locked
from index.ingest.sources import Item, iter_articles
from index.records import Failure
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.protocol import IndexedArticle

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
        self,
        settings: StoreSettings,
        store: Store,
        embedder: Embedder,
        folder: Path,
        lock_timeout: float = 60.0,
    ) -> None:
        self.settings = settings
        self.store = store  # the app's open store and loaded model: nothing is opened twice
        self.embedder = embedder
        self.folder = folder
        self.lock_timeout = lock_timeout
        self._in_process = threading.Lock()  # the file lock does not exclude our own threads

    def add(
        self,
        files: Sequence[tuple[Path, str]],
        pasted: tuple[str, str, str | None] | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        replace: bool = False,
    ) -> list[FileResult]:
        """Save then index each file (path on disk, name the user gave) and the pasted article.

        `replace`: the user agreed that uploads may replace articles indexed from elsewhere.
        A file that indexes nothing is not kept in the uploads folder."""
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
        read = [(stored, list(iter_articles([stored.path]))) for stored in accepted]
        with (
            self._in_process,
            index_locked(
                self.settings,
                store=self.store,
                embedder=self.embedder,
                timeout=self.lock_timeout,
            ) as indexer,
        ):
            indexed = {} if replace else indexer.store.articles()
            for done, (stored, items) in enumerate(read):
                if progress:
                    progress(done, len(accepted), stored.original)
                results.append(self._index_one(indexer, stored, items, indexed))
        return results

    def _foreign(self, items: list[Item], indexed: dict[str, IndexedArticle]) -> list[str]:
        """Ids in `items` already indexed from something other than an upload."""
        folder = self.folder.resolve()
        return [
            item.id
            for item in items
            if not isinstance(item, Failure)
            and (known := indexed.get(item.id)) is not None
            and not (known.path and Path(known.path).is_relative_to(folder))
        ]

    def _index_one(
        self,
        indexer: Indexer,
        stored: Stored,
        items: list[Item],
        indexed: dict[str, IndexedArticle],
    ) -> FileResult:
        if foreign := self._foreign(items, indexed):
            self._forget(stored)
            shown = ", ".join(repr(i[:80]) for i in foreign[:3])
            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            return FileResult(
                stored.original,
                "failed",
                f"refused: {shown}{more} is already indexed from another source; "
                "tick 'replace' to replace it",
            )
        report = indexer.run([], fetched=items)
        if not (report.added or report.updated or report.unchanged or report.duplicates):
            self._forget(stored)
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

    def _forget(self, stored: Stored) -> None:
        """Drop a saved upload nothing was indexed from (unless an earlier upload saved it)."""
        if stored.fresh:
            stored.path.unlink(missing_ok=True)
