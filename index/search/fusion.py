"""Combine the dense and the lexical ranking into one, without BM25 hurting cross-lingual search.

BM25 cannot match an English question to an Indonesian paragraph. Scoring such a passage as if
BM25 had found nothing sinks it below every same-language passage that shares a word with the
question; scoring it as if BM25 agreed with the dense side lifts it above same-language passages
that BM25 rightly ranks low. So for a passage in another language than the question the missing
lexical evidence is imputed as `cross_lingual` times the dense side's own (it keeps its real
lexical evidence when that is larger: names and numbers do match across languages).
Parameters were chosen on FacQA train/valid with `bench/tune_fusion.py`.

The default method, "learned", re-ranks the weighted fusion's pool with a linear model over that
score and cheap features of the pool (`index.search.learned`; the searcher applies it, `fuse`
itself computes the weighted score for it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Ranked = Sequence[tuple[str, float]]  # (chunk id, score), best first

Method = Literal["rrf", "weighted", "learned"]


@dataclass(frozen=True)
class FusionParams:
    """How the two rankings are combined."""

    # "weighted": min-max dense + BM25/max, measured above reciprocal rank ("rrf"). "learned"
    # (the default): the weighted score and features of the pool, weighed by a linear model
    # fitted with bench/learn_fusion.py. Over the full shared store (12,643 chunks) it raised
    # hybrid paragraph R@5 / MRR@10 on every dev set: FacQA valid 0.900/0.790 -> 0.920/0.806,
    # its English version 0.840/0.656 -> 0.880/0.735, and on the halves of the cross-lingual
    # sets left out of its fit 0.887/0.735 -> 0.920/0.746 (en over id) and 0.850/0.711 ->
    # 0.890/0.742 (id over en).
    method: Method = "learned"
    rrf_k: int = 60  # reciprocal-rank constant: larger flattens the head of each ranking
    lexical_weight: float = 2.0  # relative to the dense side's 1.0
    cross_lingual: float = 1.0  # imputed lexical evidence for other-language passages, 0..1
    # Share of that imputation taken from the feedback ranking, 0..1. On the dev sets
    # (bench/units.py, exact search, per-article cap 3) 0.5 raised hybrid paragraph R@5 from
    # 0.80 to 0.85 for English FacQA over Indonesian passages, 0.927 to 0.933 (English over
    # Indonesian) and 0.89 to 0.91 (Indonesian over English), and left FacQA valid at 0.897.
    # Over all of ../shared/data (12.6k chunks, more distractors), 0.7 with 5 feedback documents
    # raised them again: English FacQA 0.79 -> 0.82, en over id 0.867 -> 0.880, id over en
    # 0.84 -> 0.85, MRR@10 within 0.001 or better, FacQA valid unchanged (0.6-0.8 and 3-8
    # documents form a plateau; 0.7/5 is its middle).
    feedback: float = 0.7


def fuse(
    dense: Ranked,
    lexical: Ranked,
    langs: Mapping[str, str | None],
    query_lang: str,
    params: FusionParams,
    feedback: Ranked = (),
) -> list[tuple[str, float]]:
    """One ranking of the union of the lists, best first (ties keep the dense order). Method
    "learned" is scored here as "weighted", the first of its features.

    `langs` maps candidate chunk ids to their language; a missing or None language counts as
    the question's. `feedback` is a lexical ranking of other-language passages for the question
    expanded with terms of its best other-language dense hits (see the searcher): for those
    passages the imputed lexical evidence blends the dense side's with it, by `params.feedback`.
    """

    def cross(chunk_id: str) -> bool:
        lang = langs.get(chunk_id)
        return lang is not None and lang != query_lang

    ids = list(
        dict.fromkeys(
            [cid for cid, _ in dense] + [cid for cid, _ in lexical] + [c for c, _ in feedback]
        )
    )
    weight = params.lexical_weight
    share = params.feedback if feedback else 0.0
    scores: dict[str, float] = {}
    if params.method == "rrf":
        dense_rank = {cid: rank for rank, (cid, _) in enumerate(dense, 1)}
        lexical_rank = {cid: rank for rank, (cid, _) in enumerate(lexical, 1)}
        feedback_rank = {cid: rank for rank, (cid, _) in enumerate(feedback, 1)}
        for cid in ids:
            dense_part = 1.0 / (params.rrf_k + dense_rank.get(cid, math.inf))
            lexical_part = 1.0 / (params.rrf_k + lexical_rank.get(cid, math.inf))
            if cross(cid):
                feedback_part = 1.0 / (params.rrf_k + feedback_rank.get(cid, math.inf))
                imputed = (1 - share) * dense_part + share * feedback_part
                lexical_part = max(lexical_part, params.cross_lingual * imputed)
            scores[cid] = dense_part + weight * lexical_part
    else:
        dense_norm = _min_max(dense)
        top = max((s for _, s in lexical), default=0.0)
        lexical_norm = {cid: s / top for cid, s in lexical if top > 0}
        feedback_top = max((s for _, s in feedback), default=0.0)
        feedback_norm = {cid: s / feedback_top for cid, s in feedback if feedback_top > 0}
        for cid in ids:
            d_score = dense_norm.get(cid, 0.0)
            lex_score = lexical_norm.get(cid, 0.0)
            if cross(cid):
                imputed = (1 - share) * d_score + share * feedback_norm.get(cid, 0.0)
                lex_score = max(lex_score, params.cross_lingual * imputed)
            scores[cid] = d_score + weight * lex_score
    return sorted(scores.items(), key=lambda item: -item[1])


def _min_max(ranked: Ranked) -> dict[str, float]:
    """Scores rescaled to [0, 1] over the list (all 1.0 when they are equal)."""
    if not ranked:
        return {}
    values = [s for _, s in ranked]
    low, high = min(values), max(values)
    span = high - low
    return {cid: (s - low) / span if span > 0 else 1.0 for cid, s in ranked}
