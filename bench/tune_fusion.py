"""Choose the fusion parameters on FacQA train/valid (never test), and print every setting tried.

    python bench/tune_fusion.py --store DIR [--stem] [--splits train valid] [--en tests/data/...]

Each question is embedded and searched once per side (depth 100); every setting then only re-fuses
those candidate lists, applies the per-article cap and scores the top 10. Prints JSON: dense and
BM25 alone, then the settings ranked by paragraph Recall@5 + MRR@10 on the Indonesian questions,
each with the same figures on the English questions (English versions of FacQA valid questions,
which check that fusion does not hurt cross-lingual search).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.search.evaluate import Question, load_questions
from index.search.fusion import FusionParams, fuse
from index.search.postprocess import cap_per_article
from index.search.searcher import Candidates, Filters, Searcher
from index.settings import StoreSettings
from index.store.lexical import LexicalCache
from index.store.tokenize import Tokenizer

REPO = Path(__file__).resolve().parents[1]
FACQA = REPO.parent / "shared" / "data" / "qa" / "facqa.jsonl"
ENGLISH = REPO / "tests" / "data" / "facqa_valid_en.jsonl"
DEPTH = 100
K = 10


def contains(text: str, answers: Sequence[str]) -> bool:
    low = " ".join(text.lower().split())
    return any(" ".join(a.lower().split()) in low for a in answers)


def score(
    questions: Sequence[Question],
    pools: Sequence[Candidates],
    langs: Sequence[str],
    texts: dict[str, str],
    ranker: Any,
) -> dict[str, float]:
    """Paragraph-level R@1, R@5, MRR@10 for one way of ranking the candidate pools."""
    r1 = r5 = mrr = 0.0
    for question, pool, lang in zip(questions, pools, langs, strict=True):
        ranked = ranker(pool, lang)
        top = cap_per_article(ranked, lambda cid, p=pool: p.info[cid][0], 2, K)
        for rank, (cid, _) in enumerate(top, 1):
            if pool.info[cid][0] == question.article_id and contains(texts[cid], question.answers):
                r1 += rank == 1
                r5 += rank <= 5
                mrr += 1 / rank
                break
    n = len(questions)
    return {"R@1": round(r1 / n, 4), "R@5": round(r5 / n, 4), "MRR@10": round(mrr / n, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True)
    parser.add_argument("--splits", nargs="+", default=["train", "valid"])
    parser.add_argument("--en", default=str(ENGLISH))
    parser.add_argument("--stem", action="store_true", help="Snowball stemming in BM25")
    args = parser.parse_args()
    if "test" in args.splits:
        parser.error("tune on train/valid only; test is for reporting")

    started = time.perf_counter()
    searcher = Searcher.from_settings(StoreSettings.from_env(store=args.store))
    if args.stem:  # an in-memory index with other rules; the store's cache is left alone
        searcher.cache = LexicalCache(None, Tokenizer(stem=True))
    sets = {
        "id": [q for split in args.splits for q in load_questions(FACQA, split)],
        "en": load_questions(Path(args.en)),
    }
    pools: dict[str, list[Candidates]] = {}
    query_langs: dict[str, list[str]] = {}
    for name, questions in sets.items():
        prepared = searcher.prepare([q.question for q in questions], "hybrid")
        pools[name] = [searcher.candidates(p, DEPTH, Filters(), "hybrid") for p in prepared]
        query_langs[name] = [p.lang for p in prepared]
    every = {cid for group in pools.values() for pool in group for cid in pool.info}
    texts = searcher.store.documents(sorted(every))

    def measure(ranker: Any) -> dict[str, dict[str, float]]:
        return {
            name: score(sets[name], pools[name], query_langs[name], texts, ranker) for name in sets
        }

    baselines = {
        "dense": measure(lambda pool, lang: pool.dense),
        "bm25": measure(lambda pool, lang: pool.lexical),
    }
    grid = []
    for method, rrf_k, weight, cross, depth in itertools.product(
        ("rrf", "weighted"), (10, 30, 60), (0.5, 1.0, 1.5, 2.0, 3.0), (0.0, 0.5, 1.0), (20, 50, 100)
    ):
        if method == "weighted" and rrf_k != 60:
            continue  # rrf_k plays no part in weighted fusion
        params = FusionParams(method, rrf_k, weight, cross)  # type: ignore[arg-type]

        def ranker(pool: Candidates, lang: str, p: FusionParams = params, d: int = depth) -> Any:
            langs = {cid: info[1] for cid, info in pool.info.items()}
            return fuse(pool.dense[:d], pool.lexical[:d], langs, lang, p)

        grid.append({"params": params.__dict__ | {"candidates": depth}, **measure(ranker)})
    grid.sort(key=lambda row: -(row["id"]["R@5"] + row["id"]["MRR@10"]))
    print(
        json.dumps(
            {
                "questions": {name: len(qs) for name, qs in sets.items()},
                "splits": args.splits,
                "stem": args.stem,
                "seconds": round(time.perf_counter() - started, 1),
                "baselines": baselines,
                "grid": grid,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
