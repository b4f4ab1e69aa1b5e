"""When to say "the indexed news does not answer this": a calibrated judgement, not a guess.

The evidence for a question (see `Evidence.features`) is turned into the probability that the
question is answerable by a small logistic model, and Kabar abstains below a threshold. Both
are fitted by `bench/abstention.py --calibrate` on labelled questions (answerable: FacQA train
and valid; unanswerable: questions we wrote about events in no indexed article) and stored in
`assistant/answer/data/abstention.json` together with how they were obtained. Two kinds of
evidence are declined before the model is asked (`ruled_out`): no sentence qualified, or the
question asks about a year after the newest indexed article that no passage names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.conversation import FollowCuts
from assistant.answer.evidence import Evidence

# See `Evidence.features`: embedding similarity of the best passage and sentence, whether the
# best sentence is in the other language, the lexical evidence (same language only), the
# question's names the best passage lacks (apart by language), and across languages the
# lexical evidence through the word list. `coverage_x` measured by refitting without it on the
# same cached evidence (bench/abstention.py's calibration, over all the news, with the retrieval
# that uses the word list): tests/data/offcorpus_varied.jsonl (not fitted) abstained on 0.67 ->
# 0.70, wrong abstentions on the held-out English-over-Indonesian half 1.3% -> 0%, held-out
# off-corpus abstentions 0.83 either way; a question or two each, all the same way.
FEATURES = (
    "similarity",
    "sentence",
    "cross",
    "coverage_same",
    "missing_same",
    "missing_cross",
    "coverage_x",
)

# Until calibrated on labelled follow-ups (and in models of other judgements, such as
# `assistant.answer.short`'s), the evidence takes no question for one (P never reaches 1): only
# continuations and pronoun-only questions follow (`assistant.answer.conversation.follows`).
UNCALIBRATED = FollowCuts(cued=1.0, plain=1.0)


def ruled_out(evidence: Evidence) -> bool:
    """Abstained on whatever the model says: no sentence qualified, or the question asks about
    a year after the indexed news (`Evidence.after_news`)."""
    return evidence.best is None or evidence.after_news is not None


def default_path() -> Path:
    return Path(str(resources.files("assistant.answer").joinpath("data", "abstention.json")))


@dataclass(frozen=True)
class Abstention:
    """Logistic model over evidence features; abstain when P(answerable) < `threshold`."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    follow_up: FollowCuts = UNCALIBRATED
    calibration: dict[str, Any] = field(default_factory=dict)

    def probability(self, values: Mapping[str, float]) -> float:
        z = self.bias + sum(
            w * (values[name] - m) / s
            for name, w, m, s in zip(
                self.features, self.weights, self.mean, self.scale, strict=True
            )
        )
        return 1.0 / (1.0 + math.exp(-z))

    def answerable(self, evidence: Evidence) -> float:
        """P(the evidence answers its question); 0 when it is `ruled_out`."""
        return 0.0 if ruled_out(evidence) else self.probability(evidence.features())

    def abstains(self, evidence: Evidence) -> bool:
        return ruled_out(evidence) or self.probability(evidence.features()) < self.threshold

    @classmethod
    def load(cls, path: Path | None = None) -> Abstention:
        data = json.loads((path or default_path()).read_text("utf-8"))
        return cls(
            features=tuple(data["features"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            weights=tuple(data["weights"]),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            follow_up=FollowCuts(**data["follow_up"]) if "follow_up" in data else UNCALIBRATED,
            calibration=dict(data.get("calibration") or {}),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", "utf-8")


def _matrix(rows: Sequence[Mapping[str, float]], features: Sequence[str]) -> np.ndarray:
    return np.array([[row[f] for f in features] for row in rows], dtype=np.float64)


def highest_cut(probabilities: Sequence[float] | np.ndarray, max_share: float) -> float:
    """The highest threshold below which at most `max_share` of `probabilities` fall.

    Counted, not interpolated: `np.quantile`'s default interpolation let 2 of 50 questions
    (4%) fall below a 3% cut on the cross-lingual calibration set."""
    ordered = np.sort(np.asarray(probabilities, dtype=np.float64))
    if not len(ordered):
        raise ValueError("no probabilities to cut")
    allowed = math.floor(max_share * len(ordered) + 1e-9)
    return float(ordered[min(allowed, len(ordered) - 1)])


def fit(
    answerable: Sequence[Mapping[str, float]],
    unanswerable: Sequence[Mapping[str, float]],
    max_false_abstention: float,
    features: Sequence[str] = FEATURES,
    l2: float = 0.01,
    steps: int = 3000,
) -> Abstention:
    """Fit the model (classes weighted equally, so the few unanswerable questions count as
    much as the many answerable ones), then take the highest threshold at which at most
    `max_false_abstention` of the answerable questions would be abstained on."""
    if not answerable or not unanswerable:
        raise ValueError("calibration needs both answerable and unanswerable questions")
    x = np.vstack([_matrix(answerable, features), _matrix(unanswerable, features)])
    y = np.concatenate([np.ones(len(answerable)), np.zeros(len(unanswerable))])
    sample_weight = np.where(y == 1, 0.5 / len(answerable), 0.5 / len(unanswerable))
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):  # plain gradient descent: a handful of features, a convex loss
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        error = (p - y) * sample_weight
        w -= 0.5 * (z.T @ error + l2 * w)
        b -= 0.5 * float(error.sum())
    probabilities = 1.0 / (1.0 + np.exp(-(z[y == 1] @ w + b)))
    threshold = highest_cut(probabilities, max_false_abstention)
    return Abstention(
        features=tuple(features),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        weights=tuple(float(v) for v in w),
        bias=float(b),
        threshold=threshold,
    )
