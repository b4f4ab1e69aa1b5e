"""How long a fresh process takes to open the lexical index of a store, as a search does first.

    python bench/lexical_open.py --store DIR [--runs 5]

Each run is a new process (so imports and file reads are cold for Python, warm for the OS after
one unmeasured run) that opens the store, then times `LexicalCache.sync` (the lexical index as
`Searcher.lexical` first gets it) and, separately, one BM25 query on it. The store must be a
copy: a stale cache is repaired, i.e. written. Prints the medians as JSON (issue 14).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.lexical import LexicalCache

store = Store.open(StoreSettings.from_env())
store.count()  # the client is open, as in a search
started = time.perf_counter()
cache = LexicalCache.for_store(store)
index = cache.sync(store)
opened = time.perf_counter() - started
started = time.perf_counter()
found = index.search(cache.tokenizer.tokens(sys.argv[1]), 10)
query = time.perf_counter() - started
top = [index.rows[i].chunk_id for i, _ in found]
print(json.dumps({"open_s": opened, "query_s": query, "chunks": len(index),
                  "tokenized": cache.last_tokenized, "checked": cache.last_checked, "top": top}))
"""


def run(store: Path, text: str) -> dict[str, Any]:
    env = {**os.environ, "KABAR_STORE": str(store), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, text], env=env, cwd=REPO, check=True, capture_output=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True, help="a COPY of a store folder")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--query", default="harga pupuk bersubsidi")
    args = parser.parse_args()
    store = Path(args.store)
    first = run(store, args.query)  # unmeasured: warms the file cache, repairs a stale cache
    runs = [run(store, args.query) for _ in range(args.runs)]
    print(
        json.dumps(
            {
                "runs": args.runs,
                "chunks": first["chunks"],
                "first_run_open_s": round(first["open_s"], 3),
                "first_run_tokenized": first["tokenized"],
                "open_s_median": round(statistics.median(r["open_s"] for r in runs), 3),
                "open_s_max": round(max(r["open_s"] for r in runs), 3),
                "query_s_median": round(statistics.median(r["query_s"] for r in runs), 4),
                "same_top_every_run": all(r["top"] == first["top"] for r in runs),
                "top": first["top"],
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
