"""Search latency in-process, after warm-up: p50/p95 over 200 queries, plain and filtered.

    python bench/search_latency.py --store DIR [--pad-to N] [--queries 200] [--k 5] [--mode ...]

Queries are FacQA questions (Indonesian) and the English FacQA set, alternating. The filtered
runs rotate over four filters of different selectivity (one language, one source, one month,
one small source); each is also reported on its own. The time to open the searcher (model load
and lexical-index check) is reported separately. `--pad-to N` measures a temporary copy of the
store grown to N chunks with re-inserted copies of its own chunks (new ids and article ids, same
vectors and text), for a size the available data does not reach. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from index.search.evaluate import load_questions
from index.search.searcher import MODES, Filters, Searcher
from index.settings import StoreSettings

REPO = Path(__file__).resolve().parents[1]
FACQA = REPO.parent / "shared" / "data" / "qa" / "facqa.jsonl"
ENGLISH = REPO / "tests" / "data" / "facqa_valid_en.jsonl"
FILTERS = {
    "lang=en": Filters(langs=("en",)),
    "source=detik.com": Filters(sources=("detik.com",)),
    "2025-10": Filters(date_from="2025-10-01", date_to="2025-10-31"),
    "source=kumparan": Filters(sources=("kumparan",)),
}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(cut[49] * 1000, 1),
        "p95_ms": round(cut[94] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


def pad(store: Path, target: int, workdir: Path) -> Path:
    """A copy of the store with chunks re-inserted under new ids until it holds `target`."""
    import chromadb
    from chromadb.config import Settings

    copy = workdir / "store"
    shutil.copytree(store, copy, ignore=shutil.ignore_patterns("*.lock"))
    client = chromadb.PersistentClient(str(copy), Settings(anonymized_telemetry=False))
    collection = client.get_collection("kabar-chunks", embedding_function=None)
    copies = 0
    while (missing := target - collection.count()) > 0:
        got = collection.get(
            include=["embeddings", "documents", "metadatas"], limit=min(missing, 5000)
        )
        copies += 1
        metas = [
            {**meta, "article_id": f"pad{copies}-{meta['article_id']}"} for meta in got["metadatas"]
        ]
        collection.add(
            ids=[f"pad{copies}-{cid}" for cid in got["ids"]],
            embeddings=got["embeddings"],
            documents=got["documents"],
            metadatas=metas,
        )
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--mode", nargs="+", choices=MODES, default=["hybrid", "dense"])
    parser.add_argument("--pad-to", type=int, default=0, help="grow a temporary copy to N chunks")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kabar-latency-"))
    try:
        store = pad(Path(args.store), args.pad_to, workdir) if args.pad_to else Path(args.store)
        measure(args, store)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(args: argparse.Namespace, store: Path) -> None:
    started = time.perf_counter()
    searcher = Searcher.from_settings(StoreSettings.from_env(store=store))
    indonesian = [q.question for q in load_questions(FACQA, "test")]
    english = [q.question for q in load_questions(ENGLISH)]
    mixed = [q for pair in zip(indonesian, english * 4, strict=False) for q in pair]
    queries = mixed[: args.queries]
    for query in mixed[-10:]:  # warm-up: model, lexical index, Chroma's segment caches
        searcher.search(query, args.k)
        searcher.search(query, args.k, FILTERS["lang=en"])
    warm_s = time.perf_counter() - started

    results: dict[str, object] = {
        "store": args.store,
        "padded_to": args.pad_to or None,
        "chunks": searcher.store.count(),
        "open_and_warm_up_s": round(warm_s, 2),
        "k": args.k,
    }
    names = list(FILTERS)
    for mode in args.mode:
        plain: list[float] = []
        filtered: list[float] = []
        by_filter: dict[str, list[float]] = {name: [] for name in names}
        for i, query in enumerate(queries):
            t0 = time.perf_counter()
            searcher.search(query, args.k, mode=mode)
            plain.append(time.perf_counter() - t0)
            name = names[i % len(names)]
            t0 = time.perf_counter()
            searcher.search(query, args.k, FILTERS[name], mode=mode)
            filtered.append(time.perf_counter() - t0)
            by_filter[name].append(filtered[-1])
        results[mode] = {
            "plain": percentiles(plain),
            "filtered": percentiles(filtered),
            "by_filter": {name: percentiles(times) for name, times in by_filter.items()},
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
