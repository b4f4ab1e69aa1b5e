"""How much of the exact nearest-neighbour answer the vector index gives back.

A graph index (Chroma's HNSW) trades exactness for speed, and how much it loses depends on the
vectors asked about: e5 question vectors (`query: ` prompt) sit away from the passage vectors,
the hard case for a graph, so vectors copied from stored chunks are found perfectly while real
questions are not (0.88 of the exact top 10 at Chroma's default HNSW settings, see
`index.store.chroma.HNSW`). This module measures it with real question vectors: the store's
`nearest` against a brute-force search over every stored vector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

TIE = 1e-6  # cosine similarities this close to the k-th best count as tied with it

Nearest = Callable[[np.ndarray, int], Sequence[tuple[str, float]]]


@dataclass(frozen=True)
class Exactness:
    """Recall of the index's top k against exact search, over a set of question vectors."""

    questions: int
    k: int  # (a store of fewer chunks is measured on all it has)
    recall: float  # mean share of the exact top k that the index returned
    complete: int  # questions whose whole exact top k came back
    top1: float  # share of questions whose exact nearest chunk came back at all

    def to_json(self) -> dict[str, float | int]:
        return {
            "questions": self.questions,
            f"recall@{self.k}": round(self.recall, 4),
            "complete": self.complete,
            "top1_found": round(self.top1, 4),
        }


def exact_top(matrix: np.ndarray, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and cosine similarities of the `k` rows nearest to `vector`, best first
    (rows and vector unit-length, as the embedder writes them)."""
    sims = matrix @ vector
    k = min(k, len(sims))
    top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
    top = top[np.argsort(-sims[top], kind="stable")]
    return top, sims[top]


def measure(
    ids: Sequence[str],
    matrix: np.ndarray,
    questions: np.ndarray,
    nearest: Nearest,
    k: int = 10,
) -> Exactness:
    """Compare `nearest(question, k)` with exact search over `matrix` (rows named by `ids`).

    A returned chunk counts as found when its exact similarity reaches the k-th best (minus
    `TIE`): chunks with identical vectors (a text two articles share) are interchangeable.
    """
    if len(ids) != len(matrix):
        raise ValueError("one id per stored vector")
    position = {cid: i for i, cid in enumerate(ids)}
    want = min(k, len(ids))
    recalls: list[float] = []
    complete = found_first = 0
    if want == 0:
        return Exactness(questions=0, k=k, recall=1.0, complete=0, top1=1.0)
    for vector in questions:
        sims = matrix @ vector
        kth = float(np.partition(sims, -want)[-want])
        best = float(sims.max())
        returned = {position[cid] for cid, _ in nearest(vector, want) if cid in position}
        hits = min(want, sum(1 for i in returned if sims[i] >= kth - TIE))
        recalls.append(hits / want)
        complete += hits == want
        found_first += any(sims[i] >= best - TIE for i in returned)
    n = len(recalls)
    return Exactness(
        questions=n,
        k=k,
        recall=float(np.mean(recalls)) if n else 1.0,
        complete=complete,
        top1=found_first / n if n else 1.0,
    )
