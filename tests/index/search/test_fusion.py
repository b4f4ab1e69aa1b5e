"""Fusion, recency decay and the per-article cap on hand-made rankings (no model, no store)."""

from __future__ import annotations

import pytest

from index.search.fusion import FusionParams, Method, fuse
from index.search.postprocess import cap_per_article, decay, wants_latest

DENSE = [("a", 0.90), ("b", 0.85), ("c", 0.80), ("d", 0.70)]
LEXICAL = [("c", 12.0), ("e", 8.0), ("a", 2.0)]
SAME = {cid: "id" for cid in "abcde"}


def ids(ranked: list[tuple[str, float]]) -> list[str]:
    return [cid for cid, _ in ranked]


def test_rrf_rewards_agreement_and_keeps_the_union() -> None:
    ranked = fuse(DENSE, LEXICAL, SAME, "id", FusionParams("rrf", rrf_k=1, lexical_weight=1.0))
    # c: 1/4 + 1/2, a: 1/2 + 1/4 (tie: dense order first), e: 1/3, b: 1/3, d: 1/5
    assert ids(ranked) == ["a", "c", "b", "e", "d"]
    scores = dict(ranked)
    assert scores["a"] == pytest.approx(0.75) and scores["c"] == pytest.approx(0.75)
    assert scores["e"] == pytest.approx(1 / 3) and scores["d"] == pytest.approx(1 / 5)


def test_lexical_weight_moves_the_balance() -> None:
    light = ids(fuse(DENSE, LEXICAL, SAME, "id", FusionParams("rrf", 1, 0.2)))
    heavy = ids(fuse(DENSE, LEXICAL, SAME, "id", FusionParams("rrf", 1, 5.0)))
    assert light[0] == "a"  # dense's first stays first when BM25 counts little
    assert heavy == ["c", "a", "e", "b", "d"]  # BM25's order dominates when it counts a lot


def test_weighted_fusion_normalises_both_sides() -> None:
    ranked = fuse(DENSE, LEXICAL, SAME, "id", FusionParams("weighted", lexical_weight=1.0))
    scores = dict(ranked)
    # dense min-max: a 1, b 0.75, c 0.5, d 0; lexical / max: c 1, e 2/3, a 1/6
    assert scores["c"] == pytest.approx(1.5)
    assert scores["a"] == pytest.approx(1 + 1 / 6)
    assert scores["e"] == pytest.approx(2 / 3)
    assert ids(ranked)[:3] == ["c", "a", "b"]


@pytest.mark.parametrize("method", ["rrf", "weighted"])
def test_cross_lingual_passage_is_not_sunk_by_bm25(method: Method) -> None:
    # An English question: the Indonesian answer "a" is dense's first but BM25 cannot see it,
    # while English passages "x", "y" share words with the question.
    dense = [("a", 0.9), ("x", 0.8), ("y", 0.7)]
    lexical = [("x", 9.0), ("y", 5.0)]
    langs = {"a": "id", "x": "en", "y": "en"}
    plain = fuse(dense, lexical, langs, "en", FusionParams(method, 60, 1.0, cross_lingual=0.0))
    imputed = fuse(dense, lexical, langs, "en", FusionParams(method, 60, 1.0, cross_lingual=1.0))
    assert ids(plain)[0] == "x"  # without imputation BM25 drags the answer down
    assert ids(imputed)[0] == "a"  # with it the dense verdict stands
    # Same-language passages are fused as before, whatever the factor.
    assert dict(plain)["x"] == pytest.approx(dict(imputed)["x"])


def test_cap_per_article_diversifies_and_fills() -> None:
    ranked = [("a::0", 5.0), ("a::1", 4.0), ("a::2", 3.0), ("b::0", 2.0), ("c::0", 1.0)]
    article = lambda cid: cid.split("::")[0]  # noqa: E731
    assert ids(cap_per_article(ranked, article, cap=2, k=4)) == ["a::0", "a::1", "b::0", "c::0"]
    assert ids(cap_per_article(ranked, article, cap=1, k=3)) == ["a::0", "b::0", "c::0"]
    # Too few other articles: the held-back chunk fills the last place, in score order.
    assert ids(cap_per_article(ranked[:4], article, cap=1, k=3)) == ["a::0", "a::1", "b::0"]
    with pytest.raises(ValueError):
        cap_per_article(ranked, article, cap=0, k=3)


def test_recency_decay_halves_per_half_life() -> None:
    ranked = [("old", 1.0), ("new", 0.9), ("undated", 0.8)]
    days = {"old": 20250101, "new": 20250111, "undated": 0}
    decayed = dict(decay(ranked, days.__getitem__, half_life_days=10))
    assert decayed["new"] == pytest.approx(0.9)
    assert decayed["old"] == pytest.approx(0.5)  # ten days older than the newest
    assert decayed["undated"] == pytest.approx(0.4)  # counted as old as the oldest
    assert ids(decay(ranked, days.__getitem__, 10)) == ["new", "old", "undated"]
    with pytest.raises(ValueError):
        decay(ranked, days.__getitem__, 0)


def test_recency_floor_reorders_close_scores_only() -> None:
    days = {"old": 20050101, "new": 20250101}
    close = [("old", 1.0), ("new", 0.9)]
    assert ids(decay(close, days.__getitem__, 30, floor=0.5)) == ["new", "old"]
    far = [("old", 1.0), ("new", 0.4)]  # the old report matches much better
    assert ids(decay(far, days.__getitem__, 30, floor=0.5)) == ["old", "new"]
    assert dict(decay(far, days.__getitem__, 30, floor=0.5))["old"] == pytest.approx(0.5)
    assert ids(decay(far, days.__getitem__, 30)) == ["new", "old"]  # no floor: buried
    with pytest.raises(ValueError):
        decay(far, days.__getitem__, 30, floor=1.0)


@pytest.mark.parametrize(
    ("query", "latest"),
    [
        ("Apa berita terbaru soal banjir Garut?", True),
        ("What is the latest on the Bali ferries?", True),
        ("Kapan banjir terjadi di Garut?", False),
        ("How many passengers were stranded?", False),
    ],
)
def test_wants_latest(query: str, latest: bool) -> None:
    assert wants_latest(query) is latest
