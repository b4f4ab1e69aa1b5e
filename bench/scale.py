"""The scale curve: a store padded to 20k, 200k and 1M chunks, opened, searched and added to.

    python bench/scale.py --store DIR [--sizes 20000 200000 1000000] [--articles 1000]
                          [--ef-construction N] [--workdir DIR] [--keep]

For each size, a copy of `--store` (a store built by `kabar index`, e.g. all of ../shared/data)
is grown with copies of its own chunks: new chunk and article ids, the same text, and each
vector perturbed (Gaussian noise, sigma 0.01 per dimension, then renormalised: cosine about
0.98 to the original) so the vector index holds distinct points as it would with real news.
Then, each as a fresh process where it is a command a user runs:

- `disk_mb`: the store folder's size;
- `first_search`: the first `kabar search` after the padding, which (re)builds the lexical
  index for the chunks it has not seen (time, peak RSS);
- `cold_search`: `kabar search` again (median wall time of 3, largest peak RSS): opening the
  store, the lexical index from its saved arrays, the model, one search;
- `latency`: `bench/search_latency.py` on the store (hybrid, 100 questions after warm-up);
- `index_add`: `kabar index` adding `--articles` BBC articles under new ids (time, peak RSS,
  chunks added), which also rewrites the lexical index files.

`--ef-construction N` builds the padded graph with a smaller `ef_construction` than Kabar's
(the only way to get a 1M point in reasonable time on 2 cores). Search cost depends on
`ef_search`, which stays Kabar's, and memory on `max_neighbors`, which stays too; but
`kabar index` would first rebuild such a graph with Kabar's settings, so `index_add` is then
skipped. Prints one JSON object per size as it finishes, then all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.cold_start import measure  # noqa: E402

BIN = Path(sys.executable).parent
BBC = REPO.parent / "shared" / "data" / "news-en" / "bbc-news-2005.jsonl"
QUESTION = "harga pupuk bersubsidi"
BATCH = 5000  # Chroma's largest batch is 5461
SIGMA = 0.01


def figures(run: dict[str, Any]) -> dict[str, float]:
    """Wall time and peak RSS of a `measure`d process, rounded for the report."""
    return {"wall_s": round(run["wall_s"], 2), "peak_rss_mb": round(run["peak_rss_mb"], 1)}


def folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def pad(base: Path, target: int, store: Path, ef_construction: int | None) -> dict[str, Any]:
    """Copy `base` to `store` and grow it to `target` chunks with perturbed copies."""
    import chromadb
    from chromadb.config import Settings

    from index.store import migration
    from index.store.chroma import HNSW

    shutil.copytree(base, store, ignore=shutil.ignore_patterns("*.lock"))
    client = chromadb.PersistentClient(str(store), Settings(anonymized_telemetry=False))
    name = "kabar-chunks"
    collection = client.get_collection(name, embedding_function=None)
    if ef_construction is not None:  # the same chunks in a graph built more cheaply
        hnsw = {**HNSW, "ef_construction": ef_construction}
        migration.upgrade(client, name, hnsw, changed=lambda: None)
        collection = client.get_collection(name, embedding_function=None)
    got = collection.get(include=["embeddings", "documents", "metadatas"])
    order = sorted(range(len(got["ids"])), key=lambda i: str(got["metadatas"][i]["article_id"]))
    ids = [got["ids"][i] for i in order]
    documents = [got["documents"][i] for i in order]
    metadatas = [got["metadatas"][i] for i in order]
    vectors = np.asarray(got["embeddings"], dtype=np.float32)[order]
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    copy = 0
    while (missing := target - collection.count()) > 0:
        copy += 1
        for start in range(0, min(missing, len(ids)), BATCH):
            end = min(start + BATCH, missing, len(ids))
            noisy = vectors[start:end] + rng.normal(0, SIGMA, (end - start, vectors.shape[1]))
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            collection.add(
                ids=[f"pad{copy}-{cid}" for cid in ids[start:end]],
                embeddings=noisy.astype(np.float32),
                documents=documents[start:end],
                metadatas=[
                    {**m, "article_id": f"pad{copy}-{m['article_id']}"}
                    for m in metadatas[start:end]
                ],
            )
    chunks = collection.count()
    del client
    # Writers bump the generation marker after writing; so does this one.
    from index.store.generation import Generation

    Generation(store / ".kabar-chunks-generation").bump()
    return {"chunks": chunks, "pad_s": round(time.perf_counter() - started, 1)}


def new_articles(count: int, folder: Path) -> Path:
    """`count` BBC articles under new ids (same outlet, so not screened as duplicates)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "scale-add.jsonl"
    with BBC.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            if n >= count:
                break
            record = json.loads(line)
            record["id"] = f"scale-{record['id']}"
            if record.get("url"):
                record["url"] = record["url"] + "#scale"
            dst.write(json.dumps(record, ensure_ascii=False) + "\n")
    return out


def one_size(args: argparse.Namespace, size: int, workdir: Path) -> dict[str, Any]:
    store = workdir / f"store-{size}"
    # Padded in a child process: a child's peak RSS (`ru_maxrss`) counts its parent's RSS at
    # the fork, so this process stays small for the measurements below to be the commands' own.
    padding = [sys.executable, __file__, "--store", args.store, "--pad-into", str(store)]
    padding += ["--sizes", str(size)]
    if args.ef_construction is not None:
        padding += ["--ef-construction", str(args.ef_construction)]
    padded = json.loads(subprocess.run(padding, check=True, capture_output=True).stdout)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KABAR_LLM")},
        "KABAR_STORE": str(store),
        "HF_HUB_OFFLINE": "1",
    }
    result: dict[str, Any] = {"size": size, **padded, "disk_mb": folder_mb(store)}
    search = [str(BIN / "kabar"), "search", QUESTION, "--json"]
    result["first_search"] = figures(measure(search, env))
    cold = [figures(measure(search, env)) for _ in range(3)]
    result["cold_search"] = {
        "wall_s_median": statistics.median(c["wall_s"] for c in cold),
        "peak_rss_mb_max": max(c["peak_rss_mb"] for c in cold),
    }
    latency = measure(
        [
            sys.executable,
            str(REPO / "bench" / "search_latency.py"),
            "--store",
            str(store),
            "--queries",
            "100",
            "--mode",
            "hybrid",
        ],
        env,
    )
    report = json.loads(latency["stdout"])
    result["latency"] = {
        "open_and_warm_up_s": report.get("open_and_warm_up_s"),
        "hybrid": report.get("hybrid", {}).get("plain"),
        "hybrid_filtered": report.get("hybrid", {}).get("filtered"),
        "peak_rss_mb": figures(latency)["peak_rss_mb"],
    }
    if args.ef_construction is None:
        added = new_articles(args.articles, workdir / f"add-{size}")
        index = measure([str(BIN / "kabar"), "index", str(added), "--json"], env)
        summary = json.loads(index["stdout"])
        result["index_add"] = {
            "articles": summary.get("added"),
            "chunks_added": summary.get("chunks"),
            **figures(index),
        }
        result["disk_mb_after_add"] = folder_mb(store)
    else:
        result["index_add"] = None
        result["ef_construction"] = args.ef_construction
    if not args.keep:
        shutil.rmtree(store, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True, help="a store built by `kabar index`")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000, 1_000_000])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--ef-construction", type=int, help="cheaper graph build for padding")
    parser.add_argument("--workdir", help="where the padded stores go (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the padded stores")
    parser.add_argument("--pad-into", help=argparse.SUPPRESS)  # the child that pads
    args = parser.parse_args()
    if args.pad_into:
        padded = pad(Path(args.store), args.sizes[0], Path(args.pad_into), args.ef_construction)
        print(json.dumps(padded))
        return
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="kabar-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.sizes:
        results.append(one_size(args, size, workdir))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"base": args.store, "sizes": results}, indent=2))


if __name__ == "__main__":
    main()
