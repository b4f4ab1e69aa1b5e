"""Search modes, filters on both sides of the fusion, recency and diversity, on a real store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from index.embed.embedder import Embedder
from index.search.searcher import MODES, Filters, Mode, SearchConfig, Searcher
from index.store.chroma import Store
from tests.fixtures.paths import model_cache
from tests.fixtures.tiny_news import ARTICLES, build_store

BY_ID = {a["id"]: a for a in ARTICLES}


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Searcher:
    settings = build_store(tmp_path_factory.mktemp("tiny"), model_cache(), embedder)
    return Searcher(Store.open(settings), embedder)


def articles(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.article_id for h in hits]


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_finds_the_obvious_article(searcher: Searcher, mode: Mode) -> None:
    hits = searcher.search("Berapa harga cabai rawit di Pasar Kramat Jati?", 3, mode=mode)
    assert hits and hits[0].article_id == "cabai"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    if mode == "bm25":
        assert all(h.similarity is None for h in hits)
    else:
        assert all(h.similarity is not None and -1 <= h.similarity <= 1 for h in hits)


def test_default_signature_is_hybrid(searcher: Searcher) -> None:
    assert searcher.config.mode == "hybrid"
    plain = searcher.search("QZ7510", 2)
    assert plain == searcher.search("QZ7510", k=2, filters=None, mode="hybrid")
    assert plain[0].article_id == "qz7510"


def test_lexical_only_hits_get_their_similarity(searcher: Searcher, embedder: Embedder) -> None:
    vector = embedder.embed_query("QZ7510")
    by_dense = {h.chunk_id: h.score for h in searcher.store.query(vector, 20)}
    for hit in searcher.search("QZ7510", 5, mode="hybrid"):
        assert hit.similarity == pytest.approx(by_dense[hit.chunk_id], abs=1e-4)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "filters",
    [
        Filters(sources=("Kompas",)),
        Filters(langs=("en",)),
        Filters(date_from="2025-09-01"),
        Filters(date_to="2025-09-30", sources=("Detik", "BBC")),
    ],
)
def test_filters_hold_on_both_sides(searcher: Searcher, mode: Mode, filters: Filters) -> None:
    # Queries aimed at articles the filters exclude, so an unfiltered side would return them.
    for query in ("QZ7510 kembali ke Juanda", "banjir Garut", "Bali Lombok ferry waves"):
        hits = searcher.search(query, 5, filters, mode)
        assert all(filters.accepts(h) for h in hits)
        expected = {
            a["id"]
            for a in ARTICLES
            if filters.accepts(searcher.store.hits([f"{a['id']}::0"])[f"{a['id']}::0"])
        }
        assert set(articles(hits)) <= expected
        if mode != "bm25":  # dense always fills k when enough chunks pass
            eligible = sum(1 for r in searcher.lexical.rows if r.article_id in expected)
            assert len(hits) == min(5, eligible)


def test_undated_articles_fail_date_filters(searcher: Searcher) -> None:
    hits = searcher.search("Timnas Indonesia menang atas Vietnam", 5, Filters(date_to="2030-01-01"))
    assert "timnas" not in articles(hits)
    assert "timnas" in articles(searcher.search("Timnas Indonesia menang atas Vietnam", 5))


def test_nothing_eligible_returns_nothing(searcher: Searcher) -> None:
    for mode in MODES:
        assert searcher.search("banjir", 5, Filters(sources=("Tempo",)), mode) == []


@pytest.mark.parametrize(
    "filters", [Filters(langs=("id",)), Filters(date_from="2025-10-01"), Filters(sources=("BBC",))]
)
def test_fast_filter_paths_match_chroma_where(
    searcher: Searcher, embedder: Embedder, filters: Filters
) -> None:
    """Exact search over the vector copy (few eligible chunks), asking the store by id (no
    copy), over-fetching and post-filtering (no copy), and the store's own filter agree."""
    query = "banjir merendam rumah warga"
    vector = embedder.embed_query(query)
    eligible = int(filters.mask(searcher.lexical).sum())  # type: ignore[union-attr]
    reference = [h.chunk_id for h in searcher.store.query(vector, eligible, filters.for_store())]
    for overfetch_max, copy in ((0, True), (0, False), (10_000, False)):
        config = replace(searcher.config, overfetch_max=overfetch_max, per_article=10)
        fast = Searcher(searcher.store, embedder, config)
        if not copy:
            fast.lexical.vectors = None
        hits = fast.search(query, eligible, filters, mode="dense")
        assert [h.chunk_id for h in hits] == reference
        everything = searcher.store.query(vector, searcher.store.count())
        similarity = {h.chunk_id: h.score for h in everything}
        assert [h.similarity for h in hits] == pytest.approx([similarity[h.chunk_id] for h in hits])


def test_recency_decay_prefers_newer_reports(searcher: Searcher) -> None:
    query = "Berapa rumah rusak akibat banjir bandang di Garut?"
    plain = articles(searcher.search(query, 5, mode="dense"))
    assert plain.index("garut-1") < plain.index("garut-2")  # the older report matches best
    decayed = articles(searcher.search(query, 5, Filters(recency_half_life_days=3), "dense"))
    assert decayed.index("garut-2") < decayed.index("garut-1")
    # Asking for the latest news turns the decay on by itself.
    latest = articles(searcher.search("Berita banjir bandang Garut terbaru", 5, mode="dense"))
    assert latest.index("garut-2") < latest.index("garut-1")


def test_latest_wording_does_not_bury_the_report_that_answers(searcher: Searcher) -> None:
    # "terakhir" here describes the event, and the only report of it is months older than the
    # rest: the recency the wording turns on has a floor, so it still comes first.
    query = "Berapa pengunjung yang diperkirakan datang ke festival Danau Toba terakhir?"
    assert articles(searcher.search(query, 3))[0] == "festival"


def test_per_article_cap(searcher: Searcher, embedder: Embedder) -> None:
    query = "Festival Danau Toba di Parapat"
    capped = Searcher(searcher.store, embedder, SearchConfig(per_article=1))
    one = articles(capped.search(query, 3, mode="dense"))
    two = articles(searcher.search(query, 3, mode="dense"))
    assert one.count("festival") == 1 and len(set(one)) == 3
    assert two.count("festival") == 2


def test_lexical_index_follows_a_reindex_in_another_searcher(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A long-running searcher notices an indexer run that rewrote the lexical cache."""
    from index.indexing import Indexer
    from tests.fixtures.tiny_news import write_corpus

    settings = build_store(tmp_path, model_cache(), embedder)
    running = Searcher(Store.open(settings), embedder)
    assert running.search("Citarum", 3, mode="bm25") == []
    changed = [dict(a) for a in ARTICLES]
    changed[0]["text"] = "Sungai Citarum meluap dan merendam 80 rumah di Bandung."
    corpus = write_corpus(tmp_path / "news", changed)
    Indexer(Store.open(settings), embedder, chunk_tokens=40).run([corpus])
    assert articles(running.search("Citarum", 3, mode="bm25")) == ["garut-1"]
