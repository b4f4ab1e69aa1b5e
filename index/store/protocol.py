"""What search and indexing need from a vector store, with no backend's syntax in it.

Chroma (embedded, or a Chroma server) is the one backend today (`index.store.chroma`); another
vector database goes beside it, implements `VectorStore` and must pass the contract suite in
`tests/index/store/test_contract.py`. Nothing outside this package imports chromadb or writes
a backend's filter syntax: callers describe a restriction as a `ChunkFilter`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from index.records import Chunk, Hit
    from index.store.chroma import IndexedArticle
    from index.store.lexical import ChunkRow


@dataclass(frozen=True)
class ChunkFilter:
    """A restriction on chunks, in the store's own terms: dates as YYYYMMDD numbers."""

    article_ids: tuple[str, ...] = ()
    day_from: int | None = None  # inclusive
    day_to: int | None = None  # inclusive
    sources: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()


class VectorStore(Protocol):
    """Chunks with their vectors and metadata; the bookkeeping is read back from the chunks."""

    cache_dir: Path | None  # where derived indexes (BM25, near-duplicates) are kept

    @property
    def model_info(self) -> dict[str, Any] | None: ...

    def check_model(self, model: str, fingerprint: str) -> None: ...

    def prepare(self, model: str, fingerprint: str, dimension: int) -> None: ...

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

    def articles(self) -> dict[str, IndexedArticle]: ...

    def chunk_rows(self) -> list[ChunkRow]: ...

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
