"""index.crawl.fetch against a real server on 127.0.0.1: errors with reasons, limits, 304s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index.crawl.fetch import CacheEntry, Fetched, Fetcher, HttpCache, NotModified
from index.ingest.sources import read_web_page
from index.records import Failure
from tests.fixtures.webserver import Site, serve


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve() as running:
        yield running


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=1.5, max_bytes=200_000, max_redirects=3) as client:
        yield client


def test_page_is_fetched_and_extracted_without_furniture(site: Site, fetcher: Fetcher) -> None:
    result = fetcher.fetch(site.url("/news/kabar-timur-pabrik-baterai.html"))
    assert isinstance(result, Fetched)
    assert result.entry.etag and result.entry.last_modified
    article = read_web_page(result.final_url, result.text())
    assert not isinstance(article, Failure)
    assert article.id == "https://kabartimur.example/ekonomi/pabrik-baterai-halmahera"
    assert article.title == "Pabrik baterai nikel pertama di Halmahera mulai beroperasi"
    assert article.published == "2026-09-14"
    assert article.source == "Kabar Timur"
    assert article.path is None
    body = "\n".join(article.paragraphs)
    assert "2.300 orang" in body
    for furniture in ("IKLAN", "Bagikan", "Baca juga", "Komentar", "Pedoman Media Siber", "Sari"):
        assert furniture not in body
    assert site.requests()[-1].user_agent.startswith("Kabar/")


def test_errors_carry_a_reason(site: Site, fetcher: Fetcher) -> None:
    cases = {
        "/news/dihapus.html": "HTTP 404",
        "/slow/berita-lambat.html": "timed out after 1.5s",
        "/files/laporan-tahunan.pdf": "not an article (content type application/pdf)",
        "/loop/a": "too many redirects",
    }
    for path, reason in cases.items():
        result = fetcher.fetch(site.url(path))
        assert isinstance(result, Failure), path
        assert result.path == site.url(path)
        assert result.error.startswith(reason), result.error
    unreachable = fetcher.fetch("http://127.0.0.1:9/nothing")
    assert isinstance(unreachable, Failure) and "cannot fetch" in unreachable.error


def test_redirect_is_followed(site: Site, fetcher: Fetcher) -> None:
    result = fetcher.fetch(site.url("/old/kites"))
    assert isinstance(result, Fetched)
    assert result.url == site.url("/old/kites")
    assert result.final_url == site.url("/news/festival-layang-layang.html")


def test_size_cap(site: Site) -> None:
    with Fetcher(max_bytes=1000) as small:
        result = small.fetch(site.url("/news/festival-layang-layang.html"))
    assert isinstance(result, Failure) and "1,000-byte limit" in result.error


def test_conditional_request_gets_304(site: Site, fetcher: Fetcher, tmp_path: Path) -> None:
    url = site.url("/news/festival-layang-layang.html")
    first = fetcher.fetch(url)
    assert isinstance(first, Fetched)
    cache = HttpCache(tmp_path / "http-cache.json")
    cache.put(url, first.entry)
    cache.save()
    known = HttpCache(tmp_path / "http-cache.json").get(url)
    assert known == first.entry
    second = fetcher.fetch(url, known)
    assert isinstance(second, NotModified)
    assert site.requests()[-1].status == 304 and site.requests()[-1].conditional
    # Validators the server does not recognise: a full download.
    stale = fetcher.fetch(url, CacheEntry(etag='"other"'))
    assert isinstance(stale, Fetched)
