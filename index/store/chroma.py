"""Chroma storage of chunks, and the per-article bookkeeping derived from the chunks themselves.

Every chunk records its article's content hash and how many chunks the article has. An article
counts as indexed only when all its chunks agree on both, so an interrupted write can never
leave an article that looks done: the next run sees the disagreement and writes it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.after_import import after_import
from index.chunking import embedding_text
from index.records import Chunk, Hit
from index.settings import StoreSettings
from index.store import migration
from index.store.generation import Generation
from index.store.paths import cache_folder
from index.store.protocol import (
    ChunkFilter,
    ChunkRow,
    EmptyStoreError,
    IndexedArticle,
    ModelMismatchError,
)

log = logging.getLogger(__name__)

SCHEMA = 1
MAX_BATCH = 5000  # Chroma refuses batches over 5461 records

# The vector index every collection is created with. Chroma's defaults (16/100/100) returned
# 0.88 of the exact top 10 for real e5 questions; see bench/vector_exactness.py for the measured
# choice. Older stores are moved to these settings by the next indexer run (`upgrade`).
HNSW: dict[str, Any] = {
    "space": "cosine",
    "max_neighbors": 48,
    "ef_construction": 400,
    "ef_search": 400,
}


def _mark_only(method: Any = None, **_checks: bool) -> Any:
    """`overrides.override` without its checks: it only sets the flag `EnforceOverrides` reads.

    Chroma decorates about 160 methods with `@override`, which inspects the caller's frame and
    compares signatures with the base class as each class is defined: 0.25 s of the 0.75 s
    `import chromadb` (measured, idle machine), paid by every `kabar search`. The checks guard
    Chroma's own development; our process never defines a class against them.
    """
    if method is None:
        return _mark_only
    method.__override__ = True
    return method


def _skip_override_checks(module: Any) -> None:
    module.override = module.overrides = _mark_only


def open_client(settings: StoreSettings) -> Any:
    """An embedded PersistentClient, or an HttpClient when a Chroma server is configured.

    The embedded store is always opened anew (about 15 ms): Chroma would otherwise hand back the
    client it already has for that folder, with the vector index it loaded then, which misses
    other processes' writes (see `index.store.generation`). Clients already open keep working.
    """
    after_import("overrides", _skip_override_checks)  # before Chroma's first import
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    if not settings.server_mode:
        SharedSystemClient.clear_system_cache()
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.server_mode:
        return chromadb.HttpClient(
            host=settings.chroma_host or "127.0.0.1",
            port=settings.chroma_port,
            settings=chroma_settings,
        )
    settings.store.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.store), settings=chroma_settings)


def _metadata(chunk: Chunk, content_hash: str, n_chunks: int, path: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": chunk.article_id,
        "ordinal": chunk.ordinal,
        "n_chunks": n_chunks,
        "content_hash": content_hash,
        "title": chunk.title,
        "p_first": chunk.first_paragraph,
        "p_last": chunk.last_paragraph,
    }
    optional = {
        "published": chunk.published,
        "source": chunk.source,
        "url": chunk.url,
        "lang": chunk.lang,
        "path": path,
    }
    meta.update({k: v for k, v in optional.items() if v})
    if chunk.published:
        # Chroma compares numbers only: YYYYMMDD makes date ranges a numeric filter.
        meta["day"] = int(chunk.published[:10].replace("-", ""))
    return meta


def hit_from_record(chunk_id: str, document: str, meta: dict[str, Any], score: float) -> Hit:
    return Hit(
        chunk_id=chunk_id,
        article_id=str(meta["article_id"]),
        title=str(meta.get("title", "")),
        url=meta.get("url"),
        published=meta.get("published"),
        source=meta.get("source"),
        lang=meta.get("lang"),
        paragraphs=(int(meta["p_first"]), int(meta["p_last"])),
        text=document,
        score=score,
    )


class Store:
    """One Kabar index in Chroma: a chunk collection stamped with the model that embedded it."""

    def __init__(
        self,
        client: Any,
        name: str = "kabar",
        cache_dir: Path | None = None,
        generation: Generation | None = None,
        reopen: Callable[[], Any] | None = None,
    ) -> None:
        self.client = client
        self.name = f"{name}-chunks"
        self.cache_dir = cache_dir  # None: derived indexes are kept in memory only
        self.generation = generation  # embedded stores: notices other processes' writes
        self._reopen = reopen
        self._reopening = threading.Lock()
        self._collection: Any = None
        self._hinted = False  # the upgrade hint is logged once per store
        # Seen to hold chunks since the last write or reopen: Chroma's count() took 24 ms at
        # 200k chunks, and every search asked it twice (half of a filtered search's time).
        self._nonempty = False

    @classmethod
    def open(cls, settings: StoreSettings) -> Store:
        if settings.server_mode:
            return cls(open_client(settings), settings.collection, cache_folder(settings))
        # The marker is read before the client opens, so no write can fall between the two.
        generation = Generation(settings.store / f".{settings.collection}-generation")
        return cls(
            open_client(settings),
            settings.collection,
            cache_folder(settings),
            generation,
            lambda: open_client(settings),
        )

    def _refresh(self) -> None:
        """Reopen the client when another process wrote since we last looked."""
        if self.generation is None or self._reopen is None:
            return
        with self._reopening:
            if self.generation.changed():
                log.info("the store changed in another process: reopening it")
                self.client = self._reopen()
                self._collection = None
                self._nonempty = False

    def _wrote(self) -> None:
        self._nonempty = False  # a delete may have emptied it
        if self.generation is not None:
            self.generation.bump()

    def _existing(self) -> Any:
        self._refresh()
        if self._collection is None:
            # No collection by the store's name: a vector index upgrade was stopped between
            # its two renames, and the old collection (complete) goes by NAME-prev.
            found = migration.get(self.client, self.name) or migration.get(
                self.client, self.name + migration.PREV
            )
            if found is None:
                return None
            if not self._hinted and migration.outdated(found, HNSW):
                self._hinted = True
                log.warning(
                    "this store's vector index was built with older settings that miss some "
                    "nearest chunks; the next `kabar index` upgrades it (nothing is embedded again)"
                )
            self._collection = found
        return self._collection

    def upgrade(self) -> bool:
        """Move the chunks to a collection with the current `HNSW` settings if the store was
        created with others, or finish such a move a stopped run began; True when they moved.
        Call under the writer lock (the indexer does, before anything else)."""
        self._refresh()
        moved = migration.upgrade(self.client, self.name, HNSW, self._wrote)
        self._collection = None
        return moved

    @property
    def model_info(self) -> dict[str, Any] | None:
        """The model name, fingerprint and dimension that built this store, if anything did."""
        collection = self._existing()
        if collection is None:
            return None
        meta = dict(collection.metadata or {})
        if "kabar_model" not in meta:
            return None
        return {
            "model": meta["kabar_model"],
            "fingerprint": meta["kabar_fingerprint"],
            "dimension": meta.get("kabar_dimension"),
        }

    def check_model(self, model: str, fingerprint: str) -> None:
        """Refuse to mix vectors from two models in one store."""
        info = self.model_info
        if info is None:
            return
        if (info["model"], info["fingerprint"]) != (model, fingerprint):
            raise ModelMismatchError(
                f"this store was built with model {info['model']!r} "
                f"(fingerprint {info['fingerprint']}), not {model!r} (fingerprint {fingerprint}); "
                "rebuild it with `kabar index --rebuild PATH...` or use another --store"
            )

    def prepare(self, model: str, fingerprint: str, dimension: int) -> None:
        """Create the chunk collection stamped with the model on first write; refuse another."""
        self._writable(model, fingerprint, dimension)

    def _writable(self, model: str, fingerprint: str, dimension: int) -> Any:
        self.check_model(model, fingerprint)
        collection = self._existing()
        if collection is None:
            collection = self.client.get_or_create_collection(
                self.name,
                embedding_function=None,
                configuration={"hnsw": dict(HNSW)},
                metadata={
                    "kabar_schema": SCHEMA,
                    "kabar_model": model,
                    "kabar_fingerprint": fingerprint,
                    "kabar_dimension": dimension,
                },
            )
            self._collection = collection
            self._wrote()
        return collection

    def drop(self) -> None:
        """Delete every chunk and the model stamp (used by --rebuild)."""
        dropped = [
            migration.drop(self.client, self.name + suffix)
            for suffix in ("", migration.NEXT, migration.PREV)
        ]
        if any(dropped):
            self._wrote()
        self._collection = None

    def count(self) -> int:
        collection = self._existing()
        return 0 if collection is None else int(collection.count())

    def _pages(
        self, include: list[str], ids: Sequence[str] | None = None
    ) -> Iterable[dict[str, Any]]:
        """Every chunk, or those of `ids` that exist, a batch Chroma accepts at a time."""
        collection = self._existing()
        if collection is None:
            return
        if ids is not None:
            for start in range(0, len(ids), MAX_BATCH):
                yield collection.get(ids=list(ids[start : start + MAX_BATCH]), include=include)
            return
        total = collection.count()
        for offset in range(0, total, MAX_BATCH):
            yield collection.get(include=include, limit=MAX_BATCH, offset=offset)

    def chunk_rows(self) -> list[ChunkRow]:
        """Every chunk's identity and filter columns, read from metadata (no documents)."""
        return [
            ChunkRow.from_metadata(chunk_id, meta)
            for page in self._pages(["metadatas"])
            for chunk_id, meta in zip(page["ids"], page["metadatas"], strict=True)
        ]

    def vectors(self, ids: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
        """Chunk ids with their stored vectors (one row each), for every chunk or for those of
        `ids` that exist: for exact search (`index.store.exactness`, the lexical index's copy)."""
        found: list[str] = []
        rows: list[np.ndarray] = []
        for page in self._pages(["embeddings"], ids):
            found.extend(page["ids"])
            if len(page["ids"]):
                rows.append(np.asarray(page["embeddings"], dtype=np.float32))
        return found, np.vstack(rows) if rows else np.zeros((0, 0), np.float32)

    def documents(self, ids: Sequence[str]) -> dict[str, str]:
        """What was embedded for these chunk ids (headline and text), for those that exist."""
        found: dict[str, str] = {}
        for page in self._pages(["documents", "metadatas"], ids):
            for chunk_id, doc, meta in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                found[chunk_id] = embedding_text(str(meta.get("title") or ""), doc)
        return found

    def hits(self, ids: Sequence[str], vector: np.ndarray | None = None) -> dict[str, Hit]:
        """Hits for these chunk ids; scored by cosine similarity to `vector` when given, else 0."""
        collection = self._existing()
        if collection is None or not ids:
            return {}
        include = ["documents", "metadatas"] + (["embeddings"] if vector is not None else [])
        page = collection.get(ids=list(ids), include=include)
        embeddings = page.get("embeddings") if vector is not None else None
        found: dict[str, Hit] = {}
        for i, (chunk_id, doc, meta) in enumerate(
            zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        ):
            score = 0.0
            if vector is not None and embeddings is not None:
                score = float(np.dot(np.asarray(embeddings[i], dtype=np.float32), vector))
            found[chunk_id] = hit_from_record(chunk_id, doc, meta, score)
        return found

    def articles(self) -> dict[str, IndexedArticle]:
        """The bookkeeping, read from chunk metadata; inconsistent articles are flagged."""
        found: dict[str, IndexedArticle] = {}
        n_expected: dict[str, set[int]] = {}
        for page in self._pages(["metadatas"]):
            for chunk_id, meta in zip(page["ids"], page["metadatas"], strict=True):
                article_id = str(meta["article_id"])
                entry = found.get(article_id)
                if entry is None:
                    entry = found[article_id] = IndexedArticle(
                        article_id, str(meta["content_hash"]), meta.get("path") or None
                    )
                elif entry.content_hash != meta["content_hash"]:
                    entry.consistent = False
                entry.chunk_ids.append(chunk_id)
                n_expected.setdefault(article_id, set()).add(int(meta["n_chunks"]))
        for article_id, entry in found.items():
            counts = n_expected[article_id]
            if len(counts) != 1 or len(entry.chunk_ids) != next(iter(counts)):
                entry.consistent = False
        return found

    def write(
        self,
        items: Sequence[tuple[Sequence[Chunk], str, str | None]],
        vectors: np.ndarray,
        stale_ids: Iterable[str],
    ) -> None:
        """Upsert the chunks of several articles, then delete their chunks that no longer exist.

        Upsert before delete: a crash in between leaves extra chunks, which the next run sees
        as an inconsistent article and rewrites, never a hole. `prepare` comes first.
        """
        collection = self._existing()
        if collection is None:
            raise RuntimeError("write before prepare: the collection does not exist")
        ids: list[str] = []
        documents: list[str] = []
        metadatas: list[dict[str, Any]] = []
        for chunks, content_hash, path in items:
            for chunk in chunks:
                ids.append(chunk.id)
                documents.append(chunk.text)
                metadatas.append(_metadata(chunk, content_hash, len(chunks), path))
        for start in range(0, len(ids), MAX_BATCH):
            end = start + MAX_BATCH
            collection.upsert(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=documents[start:end],
                metadatas=metadatas[start:end],
            )
        if ids:
            self._wrote()
        self.delete_ids(set(stale_ids) - set(ids))

    def facets(self) -> dict[str, list[str]]:
        """Distinct sources and languages in the store, for filter choices in the UI."""
        sources: set[str] = set()
        langs: set[str] = set()
        for page in self._pages(["metadatas"]):
            for meta in page["metadatas"]:
                if meta.get("source"):
                    sources.add(str(meta["source"]))
                if meta.get("lang"):
                    langs.add(str(meta["lang"]))
        return {"sources": sorted(sources), "langs": sorted(langs)}

    def set_path(self, ids: Sequence[str], path: str | None) -> None:
        collection = self._existing()
        if collection is None or not ids:
            return
        for start in range(0, len(ids), MAX_BATCH):
            page = collection.get(ids=list(ids[start : start + MAX_BATCH]), include=["metadatas"])
            metas = [{**meta, "path": path or ""} for meta in page["metadatas"]]
            collection.update(ids=page["ids"], metadatas=metas)
        self._wrote()

    def delete_ids(self, ids: Iterable[str]) -> None:
        collection = self._existing()
        pending = sorted(ids)
        if collection is None or not pending:
            return
        for start in range(0, len(pending), MAX_BATCH):
            collection.delete(ids=pending[start : start + MAX_BATCH])
        self._wrote()

    def is_empty(self) -> bool:
        """Whether there is nothing to search (counted once until the next write or reopen)."""
        return self._holding() is None

    def _holding(self) -> Any:
        """The collection when it holds chunks, else None."""
        collection = self._existing()
        if collection is not None and not self._nonempty:
            self._nonempty = collection.count() > 0
        return collection if self._nonempty else None

    def _searchable(self) -> Any:
        """The collection, or a clear error when there is nothing to search yet."""
        collection = self._holding()
        if collection is None:
            raise EmptyStoreError("the store is empty: index some articles with `kabar index PATH`")
        return collection

    def _query(self, **request: Any) -> Any:
        """`collection.query`, asked once more of a fresh handle when the collection went away
        under us: another process upgraded the vector index (`upgrade`) or rebuilt the store."""
        try:
            return self._searchable().query(**request)
        except Exception as exc:
            from chromadb.errors import NotFoundError  # chromadb is loaded by now

            if not isinstance(exc, NotFoundError):
                raise
            self._collection = None
            self._nonempty = False
            return self._searchable().query(**request)

    def nearest(
        self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the nearest chunks (optionally among `ids`) without
        their text: several times cheaper than `query` when most candidates are discarded."""
        result = self._query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            ids=list(ids) if ids is not None else None,
            include=["distances"],
        )
        return [
            (chunk_id, 1.0 - float(dist))
            for chunk_id, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def query(
        self,
        vector: np.ndarray,
        k: int,
        where: ChunkFilter | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[Hit]:
        """Nearest chunks by cosine similarity (score = 1 - cosine distance), optionally only
        among chunks matching `where` or among the given `ids`."""
        result = self._query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=_where(where),
            ids=list(ids) if ids is not None else None,
            include=["documents", "metadatas", "distances"],
        )
        return [
            hit_from_record(chunk_id, doc, meta, 1.0 - float(dist))
            for chunk_id, doc, meta, dist in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            )
            # A chunk deleted by a writer between our last refresh and this query still comes
            # back from the in-memory vector index, without text or metadata: it is gone.
            if meta is not None and doc is not None
        ]


def _where(restriction: ChunkFilter | None) -> dict[str, Any] | None:
    """A backend-neutral filter in Chroma's `where` syntax (dates are YYYYMMDD numbers)."""
    if restriction is None:
        return None
    clauses: list[dict[str, Any]] = []
    if restriction.article_ids:
        clauses.append({"article_id": {"$in": list(restriction.article_ids)}})
    if restriction.day_from is not None:
        clauses.append({"day": {"$gte": restriction.day_from}})
    if restriction.day_to is not None:
        clauses.append({"day": {"$lte": restriction.day_to}})
    if restriction.sources:
        clauses.append({"source": {"$in": list(restriction.sources)}})
    if restriction.langs:
        clauses.append({"lang": {"$in": list(restriction.langs)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
