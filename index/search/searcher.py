"""Paragraph search over a Kabar store: dense (Chroma), lexical (BM25) or both fused (default).

Filters apply inside retrieval on both sides, so the top k are all eligible hits. The lexical
index keeps every chunk's filter columns in memory, which makes filtering fast: the vector index
is asked for ids only (no texts), over-fetching in proportion to the share of chunks that pass
and dropping the rest here, or for a narrow filter asked for the eligible ids only. Chroma's
`where` (about 50 ms at 13k chunks here, against 2-20 ms for these) is not used. Texts are
fetched for the final top k only.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from index.embed.embedder import Embedder
from index.ingest.language import detect_lang
from index.records import Hit
from index.search.config import MODES, Filters, Mode, SearchConfig, day_number
from index.search.fusion import fuse
from index.search.learned import default_ranker, features
from index.search.lexicon import translate
from index.search.postprocess import (
    LATEST_FLOOR,
    LATEST_HALF_LIFE_DAYS,
    cap_per_article,
    decay,
    drop_shown,
    unit_ordinal,
    wants_latest,
)
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.dedupe import Duplicates
from index.store.lexical import LexicalCache, LexicalIndex
from index.store.protocol import EmptyStoreError

log = logging.getLogger(__name__)

# Filtered dense search compares the eligible chunks' vectors exactly when there are fewer than
# this many per id it would over-fetch from the vector index: at 200k chunks an exact pass cost
# about 0.5 us a chunk (60k: 31 ms) and the vector index about 10 us a result (3,000: 32 ms).
EXACT_PER_FETCHED = 20


@dataclass(frozen=True)
class Query:
    """A question prepared once: its language, terms and (unless BM25 only) its vector."""

    text: str
    lang: str
    terms: list[str]
    vector: np.ndarray | None


@dataclass
class Candidates:
    """What each side found for one question, before fusion."""

    dense: list[tuple[str, float]] = field(default_factory=list)  # (chunk id, cosine)
    lexical: list[tuple[str, float]] = field(default_factory=list)  # (chunk id, BM25)
    feedback: list[tuple[str, float]] = field(default_factory=list)  # (chunk id, BM25), expanded
    hits: dict[str, Hit] = field(default_factory=dict)  # candidates already fetched whole
    info: dict[str, tuple[str, str | None, int]] = field(default_factory=dict)  # article, lang, day


class Searcher:
    """Embeds the question, searches the vector and the lexical index, fuses and diversifies."""

    def __init__(
        self, store: Store, embedder: Embedder, config: SearchConfig | None = None
    ) -> None:
        store.check_model(embedder.name, embedder.fingerprint)
        self.store = store
        self.embedder = embedder
        self.config = config or SearchConfig()
        self.cache = LexicalCache.for_store(store)
        self._lexical: LexicalIndex | None = None
        self._lexical_stamp: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: StoreSettings, config: SearchConfig | None = None) -> Searcher:
        return cls(Store.open(settings), Embedder(settings.model, settings.model_cache), config)

    @property
    def lexical(self) -> LexicalIndex:
        """The lexical index, checked against the store on first use, then reloaded whenever
        an indexer run (in any process) rewrites the cache file."""
        with self._lock:
            stamp = self.cache.stamp()
            if self._lexical is None:
                self._lexical = self.cache.sync(self.store)
                self._lexical_stamp = self.cache.stamp()
            elif stamp is not None and stamp != self._lexical_stamp:
                self._lexical = self.cache.load() or self.cache.sync(self.store)
                self._lexical_stamp = self.cache.stamp()
            return self._lexical

    def prepare(self, texts: Sequence[str], mode: Mode | None = None) -> list[Query]:
        """Questions ready to search: one batched model call for all of them."""
        mode = mode or self.config.mode
        vectors = None
        if mode != "bm25" and len(texts) == 1:  # the interactive case: one-thread path
            vectors = self.embedder.embed_query(texts[0])[None, :]
        elif mode != "bm25":
            vectors = self.embedder.embed_queries(texts)
        tokenizer = self.cache.tokenizer
        queries = []
        for i, text in enumerate(texts):
            lang = detect_lang(text)
            queries.append(
                Query(
                    text=text,
                    lang=lang,
                    terms=tokenizer.tokens(text, lang) if mode != "dense" else [],
                    vector=vectors[i] if vectors is not None else None,
                )
            )
        return queries

    def within(
        self, query: Query, article_ids: Sequence[str], k: int, filters: Filters | None = None
    ) -> list[Hit]:
        """The chunks of these articles nearest to the question (dense; `similarity` set).

        Used to follow a conversation: the articles the previous question found are searched
        again for this one.
        """
        restriction = (filters or Filters()).for_store(article_ids)
        vector = query.vector  # a BM25-only searcher did not embed the question
        if vector is None:
            vector = self.embedder.embed_query(query.text)
        window = self.config.window
        found = self.store.query(vector, k * (2 * window + 1), where=restriction)
        if window:  # neighbours of a better unit are read with it: they take no place of their own
            article = {h.chunk_id: h.article_id for h in found}
            kept = {
                c
                for c, _ in drop_shown(
                    [(h.chunk_id, h.score) for h in found], article.__getitem__, window
                )
            }
            found = [h for h in found if h.chunk_id in kept]
        hits = [replace(h, similarity=h.score) for h in found[:k]]
        return self._widen(hits) if window else hits

    def to_json(self, hits: Sequence[Hit]) -> list[dict[str, Any]]:
        """Hits as `kabar search --json` and `GET /api/search` both return them: each with the
        other outlets' copies of its article (`alternates`)."""
        copies = Duplicates.for_store(self.store)
        return [
            {**hit.to_json(), "alternates": copies.citation_sources(hit.article_id)} for hit in hits
        ]

    def prepare_one(self, text: str, mode: Mode | None = None) -> Query:
        """One question ready to search, or a clear error before spending seconds loading the
        model when the store is empty."""
        if self.store.is_empty():
            raise EmptyStoreError("the store is empty: index some articles with `kabar index PATH`")
        return self.prepare([text], mode)[0]

    def search(
        self, query: str, k: int = 5, filters: Filters | None = None, mode: Mode | None = None
    ) -> list[Hit]:
        if k < 1:
            raise ValueError("k must be at least 1")
        mode = mode or self.config.mode
        return self.run(self.prepare_one(query, mode), k, filters, mode)

    def run(
        self, query: Query, k: int, filters: Filters | None = None, mode: Mode | None = None
    ) -> list[Hit]:
        """Search with a prepared query (see `prepare`)."""
        mode = mode or self.config.mode
        filters = filters or Filters()
        pool = self.candidates(query, max(self.config.candidates, 2 * k), filters, mode)
        return self.rank(query, pool, k, filters, mode)

    def candidates(self, query: Query, n: int, filters: Filters, mode: Mode) -> Candidates:
        """The best `n` eligible chunks from each side that `mode` uses."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r} (expected one of {', '.join(MODES)})")
        pool = Candidates()
        if mode == "dense" and not filters.restricts:  # no lexical index needed at all
            for hit in self.store.query(self._vector(query), n):
                pool.dense.append((hit.chunk_id, hit.score))
                pool.hits[hit.chunk_id] = hit
                pool.info[hit.chunk_id] = (hit.article_id, hit.lang, day_number(hit.published) or 0)
            return pool
        lexical = self.lexical
        mask = filters.mask(lexical)
        if mask is not None and not mask.any():
            return pool
        if mode != "bm25":
            pool.dense = self._dense(self._vector(query), n, mask, lexical)
        if mode != "dense":
            found = lexical.search(query.terms, n, mask)
            pool.lexical = [(lexical.rows[i].chunk_id, score) for i, score in found]
        if mode == "hybrid" and self.config.fusion.feedback > 0:
            pool.feedback = self._feedback(query, pool.dense, n, mask, lexical)
        for cid, _ in [*pool.dense, *pool.lexical, *pool.feedback]:
            row = lexical.rows[lexical.position[cid]]
            pool.info[cid] = (row.article_id, row.lang, row.day)
        return pool

    @staticmethod
    def _vector(query: Query) -> np.ndarray:
        if query.vector is None:
            raise ValueError("this query was prepared without a vector (mode bm25)")
        return query.vector

    def rank(
        self, query: Query, pool: Candidates, k: int, filters: Filters, mode: Mode
    ) -> list[Hit]:
        """Fuse (hybrid), apply recency decay and the per-article cap, and build the top k."""
        params = self.config.fusion
        if mode == "hybrid" and params.method == "learned":
            ranked = default_ranker().rank(
                features(
                    pool.dense,
                    pool.lexical,
                    pool.feedback,
                    pool.info,
                    query.terms,
                    query.lang,
                    query.vector,
                    self.lexical,
                    params,
                    query.text,
                )
            )
        elif mode == "hybrid":
            langs = {cid: info[1] for cid, info in pool.info.items()}
            ranked = fuse(pool.dense, pool.lexical, langs, query.lang, params, pool.feedback)
        else:
            ranked = list(pool.dense if mode == "dense" else pool.lexical)
        half_life, floor = filters.recency_half_life_days, 0.0
        if half_life is None and wants_latest(query.text):
            half_life, floor = LATEST_HALF_LIFE_DAYS, LATEST_FLOOR
        if half_life is not None:
            ranked = decay(ranked, lambda cid: pool.info[cid][2], half_life, floor)
        if self.config.window:
            ranked = drop_shown(ranked, lambda cid: pool.info[cid][0], self.config.window)
        top = cap_per_article(ranked, lambda cid: pool.info[cid][0], self.config.per_article, k)
        fetched = self.store.hits([cid for cid, _ in top if cid not in pool.hits], query.vector)
        hits = []
        for cid, score in top:
            if cid in pool.hits:  # fetched whole by a dense query: its score is the similarity
                hit = pool.hits[cid]
                hits.append(replace(hit, score=score, similarity=hit.score))
            elif cid in fetched:  # the store computed the similarity from the stored vector
                similarity = fetched[cid].score if query.vector is not None else None
                hits.append(replace(fetched[cid], score=score, similarity=similarity))
        return self._widen(hits) if self.config.window else hits

    def _widen(self, hits: list[Hit]) -> list[Hit]:
        """Each hit read together with the `window` units before and after it in its article:
        small units find the paragraph, their neighbours give the reader its context. What a
        better hit already shows is not repeated. Paragraph ranges stay exact: the hit's range
        grows to cover the neighbours it now holds."""
        window = self.config.window
        shown: dict[str, set[int]] = {}
        plans: list[list[str]] = []
        for hit in hits:
            ordinal = unit_ordinal(hit.chunk_id)
            seen = shown.setdefault(hit.article_id, set())
            seen.add(ordinal)
            plan = [hit.chunk_id]
            for step in (-1, 1):  # outwards on each side, up to a unit already shown
                for i in range(ordinal + step, ordinal + step * (window + 1), step):
                    if i < 0 or i in seen:
                        break
                    seen.add(i)
                    plan.append(f"{hit.article_id}::{i}")
            plans.append(plan)
        found = self.store.hits([cid for plan in plans for cid in plan[1:]])
        widened = []
        for hit, plan in zip(hits, plans, strict=True):
            units = sorted(
                [hit, *(found[cid] for cid in plan[1:] if cid in found)],
                key=lambda h: unit_ordinal(h.chunk_id),
            )
            widened.append(
                replace(
                    hit,
                    text="\n\n".join(u.text for u in units),
                    paragraphs=(units[0].paragraphs[0], units[-1].paragraphs[1]),
                )
            )
        return widened

    def _feedback(
        self,
        query: Query,
        dense: Sequence[tuple[str, float]],
        n: int,
        mask: np.ndarray | None,
        lexical: LexicalIndex,
    ) -> list[tuple[str, float]]:
        """Lexical evidence across languages, by pseudo-relevance feedback: BM25 cannot match
        an English question to an Indonesian paragraph, so the question's terms (names and
        numbers do match) are searched together with their translations from the word list
        (`index.search.lexicon`) and the distinctive terms of its best dense hits in the other
        language, among other-language passages only."""
        known = lexical.position
        other = [
            known[cid]
            for cid, _ in dense
            if cid in known and (lexical.rows[known[cid]].lang or query.lang) != query.lang
        ][: self.config.feedback_docs]
        if not other:
            return []
        terms = lexical.distinctive(other, self.config.feedback_terms, exclude=set(query.terms))
        eligible = ~lexical.lang.isin((query.lang, ""))
        if mask is not None:
            eligible &= mask
        translated = translate(query.terms, query.lang)
        found = lexical.search([*query.terms, *translated, *terms], n, eligible)
        return [(lexical.rows[i].chunk_id, score) for i, score in found]

    def _dense(
        self, vector: np.ndarray, n: int, mask: np.ndarray | None, lexical: LexicalIndex
    ) -> list[tuple[str, float]]:
        """Nearest eligible chunk ids with their similarity; texts are fetched for the final
        top k only. Chunks the lexical index does not know yet (written by a run whose cache
        refresh is still to come) are left out, as their filter columns are unknown."""
        known = lexical.position
        if mask is None:
            return [(c, s) for c, s in self.store.nearest(vector, n) if c in known][:n]
        eligible = int(mask.sum())
        total = len(mask)
        # Over-fetch in proportion to what passes and filter here: ids-only queries are cheap.
        fetch = min(total, math.ceil(n * total / eligible * 1.5))
        exact = lexical.vectors is not None
        if exact and eligible < EXACT_PER_FETCHED * fetch:  # few enough to compare them all
            return self._exact(vector, n, mask, lexical)
        # When fewer pass near the question than over the store (a date or an outlet that
        # writes about other things), go as deep as the share that passed asks for, within
        # `overfetch_max`. At 200k chunks the nearest 1,000 ids took 11 ms and 3,000 took 32 ms;
        # when none passed (another language than the question's), going deeper found none
        # either, so exact search comes next.
        limit = self.config.overfetch_max
        while fetch <= limit:
            found = [
                (cid, sim)
                for cid, sim in self.store.nearest(vector, fetch)
                if cid in known and mask[known[cid]]
            ]
            if len(found) >= min(n, eligible) or fetch >= total:
                return found[:n]
            deeper = math.ceil(n * fetch / max(len(found), 1) * 1.5)
            if not found or deeper > limit:
                break
            fetch = min(total, deeper)
        if exact:
            return self._exact(vector, n, mask, lexical)
        # No vector copy (it could not be written): ask the store among the eligible ids.
        ids = [lexical.rows[i].chunk_id for i in np.flatnonzero(mask)]
        return self.store.nearest(vector, min(n, eligible), ids=ids)

    @staticmethod
    def _exact(
        vector: np.ndarray, n: int, mask: np.ndarray, lexical: LexicalIndex
    ) -> list[tuple[str, float]]:
        return [(lexical.rows[i].chunk_id, sim) for i, sim in lexical.nearest(vector, n, mask)]
