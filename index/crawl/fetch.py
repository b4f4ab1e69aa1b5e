"""Polite HTTP fetching of news pages and feeds, with conditional requests.

A page that has not changed since the last run must not be downloaded (or embedded) again: the
`HttpCache` beside the store keeps each URL's ETag / Last-Modified, and the server answers 304.
Every fetch ends as `Fetched`, `NotModified` or a `Failure` with a reason; nothing raises.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import httpx

from index.atomic import write_atomic
from index.records import Failure

log = logging.getLogger(__name__)

PROJECT_URL = "https://github.com/kabar-news/kabar"
MAX_BYTES = 5_000_000
MAX_REDIRECTS = 5
TIMEOUT = 15.0
_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
_FEED_TYPES = ("xml", "rss", "atom")  # application/rss+xml, application/atom+xml, text/xml, ...


def user_agent() -> str:
    try:
        version = metadata.version("kabar")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"Kabar/{version} (+{PROJECT_URL})"


@dataclass(frozen=True)
class CacheEntry:
    """What we remember of a URL: validators for the next request, and what it became."""

    etag: str | None = None
    last_modified: str | None = None
    article_id: str | None = None  # pages: the article the page became
    content_hash: str | None = None
    links: list[str] | None = None  # feeds: the entry links of the copy we have
    polled: str | None = None  # feeds: when the last poll ended (UTC, ISO 8601), for the Library
    error: str | None = None  # feeds: why that poll could not read the feed; None when it did


@dataclass(frozen=True)
class Fetched:
    """A 200 response body, with the final URL after redirects."""

    url: str  # as requested: the cache key
    final_url: str
    body: bytes
    content_type: str
    charset: str | None  # from the Content-Type header
    entry: CacheEntry  # the validators this response carried

    def text(self) -> str:
        """The body as text: the declared charset, else UTF-8, else Windows-1252."""
        for encoding in (self.charset, "utf-8"):
            if encoding:
                try:
                    return self.body.decode(encoding)
                except (LookupError, UnicodeDecodeError):
                    continue
        return self.body.decode("cp1252", errors="replace")


@dataclass(frozen=True)
class NotModified:
    """The server says the copy we indexed is still current (HTTP 304)."""

    url: str
    entry: CacheEntry


FetchResult = Fetched | NotModified | Failure


class HttpCache:
    """`http-cache.json` beside the store: URL -> CacheEntry. Derived data: losing it only costs
    downloads. Saved atomically, and by the caller only after the store write succeeded."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, CacheEntry] = {}
        if path is not None and path.exists():
            try:
                raw = json.loads(path.read_text("utf-8"))
                self.entries = {url: CacheEntry(**e) for url, e in raw.get("urls", {}).items()}
            except (ValueError, TypeError, AttributeError):
                log.warning("%s is unreadable: starting a new HTTP cache", path)

    def get(self, url: str) -> CacheEntry | None:
        return self.entries.get(url)

    def put(self, url: str, entry: CacheEntry) -> None:
        self.entries[url] = entry

    def save(self) -> None:
        if self.path is None:
            return
        payload = {"format": 1, "urls": {u: asdict(e) for u, e in sorted(self.entries.items())}}
        write_atomic(self.path, lambda fh: json.dump(payload, fh, ensure_ascii=False, indent=1))


class Fetcher:
    """One httpx client: timeouts, a size cap while streaming, limited redirects, a clear UA."""

    def __init__(
        self,
        timeout: float = TIMEOUT,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=max_redirects,
            headers={"User-Agent": user_agent()},
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self, url: str, known: CacheEntry | None = None, *, feed: bool = False
    ) -> FetchResult:
        """GET `url`, conditionally when `known` has validators; a Failure says why it failed."""
        headers: dict[str, str] = {}
        if known and known.etag:
            headers["If-None-Match"] = known.etag
        if known and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304 and known is not None:
                    return NotModified(url, known)
                if response.status_code != 200:
                    reason = response.reason_phrase or ""
                    return Failure(url, f"HTTP {response.status_code} {reason}".strip())
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                if not _acceptable(content_type, feed):
                    wanted = "a feed" if feed else "an article"
                    return Failure(url, f"not {wanted} (content type {content_type or 'unknown'})")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    return Failure(url, f"response over the {self.max_bytes:,}-byte limit")
                body = bytearray()
                for piece in response.iter_bytes():
                    body.extend(piece)
                    if len(body) > self.max_bytes:
                        return Failure(url, f"response over the {self.max_bytes:,}-byte limit")
                entry = CacheEntry(
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                )
                return Fetched(
                    url,
                    str(response.url),
                    bytes(body),
                    content_type,
                    response.charset_encoding,
                    entry,
                )
        except httpx.TimeoutException:
            return Failure(url, f"timed out after {self.timeout:g}s")
        except httpx.TooManyRedirects:
            return Failure(url, "too many redirects")
        except httpx.InvalidURL as exc:
            return Failure(url, f"invalid URL ({exc})")
        except httpx.HTTPError as exc:
            return Failure(url, f"cannot fetch ({type(exc).__name__}: {exc})")


def _acceptable(content_type: str, feed: bool) -> bool:
    if not content_type:
        return True  # servers that say nothing get the benefit of the doubt; parsing decides
    if feed:
        return any(kind in content_type for kind in _FEED_TYPES) or content_type == "text/html"
    return content_type in _TEXT_TYPES
