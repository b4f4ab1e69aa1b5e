"""A learned re-ranking of the hybrid candidate pool: a linear score over cheap features.

Every feature comes from what the searcher already holds (the three candidate lists, the lexical
index's term ids and vector copy), so ranking costs no model call: about 1.5 ms a question over
the weighted fusion's (p50 3.7 ms against 2.1 ms for `Searcher.rank`, 12,643 chunks). The weights
are data (`learned.json` beside this file), fitted by `bench/learn_fusion.py`: a listwise softmax
on FacQA train plus the odd-numbered questions of the two cross-lingual sets (weighted 8, as
they are few and the only cross-lingual examples), L2 0.03, chosen on the dev sets.

`cross_cover_x`, the cover of a passage in the other language counting each question term's
translations from the word list (`index.search.lexicon`), is the feature that gave retrieval a
way across the languages beyond names and numbers (the feedback search adds the same
translations). Each term weighs the largest idf of itself and its translations: weighed by its
own idf alone, a word no chunk holds weighs 0, so over Indonesian news only "Where will the US
and Russia meet?" was "us" alone, which "US$" in a rupiah story holds, and the Jenewa paragraph
(holding "Rusia") fell out of the top five. Refitted with it over all the news (the weight of
the cross-lingual questions and L2 chosen from 3/5/8 and 0.003/0.01/0.03 by the mean over both
folds: `bench/learn_fusion.py --both-folds`), paragraph R@5 / MRR@10: English FacQA
0.880/0.736 -> 0.930/0.768, the cross-lingual halves each measured by the fit without it en over
id 0.927/0.754 -> 0.940/0.778 and id over en 0.910/0.763 -> 0.950/0.789, FacQA valid
0.920/0.805 -> 0.913/0.804. Without it, the translations in the feedback search alone moved the
dev mean by less than 0.01.

Why: over the full shared store, hybrid paragraph R@5 / MRR@10 rose on every dev set (FacQA
valid 0.900/0.790 -> 0.920/0.806, English FacQA 0.840/0.656 -> 0.880/0.735) and on the halves of
the cross-lingual sets that each fit left out (fitting on the odd halves and measuring the even
ones, then the other way round: en over id 0.887/0.735 -> 0.920/0.746, id over en 0.850/0.711 ->
0.890/0.742). The largest weights: the cosine and its gap to the pool's best (far more across
languages), the article's best cosine, the idf-weighted share of the question's terms the chunk
holds, and the feedback ranking; the BM25 score itself gets a negative weight beside them.

`number_answer` (the question asks for a count or amount, "berapa" / "how many", and the chunk
holds a number term the question does not; about 0.1 ms) was the one cheap feature of those
tried that helped. Fitted the same way, the held-out cross-lingual halves rose (en over id
0.920/0.746 -> 0.927/0.754, id over en 0.890/0.742 -> 0.910/0.763; 20-26 questions of each
50- or 75-question half ask for a number) with FacQA valid (0.920/0.806 -> 0.920/0.805) and
English FacQA (0.880/0.735 -> 0.880/0.736) unchanged; its weight is 2.0. Tried and left out,
each within 0.001 of the dev sets' mean R@5 + MRR@10 with it, or below: question-term pairs
found adjacent in the chunk (phrase match), the longest in-order run of question terms, the
most question terms within 12 consecutive chunk terms, a new year or month term for "kapan" /
"when" questions, a new number next to a question term, the question's kind (number, time,
who) times cosine or cover, the share of the question's rarer terms held, the cover's gap to
the pool's best and its article's best, and the chunk's rank by cosine within its article.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from index.search.fusion import FusionParams, Ranked, fuse
from index.search.lexicon import lexicon
from index.search.postprocess import unit_ordinal
from index.store.lexical import LexicalIndex

WEIGHTS = Path(__file__).with_name("learned.json")

# A question asking for a number ("berapa", "how many"), unless it asks for a date or year
# ("tahun berapa", "what year"), whose answer is a year or month rather than a count.
_ASKS_NUMBER = re.compile(r"\b(berapa\w*|how (many|much|long|old|far|large|big|high)|jumlah)\b")
_ASKS_TIME = re.compile(
    r"\b(kapan\w*|when|(what|which) (year|date|month|day)|(in|on) what (year|date)"
    r"|(tahun|tanggal|bulan|hari) (berapa|apa)\w*)\b"
)

FEATURES: tuple[str, ...] = (
    "fused",  # the weighted fusion's score (see `fusion.fuse`)
    "cos",  # cosine to the question (exact, from the vector copy)
    "cos_gap",  # cosine minus the pool's best
    "dense_lrank",  # log of the dense rank (absent: log of twice the list's length)
    "in_dense",
    "bm25",  # BM25 / the list's best
    "lex_lrank",
    "in_lex",
    "feedback",  # feedback BM25 / its best
    "in_feedback",
    "cross",  # another language than the question's
    "cover",  # idf-weighted share of the question's terms the chunk holds
    "cover_plain",  # unweighted share
    "art_cos_gap",  # best cosine among the article's chunks in the pool, minus the pool's best
    "art_bm25",  # best BM25 / max among the article's chunks
    "art_fused_gap",  # best fused score of the article minus the pool's best
    "art_count",  # log of the number of the article's chunks in the pool
    "art_best",  # the chunk is its article's best by cosine
    "first",  # the article's first unit
    "lpos",  # log(1 + the unit's position in its article)
    "llen",  # log of the chunk's number of terms
    "cross_cos_gap",  # cross times cos_gap: the dense side's weight across languages
    "cross_cover",  # cross times cover: names and numbers matched across languages
    "cross_bm25",  # cross times bm25
    "number_answer",  # asks for a number and the chunk holds a number the question does not
    "cross_cover_x",  # cross times the cover counting a term's translations (see lexicon)
)


@dataclass(frozen=True)
class Pool:
    """One question's candidates with the feature matrix (rows in `ids` order)."""

    ids: list[str]
    matrix: np.ndarray


def features(
    dense: Ranked,
    lexical: Ranked,
    feedback: Ranked,
    info: Mapping[str, tuple[str, str | None, int]],
    query_terms: Sequence[str],
    query_lang: str,
    query_vector: np.ndarray | None,
    index: LexicalIndex,
    params: FusionParams,
    question: str,
) -> Pool:
    """The features of every candidate (see `FEATURES`); `question` is the question's text."""
    langs = {cid: i[1] for cid, i in info.items()}
    weighted = replace(params, method="weighted")
    fused = dict(fuse(dense, lexical, langs, query_lang, weighted, feedback))
    ids = list(fused)
    n = len(ids)
    x = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if not n:
        return Pool(ids, x)
    col = {name: j for j, name in enumerate(FEATURES)}
    positions = [index.position[c] for c in ids]
    dense_score = dict(dense)
    if index.vectors is not None and query_vector is not None:
        q = np.asarray(query_vector, dtype=np.float32)
        cos = index.vectors[positions] @ (q / np.linalg.norm(q))
    else:  # no vector copy: candidates the dense side did not find get its lowest cosine
        low = min(dense_score.values(), default=0.0)
        cos = np.array([dense_score.get(c, low) for c in ids])
    x[:, col["fused"]] = [fused[c] for c in ids]
    x[:, col["cos"]] = cos
    x[:, col["cos_gap"]] = cos - cos.max()
    for name, ranked, flag in (
        ("dense_lrank", dense, "in_dense"),
        ("lex_lrank", lexical, "in_lex"),
    ):
        rank = {c: r for r, (c, _) in enumerate(ranked, 1)}
        absent = math.log(2 * max(len(ranked), 1))
        x[:, col[name]] = [math.log(rank[c]) if c in rank else absent for c in ids]
        x[:, col[flag]] = [c in rank for c in ids]
    for name, ranked, flag in (("bm25", lexical, "in_lex"), ("feedback", feedback, "in_feedback")):
        top = max((s for _, s in ranked), default=0.0)
        norm = {c: s / top for c, s in ranked} if top > 0 else {}
        x[:, col[name]] = [norm.get(c, 0.0) for c in ids]
        if flag == "in_feedback":
            x[:, col[flag]] = [c in norm for c in ids]
    x[:, col["cross"]] = [(langs.get(c) or query_lang) != query_lang for c in ids]
    unique = list(dict.fromkeys(query_terms))
    held, lengths = index.held(positions, unique)
    weight = np.array([index.idf(t) for t in unique])
    if unique and weight.sum() > 0:
        x[:, col["cover"]] = held @ weight / weight.sum()
    if unique:
        x[:, col["cover_plain"]] = held.mean(axis=1)
    x[:, col["llen"]] = np.log1p(lengths)
    if unique:
        # A term weighs the most of its own idf and its translations' idfs: in a store of one
        # language the question's words have no idf of their own (an English "russia" over
        # Indonesian news), and weighing them 0 let "us" (matching "US$") alone decide.
        table = lexicon().get(query_lang, {})
        others = [sorted(table.get(t, ())) for t in unique]
        flat = list(dict.fromkeys(f for forms in others for f in forms))
        either = held.copy()
        weight_x = weight.copy()
        if flat:
            held_other, _ = index.held(positions, flat)
            at = {f: j for j, f in enumerate(flat)}
            for j, forms in enumerate(others):
                if forms:
                    either[:, j] |= held_other[:, [at[f] for f in forms]].any(axis=1)
                    weight_x[j] = max(weight_x[j], max(index.idf(f) for f in forms))
        if weight_x.sum() > 0:
            x[:, col["cross_cover_x"]] = either @ weight_x / weight_x.sum()
    if asks_number(question):
        x[:, col["number_answer"]] = index.numbers(positions, unique) > 0
    ordinal = np.array([unit_ordinal(c) for c in ids])
    x[:, col["first"]] = ordinal == 0
    x[:, col["lpos"]] = np.log1p(ordinal)
    cross = x[:, col["cross"]]
    x[:, col["cross_cover_x"]] *= cross
    for name, base in (
        ("cross_cos_gap", "cos_gap"),
        ("cross_cover", "cover"),
        ("cross_bm25", "bm25"),
    ):
        x[:, col[name]] = cross * x[:, col[base]]
    # Article aggregates: each candidate's article as a group number, maxima over the group.
    group: dict[str, int] = {}
    article = np.array([group.setdefault(info[c][0], len(group)) for c in ids])
    fused_now = x[:, col["fused"]]
    best: dict[str, np.ndarray] = {}
    for name, values in (("cos", cos), ("bm25", x[:, col["bm25"]]), ("fused", fused_now)):
        best[name] = np.full(len(group), -np.inf)
        np.maximum.at(best[name], article, values)
    x[:, col["art_cos_gap"]] = best["cos"][article] - cos.max()
    x[:, col["art_bm25"]] = best["bm25"][article]
    x[:, col["art_fused_gap"]] = best["fused"][article] - fused_now.max()
    x[:, col["art_best"]] = cos == best["cos"][article]
    x[:, col["art_count"]] = np.log(np.bincount(article)[article])
    return Pool(ids, x)


def asks_number(question: str) -> bool:
    """Does the question ask for a count or amount (not a date)?"""
    text = question.lower()
    return _ASKS_NUMBER.search(text) is not None and _ASKS_TIME.search(text) is None


@dataclass(frozen=True)
class LinearRanker:
    """score = weights . features; ranked scores are exp(score - best), positive in (0, 1], so
    the recency decay that follows multiplies them as it does fused scores."""

    names: tuple[str, ...]
    weights: np.ndarray

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> LinearRanker:
        data = json.loads(path.read_text("utf-8"))
        weights = data["weights"]
        unknown = set(weights) - set(FEATURES)
        if unknown:
            raise ValueError(f"{path.name}: unknown features {sorted(unknown)}")
        return cls(FEATURES, np.array([float(weights.get(f, 0.0)) for f in FEATURES]))

    def scores(self, pool: Pool) -> np.ndarray:
        return np.asarray(pool.matrix @ self.weights, dtype=np.float64)

    def rank(self, pool: Pool) -> list[tuple[str, float]]:
        if not pool.ids:
            return []
        s = self.scores(pool)
        s = np.exp(s - s.max())
        order = np.argsort(-s, kind="stable")
        return [(pool.ids[i], float(s[i])) for i in order]


@cache
def default_ranker() -> LinearRanker:
    return LinearRanker.load()
