"""Bounded load on the running app while `kabar index` adds 200 articles in another process.

    python bench/load.py [--clients 8] [--seconds 60] [--articles 200] [--no-compare]

Indexes the bundled samples into a temporary store, starts `app.py` on 127.0.0.1 with that
store, then at once starts `kabar index` of the first N Detik records (../shared/data) as a
separate process and runs CLIENTS concurrent clients against `GET /api/search` and
`POST /api/ask` for SECONDS. Afterwards it checks the store (every article consistent, no chunk
twice) against a clean index of the same inputs, and asks the app about an article the other
process added (so the app's reader has picked up another process's writes). Prints JSON:
requests, errors and p50/p95 latency per endpoint, the reindex, and the store check.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
DETIK = REPO.parent / "shared" / "data" / "news-id" / "detik-2025.jsonl"
SAMPLES = REPO / "index" / "data" / "samples"
BIN = Path(sys.executable).parent
QUESTIONS = [
    "Berapa inflasi yang dibanggakan presiden?",
    "Where will the ferry between Waingapu and Ende run?",
    "Apa status Gunung Slamet?",
    "Who won the Malang Highland Marathon?",
    "Siapa yang meresmikan perpustakaan di Banjarmasin?",
    "How much did Panen Pintar raise?",
    "banjir Pekalongan sensor",
    "kebijakan ekonomi pemerintah",
]


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Tally:
    """One endpoint's results; appended to from several client threads."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.latencies.append(seconds)
            else:
                self.errors.append(error)

    def summary(self) -> dict[str, Any]:
        ms = sorted(x * 1000 for x in self.latencies)
        pct = statistics.quantiles(ms, n=20) if len(ms) >= 2 else ms * 19
        return {
            "requests": len(ms) + len(self.errors),
            "errors": len(self.errors),
            "p50_ms": round(statistics.median(ms), 1) if ms else None,
            "p95_ms": round(pct[18], 1) if ms else None,
            "max_ms": round(ms[-1], 1) if ms else None,
        }


def call(client: httpx.Client, endpoint: str, question: str) -> None:
    if endpoint == "search":
        response = client.get("/api/search", params={"q": question, "k": 5})
    else:
        response = client.post("/api/ask", json={"question": question})
    response.raise_for_status()
    body = response.json()
    if endpoint == "search" and not all(hit.get("text") for hit in body):
        raise ValueError("a hit without text")


def client_loop(base: str, worker: int, until: float, tallies: dict[str, Tally]) -> None:
    order = itertools.cycle(itertools.product(sorted(tallies), QUESTIONS))
    for _ in range(worker * 3):  # clients start at different questions
        next(order)
    with httpx.Client(base_url=base, timeout=120) as client:
        while time.monotonic() < until:
            endpoint, question = next(order)
            started = time.perf_counter()
            error = None
            try:
                call(client, endpoint, question)
            except (httpx.HTTPError, ValueError) as exc:
                detail = exc.response.text[:200] if isinstance(exc, httpx.HTTPStatusError) else ""
                error = f"{type(exc).__name__}: {exc} {detail}".strip()
            tallies[endpoint].add(time.perf_counter() - started, error)


def kabar(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "kabar"), *args], capture_output=True, text=True, env=env, check=False
    )


def wait_until_up(base: str, app: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"app.py exited with {app.returncode}")
        try:
            if httpx.get(f"{base}/api/search", params={"q": "banjir"}, timeout=60).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError("the app did not answer in time")


def store_check(store: Path) -> dict[str, Any]:
    """Articles and chunks as the store's own bookkeeping sees them."""
    from index.settings import StoreSettings
    from index.store.chroma import Store

    articles = Store.open(StoreSettings(store=store)).articles()
    chunk_ids = [cid for a in articles.values() for cid in a.chunk_ids]
    return {
        "articles": len(articles),
        "chunks": len(chunk_ids),
        "duplicate_chunk_ids": len(chunk_ids) - len(set(chunk_ids)),
        "inconsistent": sorted(a.article_id for a in articles.values() if not a.consistent),
        "ids": sorted(articles),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--no-compare", action="store_true", help="skip the clean index")
    parser.add_argument(
        "--endpoints", default="search,ask", help="comma-separated: search, ask (default both)"
    )
    args = parser.parse_args()
    if not DETIK.exists():
        sys.exit(f"{DETIK} is not present")

    work = Path(tempfile.mkdtemp(prefix="kabar-load-"))
    store = work / "store"
    news = work / "news.jsonl"
    with DETIK.open(encoding="utf-8") as src:
        news.write_text("".join(itertools.islice(src, args.articles)), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env["KABAR_STORE"] = str(store)
    progress(f"indexing the samples into {store}")
    seeded = kabar("index", str(SAMPLES), "--json", env=env)
    if seeded.returncode != 0:
        sys.exit(seeded.stderr)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "app.log", "wb"),  # noqa: SIM115 (closed with the process)
    )
    result: dict[str, Any] = {"clients": args.clients, "seconds": args.seconds}
    try:
        progress(f"starting the app on {base}")
        wait_until_up(base, app)
        progress(f"{args.clients} clients for {args.seconds:g}s while indexing {news}")
        tallies = {name: Tally() for name in args.endpoints.split(",")}
        started = time.monotonic()
        indexer = subprocess.Popen(
            [str(BIN / "kabar"), "index", str(news), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        until = started + args.seconds
        clients = [
            threading.Thread(target=client_loop, args=(base, i, until, tallies))
            for i in range(args.clients)
        ]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        load_done = time.monotonic()
        progress("load done; waiting for the reindex")
        out, err = indexer.communicate()
        index_done = time.monotonic()
        result["index"] = {
            "returncode": indexer.returncode,
            "seconds": round(index_done - started, 1),
            "under_load_seconds": round(min(index_done, load_done) - started, 1),
            "report": json.loads(out) if indexer.returncode in (0, 1) else err[-2000:],
        }
        result["endpoints"] = {name: tally.summary() for name, tally in tallies.items()}
        result["error_examples"] = sorted({e for t in tallies.values() for e in t.errors})[:5]
        # The app must now find an article that only the other process wrote.
        first = json.loads(news.read_text("utf-8").split("\n", 1)[0])
        hits = httpx.get(f"{base}/api/search", params={"q": first["title"], "k": 5}, timeout=120)
        result["app_sees_new_article"] = any(h["article_id"] == first["id"] for h in hits.json())
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()

    after = store_check(store)
    check: dict[str, Any] = {k: v for k, v in after.items() if k != "ids"}
    if not args.no_compare:
        progress("indexing the same inputs into a clean store")
        clean_env = {**env, "KABAR_STORE": str(work / "clean")}
        kabar("index", str(SAMPLES), "--json", env=clean_env)
        kabar("index", str(news), "--json", env=clean_env)
        clean = store_check(work / "clean")
        check.update(
            clean_articles=clean["articles"],
            clean_chunks=clean["chunks"],
            lost=sorted(set(clean["ids"]) - set(after["ids"])),
            extra=sorted(set(after["ids"]) - set(clean["ids"])),
        )
    result["store"] = check
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if any(t["errors"] for t in result.get("endpoints", {}).values()):
        progress(f"requests failed: the app's log is {work / 'app.log'}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
