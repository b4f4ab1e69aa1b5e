"""Time a first `kabar index` run against a second run on the same, unchanged inputs.

    python bench/reindex.py [PATH ...] [--keep DIR]

Prints JSON: wall seconds of each run (whole processes, model loading included), their ratio,
and both reports. Default inputs: the Indonesian news files in ../shared/data/news-id.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUTS = [
    REPO.parent / "shared" / "data" / "news-id" / "detik-2025.jsonl",
    REPO.parent / "shared" / "data" / "news-id" / "indosum-dev01.jsonl",
]


def run_index(paths: list[str], store: Path) -> tuple[float, dict[str, object]]:
    kabar = Path(sys.executable).parent / "kabar"
    env = {**os.environ, "KABAR_STORE": str(store)}
    started = time.perf_counter()
    done = subprocess.run(
        [str(kabar), "index", *paths, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"kabar index failed: {done.stderr}")
    return elapsed, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", default=[str(p) for p in DEFAULT_INPUTS])
    parser.add_argument("--keep", help="store folder to use and keep (default: a temp folder)")
    args = parser.parse_args()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kabar-bench-"))
    try:
        first_s, first = run_index(args.paths, workdir)
        second_s, second = run_index(args.paths, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        json.dumps(
            {
                "inputs": args.paths,
                "first_run_s": round(first_s, 2),
                "second_run_s": round(second_s, 2),
                "ratio": round(second_s / first_s, 4),
                "first": {k: v for k, v in first.items() if k != "failed"},
                "second": {k: v for k, v in second.items() if k != "failed"},
                "failed": len(first["failed"]),  # type: ignore[arg-type]
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
