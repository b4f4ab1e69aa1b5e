"""Fit the learned re-ranking of the hybrid pool (`index.search.learned`) and compare it with the
weighted fusion, never tuning on FacQA test.

    python bench/learn_fusion.py --store DIR [--cache FILE] [--l2 ...] [--xweight ...] [--swap]
                                 [--both-folds] [--drop FEATURE ...] [--write] [--report-test]

The shipped weights: `--both-folds --xweight 3 5 8 --l2 0.003 0.01 0.03 --write` chose
`--xweight 8 --l2 0.03` by the mean over both folds (each fit's held-out cross-lingual halves,
FacQA valid and the English set). `--swap` fits on the even halves of the cross-lingual sets and
measures the odd ones, so each half is measured once by a fit without it; `--both-folds` runs
both and writes the fit on the odd halves.

Each question is embedded and searched once (depth 50, as `kabar eval`); the pools, their
features and labels (a candidate is positive when it is from the gold article and holds a gold
answer: `kabar eval`'s paragraph hit) are cached in FILE (rebuilt when `FEATURES` changed
length). A linear listwise (softmax) model is then fitted on FacQA train plus the odd-numbered
questions of the two cross-lingual sets, for each L2 strength and cross-lingual weight; the one
with the best mean R@5 + MRR@10 over the dev sets (FacQA valid, its English version, the even
halves of the cross-lingual sets; with `--both-folds`, the mean over both folds) is printed with
every set's figures, the same pipeline as the searcher: score, recency decay for "latest" questions,
per-article cap 3, top 10. `--write` saves its weights to index/search/learned.json.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from index.search.evaluate import Question, contains_answer, load_questions
from index.search.learned import FEATURES, WEIGHTS, LinearRanker, Pool, features
from index.search.postprocess import (
    LATEST_FLOOR,
    LATEST_HALF_LIFE_DAYS,
    cap_per_article,
    decay,
    wants_latest,
)
from index.search.searcher import Filters, Searcher
from index.settings import StoreSettings

REPO = Path(__file__).resolve().parents[1]
FACQA = REPO.parent / "shared" / "data" / "qa" / "facqa.jsonl"
DATA = REPO / "tests" / "data"
DEPTH = 50
K = 10
CAP = 3


@dataclass
class Item:
    """One question's pool: candidate ids, features, labels, and what the post-processing needs."""

    ids: list[str]
    matrix: np.ndarray
    labels: np.ndarray
    article: dict[str, str]
    day: dict[str, int]
    latest: bool


def question_sets() -> dict[str, list[Question]]:
    xen = load_questions(DATA / "xling_en_over_id.jsonl")
    xid = load_questions(DATA / "xling_id_over_en.jsonl")
    return {
        "train": load_questions(FACQA, "train"),
        "valid": load_questions(FACQA, "valid"),
        "en": load_questions(DATA / "facqa_valid_en.jsonl"),
        "xen_odd": xen[0::2],
        "xen_even": xen[1::2],
        "xid_odd": xid[0::2],
        "xid_even": xid[1::2],
        "test": load_questions(FACQA, "test"),
    }


def collect(store: str) -> dict[str, list[Item]]:
    searcher = Searcher.from_settings(StoreSettings.from_env(store=store))
    lexical = searcher.lexical
    params = searcher.config.fusion
    sets = question_sets()
    raw: dict[str, list[tuple[Question, Any, Any]]] = {}
    for name, questions in sets.items():
        prepared = searcher.prepare([q.question for q in questions], "hybrid")
        raw[name] = [
            (q, p, searcher.candidates(p, DEPTH, Filters(), "hybrid"))
            for q, p in zip(questions, prepared, strict=True)
        ]
    every = sorted({c for group in raw.values() for _, _, pool in group for c in pool.info})
    texts: dict[str, str] = {}
    for start in range(0, len(every), 500):
        texts.update(
            {c: h.text for c, h in searcher.store.hits(every[start : start + 500]).items()}
        )
    out: dict[str, list[Item]] = {}
    for name, group in raw.items():
        items = []
        for q, p, pool in group:
            built = features(
                pool.dense,
                pool.lexical,
                pool.feedback,
                pool.info,
                p.terms,
                p.lang,
                p.vector,
                lexical,
                params,
                q.question,
            )
            labels = np.array(
                [
                    pool.info[c][0] == q.article_id and contains_answer(texts[c], q.answers)
                    for c in built.ids
                ]
            )
            items.append(
                Item(
                    built.ids,
                    built.matrix,
                    labels,
                    {c: pool.info[c][0] for c in built.ids},
                    {c: pool.info[c][2] for c in built.ids},
                    wants_latest(q.question),
                )
            )
        out[name] = items
    return out


def measure(items: Sequence[Item], weights: np.ndarray) -> dict[str, float]:
    """Paragraph R@5 and MRR@10 as `kabar eval` counts them, ranking by matrix @ weights."""
    r5 = mrr = 0.0
    ranker = LinearRanker(FEATURES, weights)
    for item in items:
        if not item.ids:
            continue
        ranked = ranker.rank(Pool(item.ids, item.matrix))
        if item.latest:
            ranked = decay(ranked, item.day.__getitem__, LATEST_HALF_LIFE_DAYS, LATEST_FLOOR)
        top = cap_per_article(ranked, item.article.__getitem__, CAP, K)
        label = dict(zip(item.ids, item.labels, strict=True))
        for rank, (cid, _) in enumerate(top, 1):
            if label[cid]:
                r5 += rank <= 5
                mrr += 1 / rank
                break
    n = len(items) or 1
    return {"R@5": round(r5 / n, 4), "MRR@10": round(mrr / n, 4)}


def baseline_weights() -> np.ndarray:
    """The weighted fusion as a linear model: the fused score alone (exp keeps its order)."""
    w = np.zeros(len(FEATURES))
    w[FEATURES.index("fused")] = 1.0
    return w


def fit(
    items: Sequence[Item],
    l2: float,
    names: Sequence[str] = FEATURES,
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """Listwise softmax: maximise the probability of the positives among each pool's candidates,
    on standardised features; returned weights apply to the raw features."""
    weights = weights or [1.0] * len(items)
    kept = [(i, wt) for i, wt in zip(items, weights, strict=True) if i.labels.any()]
    usable = [i for i, _ in kept if not i.labels.all()]
    importance = [wt for i, wt in kept if not i.labels.all()]
    stacked = np.vstack([i.matrix for i in usable])
    mean, scale = stacked.mean(0), stacked.std(0)
    scale[scale == 0] = 1.0
    mats = [(i.matrix - mean) / scale for i in usable]
    labels = [i.labels for i in usable]
    n = sum(importance)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, y, wt in zip(mats, labels, importance, strict=True):
            s = x @ w
            m = s.max()
            e = np.exp(s - m)
            p_all = e / e.sum()
            pos = e * y
            p_pos = pos / pos.sum()
            total -= wt * (np.log(pos.sum()) - np.log(e.sum()))
            grad -= wt * (x.T @ (p_pos - p_all))
        return total / n + l2 * float(w @ w), grad / n + 2 * l2 * w

    start = np.zeros(len(names))  # from the weighted fusion: the fused score alone
    if "fused" in names:
        start[names.index("fused")] = scale[names.index("fused")]
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return np.asarray(result.x / scale)


def run_fold(
    data: dict[str, list[Item]],
    swap: bool,
    xweight: float,
    l2: float,
    keep: np.ndarray,
    report_test: bool,
    xling: bool = True,
) -> dict[str, Any]:
    """Fit on FacQA train plus one half of each cross-lingual set (the odd halves, or the even
    ones with `swap`) and measure every set; `dev_mean` is the mean R@5 + MRR@10 over the dev
    sets: FacQA valid, the English set and the halves the fit left out."""
    fitted, held = ("even", "odd") if swap else ("odd", "even")
    dev = ["valid", "en", f"xen_{held}", f"xid_{held}"]
    shown = [*dev, "train", f"xen_{fitted}", f"xid_{fitted}"] + (["test"] * report_test)
    extra = data[f"xen_{fitted}"] + data[f"xid_{fitted}"] if xling else []
    train = data["train"] + extra
    importance = [1.0] * len(data["train"]) + [xweight] * len(extra)
    masked = [Item(i.ids, i.matrix[:, keep], i.labels, i.article, i.day, i.latest) for i in train]
    names = [f for f, k in zip(FEATURES, keep, strict=True) if k]
    w = np.zeros(len(FEATURES))
    w[keep] = fit(masked, l2, names, importance)
    rows: dict[str, Any] = {name: measure(data[name], w) for name in shown}
    rows["dev_mean"] = round(float(np.mean([rows[d]["R@5"] + rows[d]["MRR@10"] for d in dev])), 4)
    return {"fitted": fitted, "weights": w, **rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True)
    parser.add_argument("--cache", default="/tmp/learn_fusion.pkl")
    parser.add_argument("--write", action="store_true", help="save the chosen weights")
    parser.add_argument("--report-test", action="store_true", help="also print FacQA test")
    parser.add_argument("--drop", nargs="*", default=[], help="features left out")
    parser.add_argument("--no-xling", action="store_true", help="fit on FacQA train only")
    parser.add_argument("--swap", action="store_true", help="fit on the even halves instead")
    parser.add_argument(
        "--both-folds",
        action="store_true",
        help="choose by the mean over both folds (odd halves fitted, then even); writes the odd",
    )
    parser.add_argument(
        "--xweight", type=float, nargs="+", default=[8.0], help="weight of xling questions"
    )
    parser.add_argument("--l2", type=float, nargs="+", default=[0.0, 1e-3, 3e-3, 1e-2, 3e-2])
    args = parser.parse_args()
    started = time.perf_counter()
    cache = Path(args.cache)
    data = pickle.loads(cache.read_bytes()) if cache.exists() else None
    if data is not None and any(i.matrix.shape[1] != len(FEATURES) for i in data["train"]):
        data = None  # made for other features: rebuilt
    if data is None:
        data = collect(args.store)
        cache.write_bytes(pickle.dumps(data))
    keep = np.array([f not in args.drop for f in FEATURES])
    folds = [False, True] if args.both_folds else [args.swap]
    tried = []
    for xweight in args.xweight:
        for l2 in args.l2:
            runs = [
                run_fold(data, swap, xweight, l2, keep, args.report_test, not args.no_xling)
                for swap in folds
            ]
            score = round(float(np.mean([r["dev_mean"] for r in runs])), 4)
            tried.append({"xweight": xweight, "l2": l2, "score": score, "folds": runs})
    best = max(tried, key=lambda row: row["score"])
    chosen = best["folds"][0]
    if args.write:
        WEIGHTS.write_text(
            json.dumps(
                {
                    "about": "bench/learn_fusion.py: listwise softmax on FacQA train + the "
                    f"{chosen['fitted']} halves of the cross-lingual sets (weight "
                    f"{best['xweight']}), L2 {best['l2']}, chosen on the dev sets",
                    "weights": {
                        f: round(float(v), 4)
                        for f, v in zip(FEATURES, chosen["weights"], strict=True)
                        if round(float(v), 4) != 0.0
                    },
                },
                indent=1,
            )
            + "\n",
            "utf-8",
        )
    fold = {"swap": True} if args.swap and not args.both_folds else {}

    def without_weights(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k != "weights"}

    print(
        json.dumps(
            {
                "questions": {name: len(items) for name, items in data.items()},
                "pool_has_answer": {
                    name: round(float(np.mean([i.labels.any() for i in items])), 4)
                    for name, items in data.items()
                    if name != "test" or args.report_test
                },
                "seconds": round(time.perf_counter() - started, 1),
                "baseline": {
                    name: measure(items, baseline_weights())
                    for name, items in data.items()
                    if name != "test" or args.report_test
                },
                **fold,
                "best": {
                    **{k: v for k, v in best.items() if k != "folds"},
                    "folds": [without_weights(r) for r in best["folds"]],
                    "weights": {
                        f: round(float(v), 4)
                        for f, v in zip(FEATURES, chosen["weights"], strict=True)
                    },
                },
                "tried": [
                    {
                        "xweight": row["xweight"],
                        "l2": row["l2"],
                        "score": row["score"],
                        "dev_means": [r["dev_mean"] for r in row["folds"]],
                    }
                    for row in tried
                ],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
