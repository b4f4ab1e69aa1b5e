"""Server mode: `kabar index` and `kabar search` against a real `chroma run` on 127.0.0.1.

The same incremental cycle (add, unchanged, update, prune) and the same crash-and-rerun as with
the embedded store; the lock and the lexical cache live in KABAR_STORE's per-server folder.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.store.chroma import cache_folder
from index.store.lock import lock_path
from tests.fixtures.paths import SAMPLES
from tests.fixtures.proc import (
    Server,
    assert_every_vector_findable,
    assert_same_store,
    kabar,
    kabar_killed_after,
    settings_for,
    snapshot,
    start_chroma,
    stop,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    proc, address = start_chroma(tmp_path / "chroma")
    try:
        yield address
    finally:
        stop(proc)


def copy_samples(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for file in SAMPLES.glob("*.md"):
        shutil.copy(file, folder / file.name)
    return folder


def report(result: subprocess.CompletedProcess[str]) -> tuple[int, int, int, int]:
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return data["added"], data["updated"], data["unchanged"], data["removed"]


def test_incremental_cycle_and_search(server: Server, tmp_path: Path) -> None:
    local = tmp_path / "local"  # KABAR_STORE: only Kabar's own files for this server
    corpus = copy_samples(tmp_path / "news")
    run = ("index", str(corpus), "--json", "--prune")
    assert report(kabar(*run, store=local, server=server)) == (6, 0, 0, 0)
    assert report(kabar(*run, store=local, server=server)) == (0, 0, 6, 0)
    settings = settings_for(local, server)
    assert lock_path(settings).parent == cache_folder(settings)
    assert cache_folder(settings).is_relative_to(local)
    assert list(cache_folder(settings).glob("*-lexical.json.gz"))
    assert not (local / "chroma.sqlite3").exists()  # the data is in the server's folder

    marathon = corpus / "2026-07-12-malang-highland-marathon.md"
    marathon.write_text(marathon.read_text("utf-8").replace("9,400", "9,800"), "utf-8")
    (corpus / "2026-08-25-panen-pintar-series-a.md").unlink()
    assert report(kabar(*run, store=local, server=server)) == (0, 1, 4, 1)
    articles = snapshot(settings)
    assert any("9,800" in doc for doc in articles.documents.values())
    assert not any("9,400" in doc for doc in articles.documents.values())

    found = kabar("search", "Who won the Malang marathon?", "--json", store=local, server=server)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert "Malang" in hits[0]["title"]
    assert_every_vector_findable(settings)

    # A second writer on this machine is told the server is busy (the lock is per server).
    from index.store.lock import writer_lock

    with writer_lock(settings, timeout=0):
        busy = kabar(*run, "--wait", "0", store=local, server=server)
    assert busy.returncode == 2
    assert f"writing to the Chroma server 127.0.0.1:{server[1]}" in " ".join(busy.stderr.split())


def test_crash_and_rerun(server: Server, tmp_path: Path) -> None:
    corpus = copy_samples(tmp_path / "news")
    run = ("index", str(corpus), "--json", "--batch", "2")
    clean_proc, clean_server = start_chroma(tmp_path / "clean-chroma")
    try:
        assert report(kabar(*run, store=tmp_path / "clean", server=clean_server))[0] == 6
        reference = snapshot(settings_for(tmp_path / "clean", clean_server))
    finally:
        stop(clean_proc)

    local = tmp_path / "local"
    for writes in (1, 4):
        crashed = kabar_killed_after(writes, *run, store=local, server=server)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    added, updated, unchanged, _ = report(kabar(*run, store=local, server=server))
    assert added + updated + unchanged == 6 and unchanged > 0
    assert_same_store(snapshot(settings_for(local, server)), reference)
    assert_every_vector_findable(settings_for(local, server))
