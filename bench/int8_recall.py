"""Does the int8 export keep its recall? Each runtime indexes the same corpus and answers the same
questions; paragraph Recall@5 and MRR@10 are compared with the fp32 export's.

    python bench/int8_recall.py [--detik 200] [--runtimes onnx,onnx-int8] [--modes dense,hybrid]

The corpus is the FacQA passages (`news-id/facqa-passages.jsonl`, the gold articles) plus the
first `--detik` Detik articles as distractors, indexed into a fresh temporary store per runtime
(the full shared corpus takes about 20 minutes per runtime). The questions are FacQA `test`
(Indonesian) and tests/data/facqa_valid_en.jsonl (English questions on the same passages); the
metrics are `kabar eval`'s own (`index.search.evaluate.evaluate`). Prints JSON: per runtime the
metrics and the indexing time, per question set the int8 minus fp32 differences, and `adopt`:
whether every paragraph R@5 and MRR@10 difference is at least -0.005. torch is left out by
default: its vectors are the fp32 export's (cosine 0.9999+, checked when the model is built).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from index.embed.embedder import Embedder
from index.indexing import Indexer
from index.search.evaluate import evaluate, load_questions
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store.chroma import Store

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PASSAGES = DATA / "news-id" / "facqa-passages.jsonl"
DETIK = DATA / "news-id" / "detik-2025.jsonl"
QUESTION_SETS = {
    "facqa-test-id": (DATA / "qa" / "facqa.jsonl", "test"),
    "facqa-valid-en": (REPO / "tests" / "data" / "facqa_valid_en.jsonl", None),
}
TOLERANCE = 0.005
METRICS = ("R@5", "MRR@10")


def corpus(folder: Path, detik: int) -> list[Path]:
    """The FacQA passages, plus the first `detik` Detik articles in a file of their own."""
    if detik <= 0:
        return [PASSAGES]
    sample = folder / "detik-sample.jsonl"
    with DETIK.open(encoding="utf-8") as src, sample.open("w", encoding="utf-8") as out:
        out.writelines(itertools.islice(src, detik))
    return [PASSAGES, sample]


def run(runtime: str, inputs: list[Path], workdir: Path, modes: list[str]) -> dict[str, Any]:
    settings = StoreSettings.from_env(store=workdir / runtime)
    embedder = Embedder(settings.model, settings.model_cache, runtime=runtime)
    embedder.embed_passages(["pemanasan", "warm-up"])  # load outside the timing
    store = Store.open(settings)
    started = time.perf_counter()
    report = Indexer(store, embedder, chunk_tokens=settings.chunk_tokens).run(inputs)
    index_s = time.perf_counter() - started
    searcher = Searcher(store, embedder)
    result: dict[str, Any] = {
        "fingerprint": embedder.fingerprint,
        "articles": report.added,
        "chunks": report.chunks,
        "index_s": round(index_s, 1),
        "sets": {},
    }
    for name, (path, split) in QUESTION_SETS.items():
        questions = load_questions(path, split)
        evaluated = evaluate(searcher, questions, modes, k=10)  # type: ignore[arg-type]
        result["sets"][name] = {
            "questions": len(questions),
            **{mode: evaluated["modes"][mode]["all"]["paragraph"] for mode in modes},
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--detik", type=int, default=200, help="Detik articles added (default 200)")
    parser.add_argument("--runtimes", default="onnx,onnx-int8")
    parser.add_argument("--modes", default="dense,hybrid")
    args = parser.parse_args()
    runtimes = args.runtimes.split(",")
    modes = args.modes.split(",")

    workdir = Path(tempfile.mkdtemp(prefix="kabar-int8-"))
    try:
        inputs = corpus(workdir, args.detik)
        results = {runtime: run(runtime, inputs, workdir, modes) for runtime in runtimes}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    output: dict[str, Any] = {
        "corpus": [str(p.relative_to(DATA)) for p in inputs if p.is_relative_to(DATA)],
        "detik_articles": args.detik,
        "runtimes": results,
    }
    if "onnx" in results and "onnx-int8" in results:
        deltas = {
            name: {
                mode: {
                    m: round(
                        results["onnx-int8"]["sets"][name][mode][m]
                        - results["onnx"]["sets"][name][mode][m],
                        4,
                    )
                    for m in METRICS
                }
                for mode in modes
            }
            for name in QUESTION_SETS
        }
        output["int8_minus_fp32"] = deltas
        output["adopt"] = all(
            d >= -TOLERANCE
            for per_set in deltas.values()
            for per_mode in per_set.values()
            for d in per_mode.values()
        )
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
