"""Time from `python app.py` to a ready page, and the serving process's peak memory.

    python bench/app_startup.py [--store DIR] [--questions 5] [--runs 5]

Indexes the bundled samples into the store first (not timed) and starts headless Chromium, as a
user's browser is already open. Then, for each of `--runs` fresh starts: starts `app.py` on a
free port, waits until it accepts connections (`listening_s`), opens the page in a new tab and
waits for its textbox (`page_ready_s`), asks a few questions through the JSON API so the model is
loaded and used, and reads the process's peak RSS (VmHWM). The median times and the largest RSS
are kept (single starts varied by 1.5 s on our shared 2-core machine).
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.cli.serve import listening  # noqa: E402
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 (as the tests launch it)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for_textbox(browser: Any, url: str, timeout: float) -> float:
    """When the chat's textbox shows in a new page of the (already running) browser, opened
    once the server listens, as a user opens the link the server prints. (Reloading the page
    until the server answered rendered Chromium's error page every 0.15 s on the same two cores
    as the starting server, and added about a second.)"""
    page = browser.new_page()
    try:
        page.goto(url, timeout=timeout * 1000)
        page.locator("#kabar-question textarea").wait_for(timeout=timeout * 1000)
        return time.perf_counter()
    finally:
        page.close()


def one_run(browser: Any, env: dict[str, str], questions: int) -> dict[str, float | None]:
    """Start `app.py`, wait for the textbox, ask `questions` questions, stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # When `kabar serve` prints its "serving on" line.
        if not listening("127.0.0.1", port, timeout=180, every=0.02):
            raise TimeoutError(f"app.py did not listen on port {port}")
        listened = time.perf_counter()
        ready = wait_for_textbox(browser, url, timeout=180)
        asked = ["Siapa pemenang Malang Highland Marathon?", "How much did Panen Pintar raise?"]
        latencies = []
        for i in range(questions):
            t = time.perf_counter()
            r = httpx.post(url + "api/ask", json={"question": asked[i % 2]}, timeout=120)
            r.raise_for_status()
            latencies.append(time.perf_counter() - t)
        return {
            "page_ready_s": round(ready - started, 2),
            "listening_s": round(listened - started, 2),
            "first_answer_s": round(latencies[0], 2) if latencies else None,
            "later_answer_s_median": round(statistics.median(latencies[1:]), 3)
            if len(latencies) > 1
            else None,
            "peak_rss_mb": round(peak_rss_mb(server.pid), 1),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", help="store folder (default: a temp folder with the samples)")
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5, help="fresh starts; the median is kept")
    args = parser.parse_args()
    store = Path(args.store or tempfile.mkdtemp(prefix="kabar-startup-")) / "store"
    env = {**os.environ, "KABAR_STORE": str(store)}
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "kabar"), "index", str(REPO / "index" / "data" / "samples"), "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    from playwright.sync_api import sync_playwright

    # The browser is started first: a user's browser is already open, and launching it beside
    # the server would time Chromium's start on the same two cores as well.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        runs = [one_run(browser, env, args.questions) for _ in range(args.runs)]
        browser.close()
    ready = [float(r["page_ready_s"] or 0) for r in runs]
    peak = max(float(r["peak_rss_mb"] or 0) for r in runs)
    result = {
        "runs": args.runs,
        "page_ready_s_median": round(statistics.median(ready), 2),
        "page_ready_s_all": ready,
        "listening_s_median": statistics.median(float(r["listening_s"] or 0) for r in runs),
        "listening_s_all": [r["listening_s"] for r in runs],
        "first_answer_s_median": statistics.median(float(r["first_answer_s"] or 0) for r in runs),
        "later_answer_s_median": runs[0]["later_answer_s_median"],
        "peak_rss_mb_max": peak,
        "goals": {
            "page_ready_under_5s": statistics.median(ready) < 5,
            "rss_under_600mb": peak < 600,
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
