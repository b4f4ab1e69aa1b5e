"""The lexical (BM25) side of retrieval, derived from the chunks in the store and cached beside it.

Chroma stays the only source of truth. The cache holds each chunk's terms and the columns that
filters need, stamped with a version of the store's content (a hash of chunk ids, article content
hashes and paragraph ranges). Whoever opens it compares that stamp with the store: a match is
used as is; otherwise only chunks that are new or changed are re-read and re-tokenized, gone ones
are dropped, and the file is replaced atomically. A crash can therefore only leave a stale cache,
which the next open repairs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
from collections import Counter
from collections.abc import Collection, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index.atomic import atomic_binary
from index.store.protocol import ChunkRow, VectorStore
from index.store.tokenize import Tokenizer

log = logging.getLogger(__name__)

FORMAT = 2  # 2: terms include the headline


def content_version(rows: Sequence[ChunkRow]) -> str:
    """One hash of the store's content, independent of the order Chroma returns chunks in."""
    digest = hashlib.sha256()
    for chunk_id, stamp in sorted((r.chunk_id, r.stamp) for r in rows):
        digest.update(f"{chunk_id}\0{stamp}\n".encode())
    return digest.hexdigest()[:32]


class LexicalIndex:
    """BM25 over chunk terms, with per-chunk columns (position-aligned) for filters and fusion."""

    def __init__(
        self, rows: Sequence[ChunkRow], terms: Sequence[list[str]], tokenizer: Tokenizer
    ) -> None:
        self.rows = list(rows)
        self.terms = list(terms)
        self.tokenizer = tokenizer
        self.version = content_version(self.rows)
        self.position = {row.chunk_id: i for i, row in enumerate(self.rows)}
        self.day = np.array([r.day for r in self.rows], dtype=np.int64)
        self.lang = np.array([r.lang or "" for r in self.rows], dtype=object)
        self.source = np.array([r.source or "" for r in self.rows], dtype=object)
        self._bm25: Any = self._build() if self.rows else None

    def _build(self) -> Any:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG
        bm25 = bm25s.BM25()
        # An empty term list still needs a slot, so positions stay aligned with rows.
        bm25.index([t or [""] for t in self.terms], show_progress=False)
        return bm25

    def __len__(self) -> int:
        return len(self.rows)

    @cached_property
    def _idf(self) -> dict[str, float]:
        """Inverse document frequency of every term (BM25's form), built on first use."""
        df: Counter[str] = Counter(term for terms in self.terms for term in set(terms))
        n = len(self.terms)
        return {term: math.log((n - f + 0.5) / (f + 0.5) + 1) for term, f in df.items()}

    def distinctive(
        self, positions: Sequence[int], count: int, exclude: Collection[str] = ()
    ) -> list[str]:
        """The `count` terms that best characterise these chunks against the whole index: a
        term scores its idf once per chunk it occurs in, so terms that several of the chunks
        share and few others have come first (pseudo-relevance feedback, see the searcher)."""
        idf = self._idf
        scores: dict[str, float] = {}
        for position in positions:
            for term in set(self.terms[position]):
                if term not in exclude and not term.isdigit():
                    scores[term] = scores.get(term, 0.0) + idf[term]
        return sorted(scores, key=scores.__getitem__, reverse=True)[:count]

    def select(
        self,
        day_from: int | None = None,
        day_to: int | None = None,
        sources: Sequence[str] = (),
        langs: Sequence[str] = (),
    ) -> np.ndarray | None:
        """Boolean mask of chunks passing the filters, or None when nothing is filtered."""
        if day_from is None and day_to is None and not sources and not langs:
            return None
        mask = np.ones(len(self.rows), dtype=bool)
        if day_from is not None:
            mask &= self.day >= day_from
        if day_to is not None:
            mask &= (self.day <= day_to) & (self.day > 0)
        if sources:
            mask &= np.isin(self.source, list(sources))
        if langs:
            mask &= np.isin(self.lang, list(langs))
        return mask

    def search(
        self, terms: Sequence[str], n: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Positions and BM25 scores of the best `n` chunks with a positive score."""
        if self._bm25 is None or not terms or n < 1:
            return []
        scores = np.asarray(self._bm25.get_scores(list(terms)), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


class LexicalCache:
    """Keeps a `LexicalIndex` in step with a store, persisted in one file (or only in memory)."""

    def __init__(self, path: Path | None, tokenizer: Tokenizer | None = None) -> None:
        self.path = path
        self.tokenizer = tokenizer or Tokenizer()
        self.last_tokenized = 0  # chunks the last `sync` had to tokenize (0: all reused)

    @classmethod
    def for_store(cls, store: VectorStore, tokenizer: Tokenizer | None = None) -> LexicalCache:
        """The cache file beside the store (none for a store opened without a cache folder)."""
        path = store.cache_dir / f"{store.name}-lexical.json.gz" if store.cache_dir else None
        return cls(path, tokenizer)

    def exists(self) -> bool:
        return self.path is not None and self.path.exists()

    def sync(self, store: VectorStore) -> LexicalIndex:
        """The index for the store's current content, updating the cache file when stale."""
        rows = store.chunk_rows()
        version = content_version(rows)
        cached = self._read()
        self.last_tokenized = 0
        if cached is not None and cached.version == version:
            return cached
        known: dict[tuple[str, str], list[str]] = {}
        if cached is not None:
            known = {
                (r.chunk_id, r.stamp): t for r, t in zip(cached.rows, cached.terms, strict=True)
            }
        missing = [r for r in rows if (r.chunk_id, r.stamp) not in known]
        self.last_tokenized = len(missing)
        texts = store.documents([r.chunk_id for r in missing])
        fresh = self.tokenizer.many([texts[r.chunk_id] for r in missing], [r.lang for r in missing])
        known.update({(r.chunk_id, r.stamp): t for r, t in zip(missing, fresh, strict=True)})
        index = LexicalIndex(rows, [known[(r.chunk_id, r.stamp)] for r in rows], self.tokenizer)
        log.info(
            "lexical index: %d chunks, %d (re)tokenized, %d reused",
            len(rows),
            len(missing),
            len(rows) - len(missing),
        )
        self._write(index)
        return index

    def stamp(self) -> float | None:
        """Modification time of the cache file: a cheap way to notice another process's update."""
        try:
            return self.path.stat().st_mtime if self.path else None
        except OSError:
            return None

    def load(self) -> LexicalIndex | None:
        """The cached index as written, without checking it against the store."""
        return self._read()

    def _read(self) -> LexicalIndex | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            with gzip.open(self.path, "rt", encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("format") != FORMAT or data.get("tokenizer") != self.tokenizer.name:
                return None
            rows = [ChunkRow(*row) for row in data["rows"]]
            return LexicalIndex(rows, data["terms"], self.tokenizer)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable lexical cache %s (%s)", self.path, exc)
            return None

    def _write(self, index: LexicalIndex) -> None:
        if self.path is None:
            return
        payload = {
            "format": FORMAT,
            "tokenizer": self.tokenizer.name,
            "version": index.version,
            "rows": [
                [r.chunk_id, r.stamp, r.article_id, r.lang, r.source, r.day] for r in index.rows
            ],
            "terms": index.terms,
        }
        with atomic_binary(self.path) as raw, gzip.open(raw, "wt", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))
