"""The feeds a store follows (`feeds.json` beside it), and feed documents -> article links.

feedparser reads RSS 0.9x/1.0/2.0 and Atom alike; it is handed bytes we fetched ourselves, so
timeouts, size caps and conditional requests are `index.crawl.fetch`'s, never feedparser's.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlsplit

from index.atomic import write_atomic
from index.records import Failure
from index.settings import StoreSettings
from index.store.paths import cache_folder

log = logging.getLogger(__name__)


FEEDS_FILE = "feeds.json"  # in the store's own folder (`cache_folder`)


def feeds_path(settings: StoreSettings) -> Path:
    return cache_folder(settings) / FEEDS_FILE


def check_url(url: str) -> str:
    """The URL, if it is an absolute http(s) URL; else ValueError with the reason."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url.strip()


class FeedList:
    """An ordered list of feed URLs in a small JSON file, replaced atomically on change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.urls: list[str] = []
        if path.exists():
            raw = json.loads(path.read_text("utf-8"))
            self.urls = [str(url) for url in raw.get("feeds", [])]

    @classmethod
    def for_settings(cls, settings: StoreSettings) -> FeedList:
        return cls(feeds_path(settings))

    def add(self, url: str) -> bool:
        """Follow a feed; False when it was already followed."""
        url = check_url(url)
        if url in self.urls:
            return False
        self.urls.append(url)
        self._save()
        return True

    def remove(self, url: str) -> bool:
        """Stop following a feed (its articles stay indexed); False when it was not followed."""
        if url not in self.urls:
            return False
        self.urls.remove(url)
        self._save()
        return True

    def _save(self) -> None:
        payload = {"format": 1, "feeds": self.urls}
        write_atomic(self.path, lambda fh: json.dump(payload, fh, indent=1))


def entry_links(body: bytes, url: str) -> list[str] | Failure:
    """The article links of an RSS or Atom document, in feed order, relative links resolved."""
    import feedparser  # here, not at the top: `kabar feeds list` and the chat never parse a feed

    parsed = feedparser.parse(body, response_headers={"content-location": url})
    if not parsed.version:
        reason = getattr(parsed, "bozo_exception", None) or "no RSS or Atom found"
        return Failure(url, f"not a feed ({reason})")
    links: list[str] = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        try:
            links.append(check_url(str(link)))
        except ValueError:
            log.info("%s: skipping entry link %r", url, link)
    return list(dict.fromkeys(links))
