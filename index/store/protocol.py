"""What search and indexing need from a vector store, with no backend's syntax in it.

Chroma (embedded, or a Chroma server) is the one backend today (`index.store.chroma`); another
vector database goes beside it, implements `VectorStore` and must pass the contract suite in
`tests/index/store/test_contract.py`. Nothing outside this package imports chromadb or writes
a backend's filter syntax: callers describe a restriction as a `ChunkFilter`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from index.records import Chunk, Hit


class ModelMismatchError(RuntimeError):
    """The store was built by another embedding model; mixing vectors would corrupt search."""


class EmptyStoreError(RuntimeError):
    """Nothing has been indexed into this store yet."""


@dataclass(frozen=True)
class ChunkFilter:
    """A restriction on chunks, in the store's own terms: dates as YYYYMMDD numbers."""

    article_ids: tuple[str, ...] = ()
    day_from: int | None = None  # inclusive
    day_to: int | None = None  # inclusive
    sources: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()


@dataclass
class IndexedArticle:
    """What the store holds for one article, read back from its chunks."""

    article_id: str
    content_hash: str
    path: str | None
    chunk_ids: list[str] = field(default_factory=list)
    consistent: bool = True


@dataclass(frozen=True)
class ChunkRow:
    """What the lexical side knows of a chunk besides its terms: identity and filter columns."""

    chunk_id: str
    stamp: str  # article content hash and paragraph range: changes whenever the text can
    article_id: str
    lang: str | None
    source: str | None
    day: int  # YYYYMMDD, 0 when the article has no date

    @classmethod
    def from_metadata(cls, chunk_id: str, meta: dict[str, Any]) -> ChunkRow:
        stamp = f"{meta['content_hash']}:{meta['p_first']}-{meta['p_last']}"
        return cls(
            chunk_id=chunk_id,
            stamp=stamp,
            article_id=str(meta["article_id"]),
            lang=meta.get("lang") or None,
            source=meta.get("source") or None,
            day=int(meta.get("day") or 0),
        )


class VectorStore(Protocol):
    """Chunks with their vectors and metadata; the bookkeeping is read back from the chunks."""

    name: str  # names the derived files kept beside it
    cache_dir: Path | None  # where derived indexes (BM25, near-duplicates) are kept

    @property
    def model_info(self) -> dict[str, Any] | None: ...

    def check_model(self, model: str, fingerprint: str) -> None: ...

    def prepare(self, model: str, fingerprint: str, dimension: int) -> None: ...

    def upgrade(self) -> bool: ...  # bring an older store's layout up to date (writer lock held)

    def write(
        self,
        items: Sequence[tuple[Sequence[Chunk], str, str | None]],
        vectors: np.ndarray,
        stale_ids: Iterable[str],
    ) -> None: ...

    def delete_ids(self, ids: Iterable[str]) -> None: ...

    def set_path(self, ids: Sequence[str], path: str | None) -> None: ...

    def drop(self) -> None: ...

    def count(self) -> int: ...

    def is_empty(self) -> bool: ...  # cheap: asked before every search

    def articles(self) -> dict[str, IndexedArticle]: ...

    def chunk_rows(self) -> list[ChunkRow]: ...

    def vectors(self, ids: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]: ...

    def documents(self, ids: Sequence[str]) -> dict[str, str]: ...

    def hits(self, ids: Sequence[str], vector: np.ndarray | None = None) -> dict[str, Hit]: ...

    def facets(self) -> dict[str, list[str]]: ...

    def nearest(
        self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]: ...

    def query(
        self,
        vector: np.ndarray,
        k: int,
        where: ChunkFilter | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[Hit]: ...
