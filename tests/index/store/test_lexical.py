"""The lexical index: tokenization, BM25 ranking with masks, and a cache that follows the store."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from index.embed.embedder import Embedder
from index.indexing import Indexer
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.lexical import LexicalCache, LexicalIndex
from index.store.protocol import ChunkRow
from index.store.tokenize import Tokenizer
from tests.fixtures.tiny_news import ARTICLES, write_corpus


def test_tokenizer_drops_function_words_of_both_languages() -> None:
    tokens = Tokenizer().tokens(
        "Siapa yang memenangkan Piala Dunia 2022 di Qatar? Who won the cup?"
    )
    assert tokens == ["memenangkan", "piala", "dunia", "2022", "qatar", "won", "cup"]


def test_tokenizer_normalises_and_keeps_numbers() -> None:
    assert Tokenizer().tokens("ＢＢＣ Rp 95.000, 2-1 dan 7") == [
        "bbc",
        "rp",
        "95",
        "000",
        "2",
        "1",
        "7",
    ]


def test_stemming_follows_the_text_language() -> None:
    stem = Tokenizer(stem=True)
    assert stem.tokens("pembangunannya", "id") != ["pembangunannya"]
    assert stem.tokens("running floods", "en") == ["run", "flood"]
    assert stem.tokens("running", None) == ["running"]  # unknown language: left alone
    assert Tokenizer().name != stem.name  # a cache built with other rules is not reused


def rows(n: int) -> list[ChunkRow]:
    return [
        ChunkRow(f"a{i}::0", f"h{i}", f"a{i}", "id" if i % 2 else "en", f"S{i % 3}", 20250100 + i)
        for i in range(n)
    ]


def test_bm25_ranks_rare_terms_and_respects_masks() -> None:
    terms = [
        ["banjir", "garut", "rumah"],
        ["banjir", "bandung"],
        ["harga", "cabai", "naik"],
        ["banjir", "garut", "garut", "sungai"],
        [],
    ]
    index = LexicalIndex(rows(5), terms, Tokenizer())
    ranked = index.search(["garut", "banjir"], 10)
    assert [pos for pos, _ in ranked][:2] == [3, 0]  # "garut" twice beats once
    assert {pos for pos, _ in ranked} == {0, 1, 3}  # only chunks sharing a term
    assert all(a[1] >= b[1] > 0 for a, b in itertools.pairwise(ranked))
    mask = index.select(sources=["S0"])  # rows 0 and 3
    assert mask is not None and list(mask) == [True, False, False, True, False]
    assert {pos for pos, _ in index.search(["banjir"], 10, mask)} == {0, 3}
    assert index.search(["tidakada"], 10) == []
    assert index.select() is None
    dated = index.select(day_from=20250102, day_to=20250103)
    assert dated is not None and list(dated) == [False, False, True, True, False]
    assert list(index.select(langs=["en"])) == [True, False, True, False, True]  # type: ignore[arg-type]


def lexical_terms(index: LexicalIndex) -> set[str]:
    return {t for terms in index.terms for t in terms}


def test_cache_follows_updates_and_deletes(
    tmp_path: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    articles = [dict(a) for a in ARTICLES[:3]]
    corpus = write_corpus(tmp_path / "news", articles)
    store = Store.open(settings)
    Indexer(store, embedder).run([corpus])
    cache = LexicalCache.for_store(store)
    assert cache.path is not None and cache.path.exists()  # the indexer wrote it
    first = cache.load()
    assert first is not None and first.version == LexicalCache(None).sync(store).version
    assert "cimanuk" in lexical_terms(first)

    # Update one article: its new words come in, its old ones go, the rest is reused.
    articles[1]["text"] = "Sungai Citarum meluap dan merendam 80 rumah di Bandung."
    write_corpus(tmp_path / "news", articles)
    indexer = Indexer(store, embedder)
    indexer.run([corpus])
    updated = cache.load()
    assert updated is not None
    assert "citarum" in lexical_terms(updated) and "cimanuk" not in lexical_terms(updated)
    assert indexer.lexical.last_tokenized == 1
    assert [r.chunk_id for r in updated.rows] == [r.chunk_id for r in store.chunk_rows()]

    # Delete an article with --prune: its chunks leave the lexical index too.
    write_corpus(tmp_path / "news", [articles[0], articles[1]])
    report = Indexer(store, embedder).run([corpus], prune=True)
    assert report.removed == 1
    pruned = cache.load()
    assert pruned is not None and "ferry-bali" not in {r.article_id for r in pruned.rows}
    assert "lombok" not in lexical_terms(pruned)


def test_stale_cache_is_repaired_on_open(
    tmp_path: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    corpus = write_corpus(tmp_path / "news", ARTICLES[:2])
    store = Store.open(settings)
    Indexer(store, embedder).run([corpus])
    cache = LexicalCache.for_store(store)
    before = cache.load()
    # A write that bypassed the indexer (a crash before its refresh): the cache is now stale.
    store.delete_ids(["garut-1::0"])
    assert before is not None and "garut-1::0" in before.position
    repaired = cache.sync(store)
    assert "garut-1::0" not in repaired.position and cache.last_tokenized == 0
    assert cache.load() is not None and cache.load().version == repaired.version  # type: ignore[union-attr]


def test_unreadable_cache_is_rebuilt(
    tmp_path: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    corpus = write_corpus(tmp_path / "news", ARTICLES[:1])
    store = Store.open(settings)
    Indexer(store, embedder).run([corpus])
    cache = LexicalCache.for_store(store)
    assert cache.path is not None
    cache.path.write_bytes(b"not gzip")
    assert cache.load() is None
    rebuilt = cache.sync(store)
    assert len(rebuilt) == store.count() and cache.last_tokenized == store.count()
    json.dumps(rebuilt.terms)  # plain data, as written to the cache file


@pytest.mark.parametrize("stem", [False, True])
def test_cache_written_with_other_rules_is_not_reused(
    tmp_path: Path, settings: StoreSettings, embedder: Embedder, stem: bool
) -> None:
    corpus = write_corpus(tmp_path / "news", ARTICLES[:1])
    store = Store.open(settings)
    Indexer(store, embedder).run([corpus])
    other = LexicalCache.for_store(store, Tokenizer(stem=not stem))
    other.sync(store)
    mine = LexicalCache.for_store(store, Tokenizer(stem=stem))
    mine.sync(store)
    assert mine.last_tokenized == store.count()
