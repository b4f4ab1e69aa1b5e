"""Sentence scoring: fit the weights of `assistant.answer.evidence.WEIGHTS` on dev questions.

    .venv/bin/python bench/tune_sentences.py --store S [--cache /tmp/short.pkl]

The dev questions and their evidence are those of bench/short_answers.py (same `--cache`). For
each question the sentences' `sentence_terms` are standardised and a softmax over its sentences
is fitted so that the ones holding a gold answer come first (cross-entropy, L2). Prints the
fitted weights (scaled so the cosine's is 1, as `WEIGHTS` writes them) and, per set, the share
of questions whose best sentence holds a gold answer with the current and the fitted weights.
Copy the weights into `WEIGHTS` by hand (rounded) if they measure better. `--grid TERM W ...`
fits nothing: it reports the same share with the current weights but TERM's set to each W (one
weight chosen with the others fixed, as the lede's was).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from assistant.answer.evidence import WEIGHTS, sentence_terms  # noqa: E402
from assistant.answer.pipeline import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.answers import contains  # noqa: E402
from bench.short_answers import dev_questions, gather  # noqa: E402

TERMS = tuple(WEIGHTS)


def fit(lists: list[tuple[np.ndarray, np.ndarray]], l2: float, steps: int) -> np.ndarray:
    """Weights on standardised terms maximising the softmax probability of gold sentences."""
    w = np.zeros(len(TERMS))
    for _ in range(steps):
        grad = np.zeros_like(w)
        for z, gold in lists:
            s = z @ w
            p = np.exp(s - s.max())
            grad += z.T @ (p / p.sum() - gold / gold.sum())
        w -= 0.5 * (grad / len(lists) + l2 * w)
    return w


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument(
        "--cache", type=Path, help="the dev questions' evidence (see short_answers)"
    )
    parser.add_argument("--l2", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--grid", nargs="+", metavar="TERM W", help="try weights for one term")
    args = parser.parse_args(argv)
    assistant = Assistant.from_settings(Settings.from_env(store=args.store))
    rows = dev_questions()
    found = []
    for (name, row), evidence in zip(rows, gather(assistant, rows, args.cache), strict=True):
        if evidence.sentences:
            x = np.array([[sentence_terms(row["question"], s)[t] for t in TERMS]
                          for s in evidence.sentences])  # fmt: skip
            gold = np.array([contains(s.text, row["answers"]) for s in evidence.sentences], float)
            found.append((name, x, gold))
    current = np.array([WEIGHTS[t] for t in TERMS])

    def first_right(weights: np.ndarray) -> dict[str, float]:
        by_set: dict[str, list[float]] = defaultdict(list)
        for name, x, gold in found:
            by_set[name].append(float(gold[int(np.argmax(x @ weights))]))
        shares = {name: round(float(np.mean(v)), 4) for name, v in by_set.items()}
        return {**shares, "mean": round(float(np.mean(list(shares.values()))), 4)}

    if args.grid:
        term, values = args.grid[0], [float(v) for v in args.grid[1:]]
        tried = {}
        for value in values:
            weights = current.copy()
            weights[TERMS.index(term)] = value
            tried[str(value)] = first_right(weights)
        print(json.dumps({"term": term, "best_sentence_holds_gold": tried}, indent=2))
        return 0
    every = np.vstack([x for _, x, _ in found])
    mean, scale = every.mean(axis=0), every.std(axis=0)
    scale[scale == 0] = 1.0
    w = fit([((x - mean) / scale, g) for _, x, g in found if g.sum()], args.l2, args.steps) / scale
    fitted = w / w[TERMS.index("cosine")]
    report = {
        "fitted_weights": {t: round(float(v), 4) for t, v in zip(TERMS, fitted, strict=True)},
        "best_sentence_holds_gold": {
            "current": first_right(current),
            "fitted": first_right(fitted),
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
