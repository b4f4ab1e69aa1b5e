"""The lexical (BM25) side of retrieval, derived from the chunks in the store and cached beside it.

Chroma stays the only source of truth. The cache holds each chunk's terms and the columns that
filters need, stamped with a version of the store's content (a hash of chunk ids, article content
hashes and paragraph ranges). Whoever opens it compares that stamp with the store: a match is
used as is; otherwise only chunks that are new or changed are re-read and re-tokenized, gone ones
are dropped, and the file is replaced atomically. A crash can therefore only leave a stale cache,
which the next open repairs.

Opening fast (issue 14): on a 12,643-chunk store, reading every chunk's metadata for the stamp
took 1.5 s, reading the json.gz 0.4 s, rebuilding BM25 from the terms 1.8 s and importing bm25s
0.4 s. So a second file, `*-lexical.npz`, keeps the built BM25 matrices, the terms as ids and the
columns as plain arrays (no rebuild, no bm25s import: scoring is bm25s's own sum, done here). It
is only an accelerator of the json.gz: it records the json.gz's inode, size and mtime and is
ignored when they differ (an older Kabar, which knows only the json.gz, rewrote it; or a crash
fell between the two writes). It also records the store's generation marker and chunk count as
they were read before the store's content was checked: when both are unchanged on the next open,
no Kabar writer (they bump the marker after every write) has written since, and the metadata read
is skipped. A Chroma server has no marker: there the stamp is always checked. Opening then took
0.10 s instead of 2.4 s (bench/lexical_open.py). Missed only: an older Kabar that changed chunks
without changing their number and stopped before rewriting the json.gz, until any current Kabar
writes (the marker moves) or the .npz is deleted.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import math
import os
import zipfile
from collections import Counter
from collections.abc import Collection, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Self

import numpy as np

from index.atomic import atomic_binary
from index.store.generation import Generation
from index.store.protocol import ChunkRow, VectorStore
from index.store.tokenize import Tokenizer

log = logging.getLogger(__name__)

FORMAT = 2  # 2: terms include the headline
ARRAYS_FORMAT = 1  # of the .npz beside it
_COLUMNS = ("chunk_id", "stamp", "article_id", "lang", "source")
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)
# Exact search multiplies the vectors of the rows a filter passes. Gathering them is what costs:
# at 200k chunks, copying out the 178k rows of source=detik.com took 76 ms and multiplying them
# 19 ms, multiplying all 200k rows in place 20 ms. Past this share, all rows are multiplied.
GATHER_SHARE = 0.2


def content_version(rows: Sequence[ChunkRow]) -> str:
    """One hash of the store's content, independent of the order Chroma returns chunks in."""
    digest = hashlib.sha256()
    for chunk_id, stamp in sorted((r.chunk_id, r.stamp) for r in rows):
        digest.update(f"{chunk_id}\0{stamp}\n".encode())
    return digest.hexdigest()[:32]


class Codes:
    """A text column (a chunk's language, its source) as integer codes: filters compare small
    integers, not strings; `np.isin` over 200k strings took 15 ms, over their codes under 1 ms."""

    def __init__(self, values: Sequence[str]) -> None:
        self.code: dict[str, int] = {}
        self.codes = np.fromiter(
            (self.code.setdefault(v, len(self.code)) for v in values), np.int32, len(values)
        )

    def isin(self, values: Collection[str]) -> np.ndarray:
        """Boolean mask of the rows holding one of `values`."""
        return np.isin(self.codes, [self.code[v] for v in values if v in self.code])


class LexicalIndex:
    """BM25 over chunk terms, with per-chunk columns (position-aligned) for filters and fusion.

    The BM25 part is bm25s's eager index: a (term x chunk) score matrix in CSC arrays, a query's
    scores being the sum of its terms' columns. Terms are kept as ids into that vocabulary; the
    lists of strings are only made when asked for (`terms`).
    """

    def __init__(
        self, rows: Sequence[ChunkRow], terms: Sequence[list[str]], tokenizer: Tokenizer
    ) -> None:
        self._columns(list(rows), tokenizer, content_version(rows))
        self._terms: list[list[str]] | None = list(terms)
        self._build()

    def _columns(self, rows: list[ChunkRow], tokenizer: Tokenizer, version: str) -> None:
        # Unit vectors of the chunks, position-aligned (see `LexicalCache` for why), once known.
        self.vectors: np.ndarray | None = None
        self.rows = rows
        self.tokenizer = tokenizer
        self.version = version
        self.position = {row.chunk_id: i for i, row in enumerate(self.rows)}
        self.day = np.array([r.day for r in self.rows], dtype=np.int64)
        self.lang = Codes([r.lang or "" for r in self.rows])
        self.source = Codes([r.source or "" for r in self.rows])

    def _build(self) -> None:
        import bm25s

        assert self._terms is not None
        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG
        bm25 = bm25s.BM25()
        vocab_ids: dict[str, int] = {}
        if self.rows:
            # An empty term list still needs a slot, so positions stay aligned with rows.
            bm25.index([t or [""] for t in self._terms], show_progress=False)
            scores = bm25.scores
            data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
            # bm25s adds "" to the vocabulary after building, without a column: leave it out.
            columns = len(indptr) - 1
            vocab_ids = {t: i for t, i in bm25.vocab_dict.items() if i < columns}
        else:
            data = np.zeros(0, np.float32)
            indices = np.zeros(0, np.int32)
            indptr = np.zeros(1, np.int64)
        vocab = [""] * len(vocab_ids)
        for term, i in vocab_ids.items():
            vocab[i] = term
        self.vocab = vocab
        self._vocab_ids = vocab_ids
        self._data, self._indices, self._indptr = data, indices, indptr
        flat = [vocab_ids[t] for terms in self._terms for t in terms]
        self._term_ids = np.array(flat, dtype=np.int32)
        self._offsets = np.zeros(len(self._terms) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in self._terms], out=self._offsets[1:])

    @classmethod
    def _restore(cls, arrays: dict[str, np.ndarray], tokenizer: Tokenizer, version: str) -> Self:
        """The index as `_arrays` saved it, with nothing rebuilt."""
        index = cls.__new__(cls)
        columns = {name: _unpack(arrays[name]) for name in _COLUMNS}
        rows = list(
            map(
                ChunkRow,
                columns["chunk_id"],
                columns["stamp"],
                columns["article_id"],
                [x or None for x in columns["lang"]],
                [x or None for x in columns["source"]],
                arrays["day"].tolist(),
            )
        )
        index._columns(rows, tokenizer, version)
        index._terms = None
        index.vocab = _unpack(arrays["vocab"])
        index._vocab_ids = {term: i for i, term in enumerate(index.vocab)}
        index._data, index._indices = arrays["data"], arrays["indices"]
        index._indptr, index._term_ids = arrays["indptr"], arrays["term_ids"]
        index._offsets = arrays["offsets"]
        n, terms = len(rows), len(index.vocab)
        if not (
            all(len(column) == n for column in columns.values())
            and len(arrays["day"]) == n
            and len(index._offsets) == n + 1
            and index._offsets[-1] == len(index._term_ids)
            and len(index._indptr) == terms + 1
            and index._indptr[-1] == len(index._data) == len(index._indices)
            and int(index._indices.max(initial=0)) < max(n, 1)
            and int(index._term_ids.max(initial=0)) < max(terms, 1)
        ):
            raise ValueError("the arrays do not fit together")
        return index

    def _arrays(self) -> dict[str, Any]:
        """Everything `_restore` needs, as plain arrays (no pickles)."""
        columns = {name: _pack([getattr(r, name) or "" for r in self.rows]) for name in _COLUMNS}
        return {
            **columns,
            "day": self.day,
            "vocab": _pack(self.vocab),
            "data": self._data,
            "indices": self._indices,
            "indptr": self._indptr,
            "term_ids": self._term_ids,
            "offsets": self._offsets,
        }

    def __len__(self) -> int:
        return len(self.rows)

    def newest_year(self) -> int | None:
        """The year of the newest dated chunk; None when no chunk has a date."""
        newest = int(self.day.max()) if len(self.day) else 0
        return newest // 10000 or None

    @cached_property
    def layout(self) -> str:
        """A hash of the rows in position order: what a vector file must match to be aligned."""
        digest = hashlib.sha256()
        digest.update("\n".join(f"{r.chunk_id}\0{r.stamp}" for r in self.rows).encode())
        return digest.hexdigest()[:16]

    def nearest(self, vector: np.ndarray, n: int, mask: np.ndarray) -> list[tuple[int, float]]:
        """Positions and cosine similarities of the `n` chunks in `mask` nearest to `vector`,
        by exact search over the vector copy (which must be attached)."""
        if self.vectors is None:
            raise ValueError("no vectors attached to this lexical index")
        rows = np.flatnonzero(mask)
        n = min(n, len(rows))
        if n < 1:
            return []
        query = np.asarray(vector, dtype=np.float32)
        unit = query / np.linalg.norm(query)
        if len(rows) > GATHER_SHARE * len(mask):
            sims = np.asarray(self.vectors @ unit, dtype=np.float32)[rows]
        else:
            sims = np.asarray(self.vectors[rows] @ unit, dtype=np.float32)
        top = np.argpartition(-sims, n - 1)[:n]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(rows[i]), float(sims[i])) for i in top]

    @property
    def terms(self) -> list[list[str]]:
        """Each chunk's terms, in position order (made from the ids on first use)."""
        if self._terms is None:
            vocab, ids, offsets = self.vocab, self._term_ids.tolist(), self._offsets.tolist()
            self._terms = [
                [vocab[i] for i in ids[offsets[p] : offsets[p + 1]]] for p in range(len(self.rows))
            ]
        return self._terms

    def _terms_at(self, position: int) -> list[str]:
        if self._terms is not None:
            return self._terms[position]
        start, end = int(self._offsets[position]), int(self._offsets[position + 1])
        return [self.vocab[i] for i in self._term_ids[start:end].tolist()]

    @cached_property
    def _idf(self) -> dict[str, float]:
        """Inverse document frequency of every term (BM25's form), built on first use."""
        n = len(self.rows)
        if self._terms is not None:
            df: Counter[str] = Counter(term for terms in self._terms for term in set(terms))
            counts = list(df.items())
        else:  # the chunks each term id occurs in, from the ids (no strings per chunk)
            size = max(len(self.vocab), 1)
            chunk = np.repeat(np.arange(n, dtype=np.int64), np.diff(self._offsets))
            pairs = np.unique(chunk * size + self._term_ids)
            per_term = np.bincount(pairs % size, minlength=len(self.vocab)).tolist()
            counts = [(self.vocab[t], f) for t, f in enumerate(per_term) if f]
        return {term: math.log((n - f + 0.5) / (f + 0.5) + 1) for term, f in counts}

    def distinctive(
        self, positions: Sequence[int], count: int, exclude: Collection[str] = ()
    ) -> list[str]:
        """The `count` terms that best characterise these chunks against the whole index: a
        term scores its idf once per chunk it occurs in, so terms that several of the chunks
        share and few others have come first (pseudo-relevance feedback, see the searcher).
        Terms are visited in text order, not as a set: ties keep that order, so the feedback
        terms, and the search results, are the same in every process (a set's order follows
        the per-process string hash seed; 8 of 100 English FacQA questions got other results
        in a fresh process)."""
        idf = self._idf
        scores: dict[str, float] = {}
        for position in positions:
            for term in dict.fromkeys(self._terms_at(position)):
                if term not in exclude and not term.isdigit():
                    scores[term] = scores.get(term, 0.0) + idf[term]
        return sorted(scores, key=scores.__getitem__, reverse=True)[:count]

    def _gather(self, positions: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The term ids of the chunks at `positions`, concatenated; for each, the index into
        `positions` of its chunk; and each chunk's number of terms."""
        rows = np.asarray(positions, dtype=np.int64)
        starts = self._offsets[rows]
        lengths = self._offsets[rows + 1] - starts
        owner = np.repeat(np.arange(len(rows)), lengths)
        before = np.repeat(np.cumsum(lengths) - lengths, lengths)
        ids = self._term_ids[np.repeat(starts, lengths) + np.arange(len(owner)) - before]
        return ids, owner, lengths

    def held(self, positions: Sequence[int], terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Which of `terms` each chunk at `positions` holds (a chunks x terms boolean matrix),
        and each chunk's number of terms; from the term ids, without making strings."""
        ids, owner, lengths = self._gather(positions)
        held = np.zeros((len(positions), len(terms)), dtype=bool)
        for j, term in enumerate(terms):
            i = self._vocab_ids.get(term)
            if i is not None:
                held[owner[ids == i], j] = True
        return held, lengths

    @cached_property
    def _numeric(self) -> np.ndarray:
        """For each term id: does the term hold a decimal digit (a number, year or code)?"""
        return np.array([any(c.isdecimal() for c in t) for t in self.vocab], dtype=bool)

    def numbers(self, positions: Sequence[int], exclude: Collection[str] = ()) -> np.ndarray:
        """How many terms holding a digit each chunk at `positions` has, leaving out `exclude`
        (the question's own numbers: a chunk that repeats them holds no new one)."""
        ids, owner, _ = self._gather(positions)
        found = self._numeric[ids]
        known = [self._vocab_ids[t] for t in exclude if t in self._vocab_ids]
        if known:
            found &= ~np.isin(ids, known)
        return np.bincount(owner[found], minlength=len(positions))

    def idf(self, term: str) -> float:
        """A term's inverse document frequency (0 for a term no chunk holds)."""
        return self._idf.get(term, 0.0)

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
            mask &= self.source.isin(sources)
        if langs:
            mask &= self.lang.isin(langs)
        return mask

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk: bm25s's `get_scores`, term by term in the same order and
        float32 arithmetic, so the sums are bit for bit the same (tests compare)."""
        scores = np.zeros(len(self.rows), dtype=self._data.dtype)
        for term in terms:
            i = self._vocab_ids.get(term)
            if i is not None:
                start, end = self._indptr[i], self._indptr[i + 1]
                np.add.at(scores, self._indices[start:end], self._data[start:end])
        return scores

    def search(
        self, terms: Sequence[str], n: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Positions and BM25 scores of the best `n` chunks with a positive score."""
        if not self.rows or not terms or n < 1:
            return []
        scores = np.asarray(self.scores(terms), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


class LexicalCache:
    """Keeps a `LexicalIndex` in step with a store, persisted beside it (or only in memory): the
    json.gz (rows and terms, what older Kabar versions read too) and the .npz that opens fast."""

    def __init__(self, path: Path | None, tokenizer: Tokenizer | None = None) -> None:
        self.path = path
        self.arrays = path.with_name(path.name.removesuffix(".json.gz") + ".npz") if path else None
        self.tokenizer = tokenizer or Tokenizer()
        self.last_tokenized = 0  # chunks the last `sync` had to tokenize (0: all reused)
        self.last_checked = False  # the last `sync` read the store's metadata (no fast path)

    @classmethod
    def for_store(cls, store: VectorStore, tokenizer: Tokenizer | None = None) -> LexicalCache:
        """The cache file beside the store (none for a store opened without a cache folder)."""
        path = store.cache_dir / f"{store.name}-lexical.json.gz" if store.cache_dir else None
        return cls(path, tokenizer)

    def exists(self) -> bool:
        return self.path is not None and self.path.exists()

    def sync(self, store: VectorStore) -> LexicalIndex:
        """The index for the store's current content, updating the cache files when stale, with
        its vector copy attached (read from the file, or made from the store)."""
        # The marker is read before anything of the store, and writers bump it after writing:
        # the content read below is at least as new as the marker recorded with it.
        marker = _marker(store)
        self.last_tokenized = 0
        self.last_checked = False
        source = self._source()  # before reading: a json.gz replaced meanwhile then fits nothing
        fast = self._read_arrays(source)
        if fast is not None and marker and fast[1] == (marker, store.count()):
            self._attach_vectors(fast[0], store, None)
            return fast[0]
        self.last_checked = True
        rows = store.chunk_rows()
        version = content_version(rows)
        cached = fast[0] if fast is not None else self._read()
        if cached is not None and cached.version == version:
            if fast is None or fast[1] != (marker, len(rows)):  # the next open can be fast
                self._write_arrays(cached, marker, len(rows), source)
            self._attach_vectors(cached, store, None)
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
        # The vector copy first: readers reload when the json.gz changes, and find it then.
        self._attach_vectors(index, store, cached)
        self._write_arrays(index, marker, len(rows), self._write(index))
        return index

    def stamp(self) -> float | None:
        """Modification time of the cache file: a cheap way to notice another process's update."""
        try:
            return self.path.stat().st_mtime if self.path else None
        except OSError:
            return None

    def load(self) -> LexicalIndex | None:
        """The cached index as written, without checking it against the store (with its vector
        copy when the file for it is there)."""
        fast = self._read_arrays(self._source())
        index = fast[0] if fast is not None else self._read()
        if index is not None:
            index.vectors = self._read_vectors(index)
        return index

    # The vector copy. Filtered dense search asks the vector index for the nearest chunks and
    # keeps those that pass; when few pass near the question (a language other than the
    # question's), Chroma had to search among the eligible ids, which took 167 ms for 60k ids
    # at 200k chunks. Exact search over a copy of their vectors took about 30 ms and loses
    # nothing. The copy is a .npy beside the lexical files, named after the rows it is aligned
    # with (`LexicalIndex.layout`) and memory-mapped, so only the rows a filter reads are
    # loaded; it is made from the previous copy and the store's vectors for new chunks.

    def _vectors_file(self, index: LexicalIndex) -> Path | None:
        if self.path is None:
            return None
        stem = self.path.name.removesuffix("-lexical.json.gz")
        return self.path.with_name(f"{stem}-vectors-{index.layout}.npy")

    def _read_vectors(self, index: LexicalIndex) -> np.ndarray | None:
        path = self._vectors_file(index)
        if path is None or not path.exists():
            return None
        try:
            vectors = np.load(path, mmap_mode="r", allow_pickle=False)
        except _UNREADABLE as exc:
            log.warning("ignoring unreadable vector copy %s (%s)", path, exc)
            return None
        if vectors.ndim != 2 or len(vectors) != len(index) or vectors.dtype != np.float32:
            log.warning("ignoring vector copy %s: it does not fit the index", path)
            return None
        return vectors

    def _attach_vectors(
        self, index: LexicalIndex, store: VectorStore, previous: LexicalIndex | None
    ) -> None:
        """Attach the vector copy to `index`: the file for its rows, else made and written."""
        index.vectors = self._read_vectors(index)
        if index.vectors is not None or not index.rows:
            return
        if previous is not None and previous.vectors is None:
            previous.vectors = self._read_vectors(previous)
        vectors = _gather_vectors(index, store, previous)
        if vectors is None:
            return
        index.vectors = vectors
        path = self._vectors_file(index)
        if path is None:
            return
        try:
            with atomic_binary(path) as fh:
                np.save(fh, vectors, allow_pickle=False)
        except OSError as exc:  # only an accelerator, like the .npz
            log.warning("could not write the vector copy %s (%s)", path, exc)
            return
        for old in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*.npy"):
            if old != path:  # readers that mapped it keep their mapping
                old.unlink(missing_ok=True)

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

    def _write(self, index: LexicalIndex) -> list[int] | None:
        """Replace the json.gz; the identity of the file written (see `_source`)."""
        if self.path is None:
            return None
        payload = {
            "format": FORMAT,
            "tokenizer": self.tokenizer.name,
            "version": index.version,
            "rows": [
                [r.chunk_id, r.stamp, r.article_id, r.lang, r.source, r.day] for r in index.rows
            ],
            "terms": index.terms,
        }
        with atomic_binary(self.path) as raw:
            with gzip.open(raw, "wt", encoding="utf-8") as fh:
                json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))
            raw.flush()
            # The renamed file keeps inode, size and mtime: this names exactly what we wrote,
            # even if another process replaces it before the .npz is written.
            st = os.fstat(raw.fileno())
        return [st.st_ino, st.st_size, st.st_mtime_ns]

    def _source(self) -> list[int] | None:
        """Identity of the json.gz as it is now: the .npz describes that file or none."""
        try:
            st = self.path.stat() if self.path else None
        except OSError:
            return None
        return None if st is None else [st.st_ino, st.st_size, st.st_mtime_ns]

    def _read_arrays(self, source: list[int] | None) -> tuple[LexicalIndex, tuple[str, int]] | None:
        """The index from the .npz with the marker and count it was checked at, when the .npz
        describes this json.gz (`source`) and these rules; else None (the json.gz is read)."""
        if self.arrays is None or source is None or not self.arrays.exists():
            return None
        try:
            with np.load(self.arrays, allow_pickle=False) as npz:
                meta = json.loads(str(npz["meta"]))
                if (
                    meta.get("format") != ARRAYS_FORMAT
                    or meta.get("tokenizer") != self.tokenizer.name
                    or meta.get("source") != source
                ):
                    return None
                arrays = {name: npz[name] for name in npz.files if name != "meta"}
            index = LexicalIndex._restore(arrays, self.tokenizer, str(meta["version"]))
            return index, (str(meta["marker"]), int(meta["count"]))
        except _UNREADABLE as exc:
            log.warning("ignoring unreadable lexical arrays %s (%s)", self.arrays, exc)
            return None

    def _write_arrays(
        self, index: LexicalIndex, marker: str, count: int, source: list[int] | None
    ) -> None:
        if self.arrays is None or source is None:
            return
        meta = {
            "format": ARRAYS_FORMAT,
            "tokenizer": self.tokenizer.name,
            "version": index.version,
            "source": source,
            "marker": marker,
            "count": count,
        }
        try:
            with atomic_binary(self.arrays) as fh:
                np.savez(fh, meta=np.array(json.dumps(meta)), **index._arrays())
        except OSError as exc:  # only an accelerator: opening stays correct, just slower
            log.warning("could not write the lexical arrays %s (%s)", self.arrays, exc)


def _gather_vectors(
    index: LexicalIndex, store: VectorStore, previous: LexicalIndex | None
) -> np.ndarray | None:
    """Unit vectors for the index's rows: the previous copy's where a chunk is unchanged, the
    store's for the rest. None when the store no longer holds one of them (a writer removed it
    meanwhile: the next sync tries again)."""
    old = previous.vectors if previous is not None else None
    known: dict[tuple[str, str], int] = {}
    if previous is not None and old is not None:
        known = {(r.chunk_id, r.stamp): i for i, r in enumerate(previous.rows)}
    into: list[int] = []
    source: list[int] = []
    missing: list[int] = []
    for i, row in enumerate(index.rows):
        j = known.get((row.chunk_id, row.stamp))
        if j is None:
            missing.append(i)
        else:
            into.append(i)
            source.append(j)
    ids, fetched = (
        store.vectors([index.rows[i].chunk_id for i in missing]) if missing else ([], None)
    )
    if len(ids) != len(missing):
        return None
    parts = [m for m in (fetched, old) if m is not None and m.ndim == 2]
    if not parts:
        return None
    vectors = np.empty((len(index.rows), parts[0].shape[1]), dtype=np.float32)
    if old is not None and into:
        vectors[np.array(into, dtype=np.int64)] = old[np.array(source, dtype=np.int64)]
    if fetched is not None and missing:
        at = {cid: j for j, cid in enumerate(ids)}
        fresh = np.asarray(fetched, dtype=np.float32)[[at[index.rows[i].chunk_id] for i in missing]]
        norms = np.linalg.norm(fresh, axis=1, keepdims=True)
        vectors[np.array(missing, dtype=np.int64)] = fresh / np.where(norms > 0, norms, 1.0)
    return vectors


def _marker(store: VectorStore) -> str:
    """The store's generation marker ("" for a Chroma server, or a store no Kabar that keeps
    one has written yet: then there is no fast path)."""
    generation = getattr(store, "generation", None)
    return generation.read() if isinstance(generation, Generation) else ""


def _pack(strings: list[str]) -> np.ndarray:
    """Strings as the bytes of a JSON list: a quarter of numpy's fixed-width UTF-32 arrays (30
    MB for this store's arrays against 10), and any character survives."""
    return np.frombuffer(json.dumps(strings, ensure_ascii=False).encode(), dtype=np.uint8)


def _unpack(packed: np.ndarray) -> list[str]:
    strings = json.loads(packed.tobytes().decode())
    if not isinstance(strings, list):
        raise ValueError("not a list of strings")
    return [str(x) for x in strings]
