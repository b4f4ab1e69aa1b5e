"""Feeds end to end against a real server on 127.0.0.1: index every entry once, download only
what changed (the server's request log proves it), report bad entries and index the rest."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.cli import main as cli
from index.crawl.feeds import FeedList, entry_links
from index.crawl.fetch import Fetcher
from index.crawl.watch import MAX_BACKOFF, Poll, Poller, parse_duration
from index.crawl.web import WebBatch, http_cache, index_with_web
from index.embed.embedder import Embedder
from index.indexing import Indexer, IndexReport
from index.records import Failure
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.dedupe import Duplicates
from tests.fixtures.webserver import WEB, Site, serve

CANONICAL_A = "https://kabartimur.example/ekonomi/pabrik-baterai-halmahera"
JEMBATAN = "https://pontianakhariini.example/kota/jembatan-kapuas-iii-ditutup"


def index_feeds(settings: StoreSettings, embedder: Embedder) -> tuple[IndexReport, WebBatch]:
    indexer = Indexer(Store.open(settings), embedder, chunk_tokens=settings.chunk_tokens)
    with Fetcher(timeout=1.5) as fetcher:
        return index_with_web(settings, indexer, [], with_feeds=True, fetcher=fetcher)


def page_downloads(site: Site, since: int) -> dict[str, int]:
    """Status per /news/ page requested since log position `since`."""
    return {r.path: r.status for r in site.log[since:] if r.path.startswith("/news/")}


def test_feed_list_file(tmp_path: Path) -> None:
    settings = StoreSettings(store=tmp_path / "store")
    feeds = FeedList.for_settings(settings)
    assert feeds.add("https://example.org/rss") and not feeds.add("https://example.org/rss")
    assert feeds.add("http://example.org/atom.xml")
    assert FeedList.for_settings(settings).urls == [
        "https://example.org/rss",
        "http://example.org/atom.xml",
    ]
    assert feeds.remove("https://example.org/rss") and not feeds.remove("https://example.org/rss")
    assert FeedList.for_settings(settings).urls == ["http://example.org/atom.xml"]
    with pytest.raises(ValueError, match="not an http"):
        feeds.add("file:///etc/passwd")


def test_entry_links_from_rss_and_atom() -> None:
    rss = entry_links((WEB / "rss.xml").read_bytes(), "http://127.0.0.1:8000/rss.xml")
    assert not isinstance(rss, Failure)
    assert rss[0] == "http://127.0.0.1:8000/news/kabar-timur-pabrik-baterai.html"
    assert len(rss) == 6
    atom = entry_links((WEB / "atom.xml").read_bytes(), "http://127.0.0.1:8000/atom.xml")
    assert atom == [
        "http://127.0.0.1:8000/news/suara-ternate-baterai.html",
        "http://127.0.0.1:8000/old/kites",
    ]
    page = entry_links(b"<html><body><p>hello</p></body></html>", "http://127.0.0.1:8000/")
    assert isinstance(page, Failure) and page.error.startswith("not a feed")


def test_feeds_index_once_and_refetch_only_what_changed(
    settings: StoreSettings, embedder: Embedder
) -> None:
    with serve() as site:
        feeds = FeedList.for_settings(settings)
        feeds.add(site.url("/rss.xml"))
        feeds.add(site.url("/atom.xml"))

        first, web = index_feeds(settings, embedder)
        # A, the bridge and the kites page are new; B and C are copies of A; three entries fail.
        assert (first.added, first.updated, first.duplicates) == (3, 0, 2)
        reasons = {f.path.rsplit("/", 1)[1]: f.error for f in first.failed}
        assert reasons == {
            "dihapus.html": "HTTP 404 Not Found",
            "laporan-tahunan.pdf": "not an article (content type application/pdf)",
            "berita-lambat.html": "timed out after 1.5s",
        }
        assert web.downloaded == 2 + 5  # two feeds, five articles (the kites one via a redirect)
        assert all(not r.conditional for r in site.log)

        mark = len(site.log)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        second, web = index_feeds(settings, embedder)
        assert (second.added, second.updated, second.duplicates, second.chunks) == (0, 0, 0, 0)
        assert second.unchanged == 5 and web.not_modified == 5 and web.downloaded == 0
        assert set(page_downloads(site, mark).values()) == {304, 404}
        assert [r.status for r in site.log[mark:] if r.path.endswith(".xml")] == [304, 304]
        # An unchanged feed still counts as polled (the Library shows when), its links kept.
        polls = [http_cache(settings).get(site.url(f)) for f in ("/rss.xml", "/atom.xml")]
        assert [(len(e.links or []), e.error) for e in polls if e] == [(6, None), (2, None)]
        assert all(e and e.polled and e.polled >= started for e in polls), (polls, started)

        site.publish(
            "/news/jembatan-sungai-kapuas.html", WEB / "news/jembatan-sungai-kapuas.v2.html"
        )
        mark = len(site.log)
        third, web = index_feeds(settings, embedder)
        assert (third.added, third.updated, third.unchanged, third.duplicates) == (0, 1, 4, 0)
        downloads = page_downloads(site, mark)
        assert [p for p, status in downloads.items() if status == 200] == [
            "/news/jembatan-sungai-kapuas.html"
        ]

    searcher = Searcher(Store.open(settings), embedder)
    hits = searcher.search("Kapan Jembatan Kapuas III dibuka kembali?", k=3)
    assert hits[0].article_id == JEMBATAN and "9 Oktober" in hits[0].text
    hits = searcher.search("pabrik baterai nikel Halmahera Tengah pekerja", k=5)
    assert [h.article_id for h in hits].count(CANONICAL_A) >= 1
    assert not any("wartamaluku" in h.article_id or "suaraternate" in h.article_id for h in hits)
    alternates = Duplicates.for_store(Store.open(settings)).alternates_of(CANONICAL_A)
    assert {a.source for a in alternates} == {"Warta Maluku", "Suara Ternate"}


def test_cli_urls_and_feeds(
    settings: StoreSettings,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("index.indexing.Embedder", lambda *args: embedder)
    monkeypatch.setenv("KABAR_MODEL_CACHE", str(settings.model_cache))
    store = ["--store", str(settings.store)]
    with serve() as site:
        pages = [site.url("/news/festival-layang-layang.html"), site.url("/nope")]
        code = cli.main(["index", *pages, "--json", *store])
        report = json.loads(capsys.readouterr().out)
        assert code == 1 and report["added"] == 1
        assert report["failed"] == [{"path": site.url("/nope"), "error": "HTTP 404 Not Found"}]

        assert cli.main(["feeds", "add", site.url("/atom.xml"), *store]) == 0
        assert cli.main(["feeds", "list", "--json", *store]) == 0
        assert json.loads(capsys.readouterr().out) == [site.url("/atom.xml")]
        runs = []
        for _ in range(2):
            assert cli.main(["index", "--feeds", "--json", *store]) == 0
            runs.append(json.loads(capsys.readouterr().out))
        # The kites page came in by URL first: via the feed's redirect it is the same article.
        assert (runs[0]["added"], runs[0]["unchanged"]) == (1, 1)
        assert (runs[1]["added"], runs[1]["unchanged"], runs[1]["chunks"]) == (0, 2, 0)
        assert cli.main(["feeds", "remove", site.url("/atom.xml"), *store]) == 0
        assert cli.main(["feeds", "remove", site.url("/atom.xml"), *store]) == 1


def test_poller_polls_and_backs_off(settings: StoreSettings, embedder: Embedder) -> None:
    assert parse_duration("15m") == 900 and parse_duration("30s") == 30
    assert parse_duration("1.5h") == 5400 and parse_duration("45") == 45
    with pytest.raises(ValueError):
        parse_duration("soon")

    poller = Poller(settings, every=10, embedder=embedder)
    failed = Poll(None, None, "OSError: down")
    assert [poller.next_delay(failed) for _ in range(5)] == [20, 40, 80, 80, 80]
    assert MAX_BACKOFF == 8
    assert poller.next_delay(Poll(IndexReport(), WebBatch())) == 10

    with serve() as site:
        FeedList.for_settings(settings).add(site.url("/atom.xml"))
        poller = Poller(
            settings, every=0.01, embedder=embedder, fetcher_factory=lambda: Fetcher(timeout=2)
        )
        poller.run(threading.Event(), polls=2)
        assert poller.failures == 0
    indexed = Store.open(settings).articles()
    assert len(indexed) == 2  # C is new here (no A in this store), and the kites page
