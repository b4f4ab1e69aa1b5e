"""One contract for every vector-store backend: the embedded Chroma store and a real `chroma run`.

A new backend implements `index.store.protocol.VectorStore` and joins the `store` fixture's
parameters; these tests then say whether search and indexing can rely on it. Vectors are random
unit vectors (the contract is about storage, not about the model), so exact answers are known.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.chunking import embedding_text
from index.records import Chunk
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.protocol import (
    ChunkFilter,
    EmptyStoreError,
    ModelMismatchError,
    VectorStore,
)
from tests.fixtures.proc import start_chroma, stop

DIM = 16
MODEL = ("contract-model", "fp-1")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    proc, address = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield address
    finally:
        stop(proc)


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.slow)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "embedded":
        settings = StoreSettings(store=tmp_path / "store")
    else:
        host, port = request.getfixturevalue("chroma_server")
        # Each test gets its own collection on the shared server.
        settings = StoreSettings(
            store=tmp_path / "local",
            chroma_host=host,
            chroma_port=port,
            collection=f"contract-{tmp_path.name}"[:60],
        )
    opened = Store.open(settings)
    yield opened
    opened.drop()


def chunk(article: str, ordinal: int, **meta: object) -> Chunk:
    fields: dict[str, object] = {
        "title": f"Title of {article}",
        "published": "2025-10-0" + str(1 + ordinal % 9),
        "source": "Outlet A",
        "url": f"https://example.org/{article}",
        "lang": "id",
    }
    fields.update(meta)
    return Chunk(
        article_id=article,
        ordinal=ordinal,
        text=f"paragraph {ordinal} of {article}",
        first_paragraph=ordinal + 1,
        last_paragraph=ordinal + 1,
        **fields,  # type: ignore[arg-type]
    )


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def fill(store: VectorStore) -> tuple[list[Chunk], np.ndarray]:
    """Three articles: a (2 chunks, id, Outlet A), b (1 chunk, en, Outlet B), c (2 chunks)."""
    a = [chunk("a", 0), chunk("a", 1)]
    b = [chunk("b", 0, lang="en", source="Outlet B", published="2024-01-15")]
    c = [chunk("c", 0, published=None), chunk("c", 1, published=None)]
    chunks = a + b + c
    vectors = unit_vectors(len(chunks))
    store.prepare(*MODEL, DIM)
    store.write([(a, "hash-a", "a.md"), (b, "hash-b", None), (c, "hash-c", "c.md")], vectors, [])
    return chunks, vectors


def test_an_empty_store_has_nothing_and_refuses_search(store: VectorStore) -> None:
    assert store.count() == 0
    assert store.model_info is None
    assert store.articles() == {}
    assert store.chunk_rows() == []
    assert store.is_empty()
    with pytest.raises(EmptyStoreError):
        store.nearest(unit_vectors(1)[0], 3)


def test_emptiness_follows_writes_and_deletes(store: VectorStore) -> None:
    chunks, vectors = fill(store)
    assert not store.is_empty() and store.nearest(vectors[0], 1)[0][0] == chunks[0].id
    store.delete_ids([c.id for c in chunks])
    assert store.is_empty()
    with pytest.raises(EmptyStoreError):
        store.nearest(vectors[0], 1)


def test_written_chunks_come_back_with_their_bookkeeping(store: VectorStore) -> None:
    chunks, _ = fill(store)
    assert store.count() == len(chunks)
    assert store.model_info == {"model": MODEL[0], "fingerprint": MODEL[1], "dimension": DIM}
    articles = store.articles()
    assert set(articles) == {"a", "b", "c"}
    assert all(entry.consistent for entry in articles.values())
    assert sorted(articles["a"].chunk_ids) == ["a::0", "a::1"]
    assert (articles["a"].content_hash, articles["a"].path) == ("hash-a", "a.md")
    assert articles["b"].path is None
    rows = {row.chunk_id: row for row in store.chunk_rows()}
    assert set(rows) == {c.id for c in chunks}
    assert (rows["b::0"].lang, rows["b::0"].source, rows["b::0"].day) == (
        "en",
        "Outlet B",
        20240115,
    )
    assert rows["c::0"].day == 0
    documents = store.documents(["a::1", "missing::0"])
    assert documents == {"a::1": embedding_text("Title of a", "paragraph 1 of a")}
    assert store.facets() == {"sources": ["Outlet A", "Outlet B"], "langs": ["en", "id"]}


def test_a_store_refuses_vectors_of_another_model(store: VectorStore) -> None:
    fill(store)
    store.check_model(*MODEL)
    with pytest.raises(ModelMismatchError, match="rebuild"):
        store.check_model("another-model", "fp-2")
    with pytest.raises(ModelMismatchError):
        store.prepare("another-model", "fp-2", DIM)


def test_nearest_and_query_find_each_vector_itself(store: VectorStore) -> None:
    chunks, vectors = fill(store)
    for chunk_, vector in zip(chunks, vectors, strict=True):
        (best_id, similarity), *_ = store.nearest(vector, 3)
        assert best_id == chunk_.id
        assert similarity == pytest.approx(1.0, abs=1e-4)
        hit = store.query(vector, 1)[0]
        assert (hit.chunk_id, hit.article_id, hit.paragraphs) == (
            chunk_.id,
            chunk_.article_id,
            (chunk_.first_paragraph, chunk_.last_paragraph),
        )
        assert hit.text == chunk_.text and hit.title == chunk_.title
    within = store.nearest(vectors[0], 5, ids=["b::0", "c::1"])
    assert {chunk_id for chunk_id, _ in within} == {"b::0", "c::1"}
    scored = store.hits(["a::0", "b::0"], vectors[0])
    assert scored["a::0"].score == pytest.approx(1.0, abs=1e-4)
    assert scored["b::0"].score == pytest.approx(float(vectors[0] @ vectors[2]), abs=1e-4)


@pytest.mark.parametrize(
    ("restriction", "expected"),
    [
        (ChunkFilter(article_ids=("a", "c")), {"a::0", "a::1", "c::0", "c::1"}),
        (ChunkFilter(langs=("en",)), {"b::0"}),
        (ChunkFilter(sources=("Outlet A",)), {"a::0", "a::1", "c::0", "c::1"}),
        (ChunkFilter(day_from=20250101), {"a::0", "a::1"}),
        (ChunkFilter(day_to=20241231), {"b::0"}),
        (ChunkFilter(article_ids=("a", "b"), langs=("id",), day_from=20251002), {"a::1"}),
        (ChunkFilter(), {"a::0", "a::1", "b::0", "c::0", "c::1"}),
    ],
)
def test_query_applies_backend_neutral_filters(
    store: VectorStore, restriction: ChunkFilter, expected: set[str]
) -> None:
    _, vectors = fill(store)
    found = {hit.chunk_id for hit in store.query(vectors[3], 10, where=restriction)}
    assert found == expected


def test_rewrites_deletes_and_moves_keep_the_bookkeeping_true(store: VectorStore) -> None:
    chunks, _ = fill(store)
    # Article a shrinks to one chunk: upsert the new one, the stale one goes.
    shorter = [chunk("a", 0, title="New title")]
    store.write([(shorter, "hash-a2", "a.md")], unit_vectors(1, seed=7), ["a::0", "a::1"])
    articles = store.articles()
    assert articles["a"].chunk_ids == ["a::0"] and articles["a"].content_hash == "hash-a2"
    assert store.count() == len(chunks) - 1
    # The same write again changes nothing (idempotent upsert).
    store.write([(shorter, "hash-a2", "a.md")], unit_vectors(1, seed=7), ["a::0"])
    assert store.count() == len(chunks) - 1
    store.set_path(["c::0", "c::1"], "moved/c.md")
    assert store.articles()["c"].path == "moved/c.md"
    store.delete_ids(["b::0"])
    assert "b" not in store.articles()
    assert store.facets()["langs"] == ["id"]
    store.drop()
    assert store.count() == 0 and store.model_info is None


def test_a_half_written_article_is_seen_as_inconsistent(store: VectorStore) -> None:
    """Crash safety rests on this: chunks that disagree on hash or count flag their article."""
    fill(store)
    # One chunk of a rewritten with a new hash while its sibling keeps the old one.
    store.write([([chunk("a", 0)], "hash-new", "a.md")], unit_vectors(1, seed=3), [])
    assert store.articles()["a"].consistent is False
