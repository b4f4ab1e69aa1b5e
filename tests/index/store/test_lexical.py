"""The lexical index: tokenization, BM25 ranking with masks, and a cache that follows the store."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
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
    assert not index.select(sources=["nowhere"]).any()  # type: ignore[union-attr]
    both = index.select(sources=["S0", "nowhere", "S1"])
    assert both is not None and list(both) == [
        a or b for a, b in zip(mask, index.select(sources=["S1"]), strict=True)
    ]  # type: ignore[arg-type]


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


def fresh_open(settings: StoreSettings) -> tuple[LexicalCache, LexicalIndex]:
    """The lexical index as a new process's first search opens it."""
    store = Store.open(settings)
    cache = LexicalCache.for_store(store)
    return cache, cache.sync(store)


def test_open_skips_the_store_check_until_another_store_writes(
    tmp_path: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    corpus = write_corpus(tmp_path / "news", ARTICLES[:3])
    Indexer(Store.open(settings), embedder).run([corpus])
    cache, index = fresh_open(settings)
    assert not cache.last_checked  # the indexer left the arrays and the marker behind
    full = LexicalCache(None).sync(Store.open(settings))
    assert index.version == full.version and index.rows == full.rows

    # Another writer (its own client, as another process has) deletes a chunk and bumps the
    # marker, but does not refresh the cache (a crash, or a write outside the indexer).
    Store.open(settings).delete_ids(["garut-1::0"])
    cache, index = fresh_open(settings)
    assert cache.last_checked and "garut-1::0" not in index.position
    cache, again = fresh_open(settings)
    assert not cache.last_checked and again.version == index.version


def test_writers_that_keep_no_marker_are_noticed(
    tmp_path: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    """An older Kabar bumps no generation marker: a changed chunk count, or its rewrite of the
    json.gz (the only cache file it knows), sends the next open to the full check."""
    articles = [dict(a) for a in ARTICLES[:3]]
    corpus = write_corpus(tmp_path / "news", articles)
    Indexer(Store.open(settings), embedder).run([corpus])

    # Same number of chunks, other text: only the rewritten json.gz tells.
    articles[1]["text"] = "Sungai Citarum meluap dan merendam 80 rumah di Bandung."
    write_corpus(tmp_path / "news", articles)
    older = Store(Store.open(settings).client, settings.collection)  # no cache folder either
    count = older.count()
    Indexer(older, embedder).run([corpus])
    assert older.count() == count
    json_only = LexicalCache.for_store(Store.open(settings))
    json_only._write(LexicalCache(None).sync(older))  # what an older Kabar's refresh writes
    cache, index = fresh_open(settings)
    assert cache.last_checked and "citarum" in lexical_terms(index)

    # A changed count: the older writer deleted a chunk and refreshed nothing.
    older = Store(Store.open(settings).client, settings.collection, settings.store)
    assert older.generation is None
    older.delete_ids(["ferry-bali::0"])
    cache, index = fresh_open(settings)
    assert cache.last_checked and "ferry-bali::0" not in index.position


@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated"])
def test_damaged_arrays_are_rebuilt_from_the_cache(
    tmp_path: Path, settings: StoreSettings, embedder: Embedder, damage: str
) -> None:
    corpus = write_corpus(tmp_path / "news", ARTICLES[:3])
    Indexer(Store.open(settings), embedder).run([corpus])
    cache, expected = fresh_open(settings)
    assert cache.arrays is not None and cache.arrays.exists()
    if damage == "missing":
        cache.arrays.unlink()
    elif damage == "garbage":
        cache.arrays.write_bytes(b"not an npz")
    else:
        cache.arrays.write_bytes(cache.arrays.read_bytes()[:-200])
    assert cache.load() is not None  # the json.gz still serves
    cache, repaired = fresh_open(settings)
    assert cache.last_checked and cache.last_tokenized == 0
    assert repaired.version == expected.version and repaired.terms == expected.terms
    cache, again = fresh_open(settings)
    assert not cache.last_checked and again.rows == expected.rows


def test_restored_index_ranks_exactly_like_a_fresh_bm25s(sample_settings: StoreSettings) -> None:
    import bm25s
    import numpy as np

    from tests.fixtures.sample_store import sample_questions

    cache, restored = fresh_open(sample_settings)
    assert not cache.last_checked and restored._terms is None  # opened from the arrays
    built = LexicalIndex(restored.rows, restored.terms, restored.tokenizer)
    reference = bm25s.BM25()
    reference.index([t or [""] for t in built.terms], show_progress=False)
    queries = [restored.tokenizer.tokens(q["question"]) for q in sample_questions()]
    queries += [restored.terms[0] * 2, ["tidakadakatainixyz"], restored.terms[-1][:3]]
    for terms in queries:
        if not terms:
            continue
        expected = np.asarray(reference.get_scores(list(terms)), dtype=np.float32)
        assert np.array_equal(restored.scores(terms), expected)
        assert restored.search(terms, 20) == built.search(terms, 20)
    assert restored._idf == built._idf
    positions = list(range(0, len(restored), max(1, len(restored) // 5)))[:3]
    assert set(restored.distinctive(positions, 50)) == set(built.distinctive(positions, 50))
    some = sorted({r.source for r in restored.rows if r.source})[:1]
    for mask in (restored.select(sources=some), restored.select(langs=["en"], day_from=20200101)):
        assert mask is not None
        assert restored.search(queries[0], 10, mask) == built.search(queries[0], 10, mask)


def assert_vectors_match_the_store(index: LexicalIndex, store: Store) -> None:
    import numpy as np

    assert index.vectors is not None and len(index.vectors) == len(index.rows)
    ids, stored = store.vectors([r.chunk_id for r in index.rows])
    assert ids == [r.chunk_id for r in index.rows]
    unit = stored / np.linalg.norm(stored, axis=1, keepdims=True)
    assert np.allclose(index.vectors, unit, atol=1e-6)


def test_vector_copy_follows_the_store_and_is_reused(
    tmp_path: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    articles = [dict(a) for a in ARTICLES[:3]]
    corpus = write_corpus(tmp_path / "news", articles)
    Indexer(Store.open(settings), embedder).run([corpus])
    store = Store.open(settings)
    cache, index = fresh_open(settings)
    files = sorted(settings.store.glob("*-vectors-*.npy"))
    assert len(files) == 1 and index.layout in files[0].name  # written by the indexer's refresh
    assert_vectors_match_the_store(index, store)
    assert cache.load() is not None and cache.load().vectors is not None  # type: ignore[union-attr]

    # An update: the copy is made again for the new rows (the unchanged ones reused), and the
    # file for the old rows goes.
    articles[1]["text"] = "Sungai Citarum meluap dan merendam 80 rumah di Bandung."
    write_corpus(tmp_path / "news", articles)
    Indexer(Store.open(settings), embedder).run([corpus])
    cache, updated = fresh_open(settings)
    assert updated.layout != index.layout
    (copy,) = settings.store.glob("*-vectors-*.npy")
    assert copy.name == f"kabar-chunks-vectors-{updated.layout}.npy"
    # Written before the json.gz, whose change tells running searchers to reload.
    assert cache.path is not None and copy.stat().st_mtime_ns <= cache.path.stat().st_mtime_ns
    assert_vectors_match_the_store(updated, Store.open(settings))


@pytest.mark.parametrize("damage", ["missing", "garbage", "other rows"])
def test_damaged_vector_copy_is_made_again(
    tmp_path: Path, settings: StoreSettings, embedder: Embedder, damage: str
) -> None:
    import numpy as np

    corpus = write_corpus(tmp_path / "news", ARTICLES[:3])
    Indexer(Store.open(settings), embedder).run([corpus])
    fresh_open(settings)
    (path,) = settings.store.glob("*-vectors-*.npy")
    if damage == "missing":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"not a npy file")
    else:  # a copy of the right name and another shape
        np.save(path, np.zeros((2, 3), dtype=np.float32))
    assert LexicalCache.for_store(Store.open(settings)).load().vectors is None  # type: ignore[union-attr]
    _, repaired = fresh_open(settings)
    assert_vectors_match_the_store(repaired, Store.open(settings))
    _, again = fresh_open(settings)
    assert isinstance(again.vectors, np.memmap)  # read from the file written on repair


def test_newest_year_is_that_of_the_newest_dated_chunk() -> None:
    later = ChunkRow("b::0", "hb", "b", "id", "S", 20261231)
    dated = [*rows(3), later, ChunkRow("c::0", "hc", "c", "id", "S", 0)]
    assert LexicalIndex(dated, [["x"]] * 5, Tokenizer()).newest_year() == 2026
    undated = [ChunkRow(f"u{i}::0", f"h{i}", f"u{i}", "id", "S", 0) for i in range(2)]
    assert LexicalIndex(undated, [["x"]] * 2, Tokenizer()).newest_year() is None
    assert LexicalIndex([], [], Tokenizer()).newest_year() is None


def test_exact_nearest_over_a_mask() -> None:
    import numpy as np

    index = LexicalIndex(rows(6), [["x"]] * 6, Tokenizer())
    index.vectors = np.eye(6, dtype=np.float32)
    query = np.array([0.1, 0.9, 0.0, 0.5, 0.0, 0.3], dtype=np.float32)
    mask = np.array([True, False, True, True, True, True])
    found = index.nearest(query, 3, mask)
    assert [p for p, _ in found] == [3, 5, 0]  # position 1 is filtered out
    assert found[0][1] == pytest.approx(0.5 / np.linalg.norm(query))
    assert index.nearest(query, 3, np.zeros(6, dtype=bool)) == []


@pytest.mark.parametrize("share", [0.05, 0.15, 0.5, 0.95])
def test_exact_nearest_equals_brute_force_whether_rows_are_gathered_or_not(share: float) -> None:
    """A narrow filter gathers its rows, a wide one multiplies all rows (`GATHER_SHARE`): the
    same positions and similarities either way."""
    import numpy as np

    rng = np.random.default_rng(7)
    index = LexicalIndex(rows(200), [["x"]] * 200, Tokenizer())
    vectors = rng.standard_normal((200, 16)).astype(np.float32)
    index.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    query = rng.standard_normal(16).astype(np.float32)
    mask = rng.random(200) < share
    sims = index.vectors @ (query / np.linalg.norm(query))
    expected = sorted(np.flatnonzero(mask), key=lambda i: -sims[i])[:10]
    found = index.nearest(query, 10, mask)
    assert [p for p, _ in found] == expected
    assert [s for _, s in found] == pytest.approx([sims[i] for i in expected], abs=1e-6)


_TIED = """
import json
from index.store.lexical import LexicalIndex
from index.store.protocol import ChunkRow
from index.store.tokenize import Tokenizer
words = [f"kata{i}" for i in range(40)]
rows = [ChunkRow(f"a{i}::0", f"h{i}", f"a{i}", "id", "S", 20250101) for i in range(3)]
index = LexicalIndex(rows, [words, words[::-1], ["lain"]], Tokenizer())
print(json.dumps(index.distinctive([0, 1], 5)))
"""


def test_feedback_terms_do_not_depend_on_the_hash_seed() -> None:
    # Forty terms tie (each in the same two chunks): which five are kept must not follow the
    # order of a set of strings, which changes with each process's hash seed.
    picked = {
        subprocess.run(
            [sys.executable, "-c", _TIED],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(picked) == 1
    assert json.loads(picked.pop()) == [f"kata{i}" for i in range(5)]
