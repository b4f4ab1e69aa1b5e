"""Web pages and feeds -> items for the indexer, downloading only what changed.

A page is fetched conditionally only when the article it became is still in the index (or on
record as a near-duplicate): after `--rebuild`, or a crash between fetch and write, it is simply
downloaded again. The HTTP cache is saved by `commit`, after the store write it describes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from index.crawl.feeds import FeedList, entry_links
from index.crawl.fetch import CacheEntry, Fetched, Fetcher, HttpCache, NotModified
from index.indexing import Indexer, IndexReport, Progress
from index.ingest.sources import Item, read_web_page
from index.records import Article, Failure
from index.settings import StoreSettings
from index.store.dedupe import Duplicates
from index.store.paths import cache_folder

log = logging.getLogger(__name__)

IsIndexed = Callable[[str, str], bool]  # (article id, content hash) -> still in the index?


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


HTTP_CACHE_FILE = "http-cache.json"  # in the store's own folder (`cache_folder`)


def http_cache(settings: StoreSettings) -> HttpCache:
    return HttpCache(cache_folder(settings) / HTTP_CACHE_FILE)


@dataclass
class WebBatch:
    """What fetching produced: items for `Indexer.run(fetched=...)`, plus the request tally."""

    items: list[Item] = field(default_factory=list)
    downloaded: int = 0  # 200 responses (pages and feeds)
    not_modified: int = 0  # pages the server said were unchanged: neither downloaded nor read
    feeds_failed: int = 0
    feeds: int = 0
    updates: dict[str, CacheEntry] = field(default_factory=dict)  # saved by commit()

    def summary(self) -> dict[str, int]:
        return {
            "downloaded": self.downloaded,
            "not_modified": self.not_modified,
            "feeds": self.feeds,
            "feeds_failed": self.feeds_failed,
        }


class WebSource:
    """Fetches URLs and the entries of followed feeds through one client and one HTTP cache."""

    def __init__(self, fetcher: Fetcher, cache: HttpCache, is_indexed: IsIndexed) -> None:
        self.fetcher = fetcher
        self.cache = cache
        self.is_indexed = is_indexed

    @staticmethod
    def checker(indexer: Indexer) -> IsIndexed:
        """Whether an article is in the indexer's store with this content, or on record as a
        near-duplicate of one."""
        indexed = indexer.store.articles()
        duplicates = Duplicates.for_store(indexer.store)

        def check(article_id: str, content_hash: str) -> bool:
            known = indexed.get(article_id)
            if known is not None and known.consistent and known.content_hash == content_hash:
                return True
            return duplicates.is_recorded(article_id, content_hash)

        return check

    def collect(self, urls: Sequence[str], feeds: Sequence[str] = ()) -> WebBatch:
        batch = WebBatch()
        pages = list(urls)
        for feed in feeds:
            batch.feeds += 1
            links = self._feed(feed, batch)
            if links is None:
                batch.feeds_failed += 1
            else:
                pages.extend(links)
        for url in dict.fromkeys(pages):
            self._page(url, batch)
        return batch

    def commit(self, batch: WebBatch) -> None:
        """Remember validators once the articles they describe are written."""
        for url, entry in batch.updates.items():
            self.cache.put(url, entry)
        self.cache.save()

    def _feed(self, url: str, batch: WebBatch) -> list[str] | None:
        """The feed's entry links, or None when it cannot be read. Every poll, failed or not,
        is remembered with its time (`polled`, `error`): the chat's Library shows them."""
        known = self.cache.get(url)
        result = self.fetcher.fetch(
            url, known if known and known.links is not None else None, feed=True
        )
        polled = datetime.now(UTC).isoformat(timespec="seconds")
        if isinstance(result, NotModified):
            log.info("feed unchanged: %s", url)
            batch.updates[url] = replace(result.entry, polled=polled, error=None)
            return list(result.entry.links or [])
        if isinstance(result, Fetched):
            batch.downloaded += 1
            links = entry_links(result.body, result.final_url)
            if not isinstance(links, Failure):
                batch.updates[url] = replace(result.entry, links=links, polled=polled)
                log.info("feed %s: %d entries", url, len(links))
                return links
            result = links
        batch.items.append(Failure(url, result.error))
        # The validators and links of the last copy read stay: that copy is still indexed.
        batch.updates[url] = replace(known or CacheEntry(), polled=polled, error=result.error)
        return None

    def _page(self, url: str, batch: WebBatch) -> None:
        known = self.cache.get(url)
        indexed = (
            known is not None
            and known.article_id is not None
            and known.content_hash is not None
            and self.is_indexed(known.article_id, known.content_hash)
        )
        result = self.fetcher.fetch(url, known if indexed else None)
        if isinstance(result, NotModified):
            batch.not_modified += 1
            return
        if isinstance(result, Failure):
            batch.items.append(result)
            return
        batch.downloaded += 1
        item = _article(result)
        batch.items.append(item)
        if isinstance(item, Article):
            batch.updates[url] = replace(
                result.entry, article_id=item.id, content_hash=item.content_hash()
            )


def _article(result: Fetched) -> Item:
    item = read_web_page(result.final_url, result.text())
    if isinstance(item, Failure):
        return Failure(result.url, f"not an article ({item.error})")
    return item


def index_with_web(
    settings: StoreSettings,
    indexer: Indexer,
    paths: Sequence[str],
    urls: Sequence[str] = (),
    with_feeds: bool = False,
    prune: bool = False,
    progress: Progress | None = None,
    fetcher: Fetcher | None = None,
) -> tuple[IndexReport, WebBatch]:
    """One indexing run over files, URLs and (with `with_feeds`) every followed feed's entries.

    The caller holds the writer lock. Pages the server reports unchanged count as unchanged.
    """
    feeds = FeedList.for_settings(settings).urls if with_feeds else []
    client = fetcher or Fetcher()
    try:
        source = WebSource(client, http_cache(settings), WebSource.checker(indexer))
        batch = source.collect(urls, feeds) if urls or feeds else WebBatch()
    finally:
        if fetcher is None:
            client.close()
    report = indexer.run(paths, prune=prune, progress=progress, fetched=batch.items)
    if urls or feeds:
        source.commit(batch)
    report.unchanged += batch.not_modified
    return report, batch
