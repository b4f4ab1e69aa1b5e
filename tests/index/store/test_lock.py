"""One writer per store, readers always: two `kabar index` processes, an upload during a CLI
reindex, and searches (another process's and this one's) while chunks are being written."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from assistant.web.library import Library
from index.embed.embedder import Embedder
from index.ingest.sources import iter_articles
from index.records import Article, Hit
from index.search.searcher import Searcher
from index.store.chroma import Store
from index.store.generation import Generation
from index.store.lock import StoreBusyError
from tests.fixtures.paths import SAMPLES
from tests.fixtures.proc import kabar, settings_for, snapshot, start_kabar, wait_for

pytestmark = pytest.mark.slow  # starts processes

COPIES = 4  # the ten sample articles four times over: a reindex long enough to overlap with


def write_corpus(folder: Path, copies: int = COPIES) -> Path:
    """The sample articles as JSONL records, several times over with numbered titles and ids."""
    folder.mkdir(parents=True)
    samples = [a for a in iter_articles([SAMPLES]) if isinstance(a, Article)]
    records = [
        {
            "id": f"copy{copy}-{article.id}",
            "title": f"{article.title} ({copy})",
            "published": article.published,
            "source": article.source,
            "lang": article.lang,
            "text": "\n\n".join([*article.paragraphs, f"Salinan nomor {copy}."]),
        }
        for copy in range(copies)
        for article in samples
    ]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    (folder / "copies.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return folder


def started_writing(proc: subprocess.Popen[str], store: Path) -> None:
    """Wait until `proc` has written its first chunks (so it holds the writer lock)."""
    marker = Generation(settings_for(store).store / ".kabar-generation")
    before = marker.read()
    wait_for(lambda: marker.read() != before, 180, "the first write")
    assert proc.poll() is None, "the reindex finished before the test could overlap with it"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "news")


def test_second_writer_fails_or_waits_and_readers_keep_working(
    corpus: Path, tmp_path: Path, embedder: Embedder
) -> None:
    store = tmp_path / "store"
    settings = settings_for(store)
    writer = start_kabar("index", str(corpus), "--json", "--batch", "8", store=store)
    started_writing(writer, store)

    # A second writer with --wait 0 fails at once, naming the store; one that waits is queued.
    busy = kabar("index", str(SAMPLES), "--wait", "0", store=store)
    assert busy.returncode == 2
    assert f"another Kabar process is writing to {store}" in " ".join(busy.stderr.split())
    queued = start_kabar("index", str(SAMPLES), "--json", "--wait", "300", store=store)

    # A reader in another process and one in this process both answer during the reindex.
    other_reader = start_kabar("search", "banjir Pekalongan", "--json", store=store)
    searcher = Searcher(Store.open(settings), embedder)
    answered: list[list[Hit]] = []
    while writer.poll() is None:
        answered.append(searcher.search("Pekalongan flood warning sensors", k=5))
        time.sleep(0.05)
    assert len(answered) >= 3
    assert all(hit.text and hit.title for hits in answered for hit in hits)
    out, err = other_reader.communicate(timeout=300)
    assert other_reader.returncode == 0, err
    assert json.loads(out), "the reader found nothing"

    assert writer.returncode == 0, writer.communicate()[1]
    out, err = queued.communicate(timeout=600)
    assert queued.returncode == 0, err
    assert json.loads(out)["added"] == 10
    articles = Store.open(settings).articles()
    assert len(articles) == 10 * COPIES + 10 and all(a.consistent for a in articles.values())
    assert len(snapshot(settings).ids) == sum(len(a.chunk_ids) for a in articles.values())
    # This process's searcher now sees every article, written by two other processes.
    hits = searcher.search("County Cup final Salinan nomor 3", k=5, mode="dense")
    assert any(h.article_id.startswith("copy3-") for h in hits)
    assert searcher.store.count() == len(snapshot(settings).ids)


def test_upload_during_a_cli_reindex_waits_or_says_busy(tmp_path: Path, embedder: Embedder) -> None:
    corpus = write_corpus(tmp_path / "news", copies=2)
    store = tmp_path / "store"
    settings = settings_for(store)
    upload = tmp_path / "mine.md"
    upload.write_text(
        "---\ntitle: Pasar Terapung Dibuka Lagi\nlang: id\n---\n\n"
        "Pasar terapung Lok Baintan dibuka lagi setelah banjir surut pada Minggu pagi.\n",
        "utf-8",
    )
    writer = start_kabar("index", str(corpus), "--json", "--batch", "8", store=store)
    try:
        started_writing(writer, store)
        opened = Store.open(settings)
        impatient = Library(settings, opened, embedder, tmp_path / "uploads", lock_timeout=0.2)
        with pytest.raises(StoreBusyError, match="another Kabar process is writing"):
            impatient.add([(upload, "mine.md")])
        patient = Library(settings, opened, embedder, tmp_path / "uploads", lock_timeout=300)
        results = patient.add([(upload, "mine.md")])  # waits for the CLI to let go
        assert [(r.name, r.result) for r in results] == [("mine.md", "added")]
    finally:
        try:
            writer.communicate(timeout=300)  # it lets go of the lock just before it exits
        except subprocess.TimeoutExpired:
            writer.send_signal(signal.SIGKILL)
            writer.communicate()
    assert writer.returncode == 0
    articles = Store.open(settings).articles()
    assert len(articles) == 10 * 2 + 1 and all(a.consistent for a in articles.values())
