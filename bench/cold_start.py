"""Cold start of the CLI against importing sentence-transformers, measured in the same run.

    python bench/cold_start.py [--store DIR] [--runs 5]

Each command runs `--runs` times as a fresh process, the commands interleaved so that a change
in the machine's load hits all of them alike, after one unmeasured round that warms the file
cache. Per command: the median wall time, the median CPU time (user + system) and the largest
peak RSS (the child's `ru_maxrss`), and whether it wrote anything to stderr (a plain search
should print no progress bar or warning). The ratios divide each command's median wall time by
that of `python -c "import sentence_transformers"`; the goals (issue 14) are search < 0.3x with
peak RSS < 500 MB and ask < 0.45x. On a machine shared with other work, the CPU-time ratios are
the steadier figure and are printed too.

Without `--store`, the bundled samples are indexed into a temporary store first (not timed).
`kabar ask` runs without an LLM configured (KABAR_LLM_* unset), so it answers extractively.
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

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
QUESTION = "Siapa pemenang Malang Highland Marathon?"

COMMANDS: dict[str, list[str]] = {
    "import_sentence_transformers": [sys.executable, "-c", "import sentence_transformers"],
    "search": [str(BIN / "kabar"), "search", "harga pupuk bersubsidi"],
    "search_json": [str(BIN / "kabar"), "search", "harga pupuk bersubsidi", "--json"],
    "ask": [str(BIN / "kabar"), "ask", QUESTION, "--json"],
    "help": [str(BIN / "kabar"), "--help"],
    "feeds_list": [str(BIN / "kabar"), "feeds", "list"],
}


def measure(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Wall time, CPU time, peak RSS (the child's own `ru_maxrss`, which also counts this
    process's RSS at the fork: keep the caller small), stderr size and stdout of one fresh
    process. stderr goes to a file, so a chatty child can never block on a full pipe."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=errors, cwd=REPO)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        stderr = errors.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}): {stderr.decode()[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "stderr_bytes": len(stderr),
        "stdout": out.decode(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", help="store folder (default: a temp store of the samples)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    workdir = None if args.store else Path(tempfile.mkdtemp(prefix="kabar-cold-"))
    store = Path(args.store) if args.store else Path(str(workdir)) / "store"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KABAR_LLM")},
        "KABAR_STORE": str(store),
        "HF_HUB_OFFLINE": "1",
    }
    try:
        if workdir is not None:
            subprocess.run(
                [str(BIN / "kabar"), "index", str(REPO / "index" / "data" / "samples"), "--json"],
                env=env,
                check=True,
                capture_output=True,
            )
        for argv in COMMANDS.values():  # warm the file cache and the model folder check
            measure(argv, env)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in COMMANDS}
        for _ in range(args.runs):
            for name, argv in COMMANDS.items():
                runs[name].append(measure(argv, env))
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    summary = {
        name: {
            "wall_s_median": round(statistics.median(r["wall_s"] for r in rs), 3),
            "cpu_s_median": round(statistics.median(r["cpu_s"] for r in rs), 3),
            "peak_rss_mb_max": round(max(r["peak_rss_mb"] for r in rs), 1),
            "stderr_bytes_max": max(r["stderr_bytes"] for r in rs),
        }
        for name, rs in runs.items()
    }
    base = summary["import_sentence_transformers"]

    def ratio(name: str, key: str) -> float:
        return round(summary[name][key] / base[key], 3)

    result = {
        "runs": args.runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "commands": summary,
        "search_vs_import_st": ratio("search", "wall_s_median"),
        "search_vs_import_st_cpu": ratio("search", "cpu_s_median"),
        "ask_vs_import_st": ratio("ask", "wall_s_median"),
        "ask_vs_import_st_cpu": ratio("ask", "cpu_s_median"),
        "goals": {
            "search_under_0.3x": ratio("search", "wall_s_median") < 0.3,
            "search_rss_under_500mb": summary["search"]["peak_rss_mb_max"] < 500,
            "ask_under_0.45x": ratio("ask", "wall_s_median") < 0.45,
            "search_quiet": summary["search"]["stderr_bytes_max"] == 0,
            "help_under_1s": summary["help"]["wall_s_median"] < 1.0,
            "feeds_list_under_1s": summary["feeds_list"]["wall_s_median"] < 1.0,
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
