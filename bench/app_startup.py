"""Time from `python app.py` to a ready page, and the serving process's peak memory.

    python bench/app_startup.py [--store DIR] [--questions 5]

Indexes the bundled samples into the store first (not timed), starts `app.py` on a free port,
polls until the page's textbox renders in headless Chromium, asks a few questions through the
JSON API so the model is loaded and used, then reads the process's peak RSS (VmHWM). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

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


def wait_for_textbox(url: str, timeout: float) -> float:
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        while True:
            try:
                page.goto(url, timeout=5000)
                page.locator("#kabar-question textarea").wait_for(timeout=timeout * 1000)
                break
            except Exception:
                if time.perf_counter() - started > timeout:
                    raise
                time.sleep(0.2)
        browser.close()
    return time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", help="store folder (default: a temp folder with the samples)")
    parser.add_argument("--questions", type=int, default=5)
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
        ready = wait_for_textbox(url, timeout=180)
        questions = ["Siapa pemenang Malang Highland Marathon?", "How much did Panen Pintar raise?"]
        latencies = []
        for i in range(args.questions):
            t = time.perf_counter()
            r = httpx.post(url + "api/ask", json={"question": questions[i % 2]}, timeout=120)
            r.raise_for_status()
            latencies.append(time.perf_counter() - t)
        result = {
            "page_ready_s": round(ready - started, 2),
            "first_answer_s": round(latencies[0], 2),
            "later_answer_s_median": round(sorted(latencies[1:])[len(latencies[1:]) // 2], 3)
            if len(latencies) > 1
            else None,
            "peak_rss_mb": round(peak_rss_mb(server.pid), 1),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
