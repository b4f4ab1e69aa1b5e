"""The Library tab's data: one row per indexed article, deleting an article from the index, and
the followed feeds with their last poll.

Rows are read from chunk metadata (no documents, no model), so listing 10,000 chunks costs one
paged metadata scan. Deleting takes the store's writer lock, the same one every upload, CLI run
and feed poll holds, so a delete never interleaves with another write. Feeds are read from the
two small files `kabar feeds add` and each poll write beside the store: nothing is fetched.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.crawl.feeds import FEEDS_FILE, FeedList
from index.crawl.fetch import HttpCache
from index.crawl.web import HTTP_CACHE_FILE
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.lexical import LexicalCache
from index.store.lock import writer_lock

log = logging.getLogger(__name__)
_IN_PROCESS = threading.Lock()  # the file lock is per open file; this keeps our threads in line


@dataclass(frozen=True)
class Entry:
    """One indexed article as the Library tab lists it."""

    article_id: str
    title: str
    source: str
    published: str
    lang: str
    chunks: int
    origin: str  # the file it was read from, or its web address

    def matches(self, query: str) -> bool:
        """Case-insensitive substring search over the columns a person reads."""
        words = query.casefold().split()
        haystack = " ".join(
            (self.title, self.source, self.published, self.lang, self.origin)
        ).casefold()
        return all(w in haystack for w in words)


def _origin(meta: dict[str, Any]) -> str:
    path = str(meta.get("path") or "")
    return path or str(meta.get("url") or "")


def entries(store: Store) -> list[Entry]:
    """Every article in the store, newest first (undated last), then by title."""
    chunks: dict[str, int] = {}
    first: dict[str, dict[str, Any]] = {}
    for page in store._pages(["metadatas"]):
        for meta in page["metadatas"]:
            article_id = str(meta["article_id"])
            chunks[article_id] = chunks.get(article_id, 0) + 1
            first.setdefault(article_id, meta)
    rows = [
        Entry(
            article_id=article_id,
            title=str(meta.get("title") or article_id),
            source=str(meta.get("source") or ""),
            published=str(meta.get("published") or "")[:10],
            lang=str(meta.get("lang") or ""),
            chunks=chunks[article_id],
            origin=_origin(meta),
        )
        for article_id, meta in first.items()
    ]
    rows.sort(key=lambda e: e.title.casefold())
    rows.sort(key=lambda e: e.published, reverse=True)
    return rows


def search(rows: list[Entry], query: str) -> list[Entry]:
    query = (query or "").strip()
    return [r for r in rows if r.matches(query)] if query else rows


def delete(
    settings: StoreSettings,
    store: Store,
    article_id: str,
    uploads: Path | None = None,
    timeout: float = 60.0,
) -> bool:
    """Remove one article's chunks under the writer lock; False when it is not indexed.

    An article read from Kabar's uploads folder also loses its saved file there, or the next
    reindex of that folder would bring it back. The lexical index is brought in step at once,
    so the next search neither finds the article nor pays for a rebuild.
    """
    with _IN_PROCESS, writer_lock(settings, timeout=timeout):
        known = store.articles().get(article_id)
        if known is None:
            return False
        store.delete_ids(known.chunk_ids)
        cache = LexicalCache.for_store(store)
        if cache.path is not None:
            cache.sync(store)
        if uploads is not None and known.path:
            saved = Path(known.path).resolve()
            if uploads.resolve() in saved.parents and saved.is_file():
                saved.unlink()
    log.info("deleted article %s (%d chunks)", article_id, len(known.chunk_ids))
    return True


@dataclass(frozen=True)
class Feed:
    """One followed feed as the Library tab lists it: what its last poll found, if it ran."""

    url: str
    polled: str | None  # when the last poll ended (UTC, ISO 8601); None: never, or not recorded
    entries: int | None  # article links in the copy last read; None: never read
    error: str | None  # why the last poll could not read it
    seen: bool  # the HTTP cache knows the feed (polled before poll times were recorded)


def feeds(folder: Path | None) -> list[Feed]:
    """The feeds followed with `kabar feeds add`, in the order they were added.

    `folder` is the store's own folder (`Store.cache_dir`), which holds the feed list and the
    HTTP cache every poll (`kabar index --feeds`, `kabar watch`, `serve --watch`) updates.
    """
    if folder is None:
        return []
    try:
        urls = FeedList(folder / FEEDS_FILE).urls
    except (OSError, ValueError, AttributeError) as exc:  # hand-edited or damaged
        log.warning("cannot read the followed feeds in %s: %s", folder, exc)
        return []
    cache = HttpCache(folder / HTTP_CACHE_FILE)
    rows = []
    for url in urls:
        known = cache.get(url)
        rows.append(
            Feed(
                url=url,
                polled=known.polled if known else None,
                entries=len(known.links) if known and known.links is not None else None,
                error=known.error if known else None,
                seen=known is not None,
            )
        )
    return rows
