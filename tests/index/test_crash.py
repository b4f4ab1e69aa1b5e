"""SIGKILL `kabar index` at many points; the next run must leave exactly what a clean run leaves.

The bookkeeping lives in the chunks (content hash and chunk count on every chunk; upsert, then
delete what is stale), so there is nothing else to get out of step. These tests check it end to
end on real processes and a real Chroma store: kills at wall-clock delays during the write phase,
and kills at known writes (between an article's new chunks and the deletion of its stale ones).
After every kill no article looks indexed without all of its chunks; after the rerun the store
holds the same chunk ids, texts, metadata and vectors as a clean index, and every vector is in
Chroma's vector index.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import pytest

from index.store.chroma import Store
from index.store.generation import Generation
from tests.fixtures.paths import SAMPLES
from tests.fixtures.proc import (
    Snapshot,
    assert_every_vector_findable,
    assert_same_store,
    kabar,
    kabar_killed_after,
    settings_for,
    snapshot,
    start_kabar,
    wait_for,
)

pytestmark = pytest.mark.slow  # starts processes

BATCH = "2"  # chunks per write: about one article, so a run makes a dozen writes
NEW_ARTICLE = """---
title: Jembatan Gantung Baru Hubungkan Dua Desa di Lereng Merapi
date: 2026-09-01
source: Kabar Contoh
lang: id
---

Jembatan gantung sepanjang 120 meter resmi dibuka pada Selasa dan menghubungkan Desa Sidorejo
dengan Desa Tegalmulyo yang selama ini terpisah oleh sungai berbatu.

Warga sebelumnya harus memutar sejauh 14 kilometer untuk mencapai pasar kecamatan.
"""


def copy_samples(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for file in SAMPLES.iterdir():
        if file.name != "README.md":
            shutil.copy(file, folder / file.name)
    return folder


def _chunks_of(snap: Snapshot, article_id: str) -> dict[str, tuple[str, dict[str, object]]]:
    return {
        cid: (snap.documents[cid], snap.metadatas[cid])
        for cid, meta in snap.metadatas.items()
        if meta["article_id"] == article_id
    }


def assert_no_false_done(store: Path, *versions: Snapshot) -> None:
    """Every article the store calls indexed has exactly the chunks (ids, texts, metadata) of
    one clean index of it: the old one until the rerun reaches it, or the new one."""
    articles = Store.open(settings_for(store)).articles()
    current = snapshot(settings_for(store))
    for article in articles.values():
        if article.consistent:  # the others are rewritten by the next run
            held = _chunks_of(current, article.article_id)
            assert any(held == _chunks_of(v, article.article_id) for v in versions), article


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_samples(tmp_path_factory.mktemp("crash") / "news")


@pytest.fixture(scope="module")
def clean_store(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("clean") / "store"
    result = kabar("index", str(corpus), "--json", store=store)
    assert result.returncode == 0, result.stderr
    return store


@pytest.fixture(scope="module")
def reference(clean_store: Path) -> Snapshot:
    return snapshot(settings_for(clean_store))


def run_and_kill(corpus: Path, store: Path, delay: float | None) -> bool:
    """Start `kabar index`, SIGKILL it `delay` seconds after its first write (None: at 2 s,
    while it starts); True when it was killed after writing something."""
    marker = Generation(settings_for(store).store / ".kabar-generation")
    before = marker.read()
    proc = start_kabar("index", str(corpus), "--json", "--batch", BATCH, store=store)
    if delay is None:
        time.sleep(2.0)
    else:
        wait_for(lambda: marker.read() != before or proc.poll() is not None, 120, "a write")
        time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return proc.returncode == -signal.SIGKILL and marker.read() != before


def test_kills_at_wall_clock_delays(corpus: Path, reference: Snapshot, tmp_path: Path) -> None:
    """Kill once while the model loads, then at growing delays after the first write lands."""
    store = tmp_path / "store"
    killed_mid_write = 0
    for delay in (None, 0.0, 0.5, 1.2):
        killed_mid_write += run_and_kill(corpus, store, delay)
        assert_no_false_done(store, reference)
    assert killed_mid_write >= 2, "the kills all missed the write phase; the corpus is too small"

    final = kabar("index", str(corpus), "--json", store=store)
    assert final.returncode == 0, final.stderr
    report = json.loads(final.stdout)
    assert report["added"] + report["updated"] + report["unchanged"] == 10
    assert_same_store(snapshot(settings_for(store)), reference)
    assert_every_vector_findable(settings_for(store))
    again = json.loads(kabar("index", str(corpus), "--json", store=store).stdout)
    assert (again["unchanged"], again["chunks"]) == (10, 0)


def test_kills_at_known_writes_during_an_update(clean_store: Path, tmp_path: Path) -> None:
    """Kill after an article's new chunks are in but its stale ones are not yet deleted, then
    after a later write; the rerun must still equal a clean index of the new corpus, pruned."""
    corpus = copy_samples(tmp_path / "news")
    store = tmp_path / "store"
    # A clean index of this folder without embedding anything again: the module's clean index
    # of the same articles, moved here (only the paths its chunks remember change).
    shutil.copytree(clean_store, store)
    moved = kabar("index", str(corpus), "--json", store=store)
    assert json.loads(moved.stdout)["unchanged"] == 10, moved.stderr
    old = snapshot(settings_for(store))

    # The first article in name order loses all but one paragraph (fewer chunks), one changes a
    # figure, one file goes and a new one arrives.
    shrinking = sorted(corpus.glob("*.md"))[0]
    head, _, body = shrinking.read_text("utf-8").partition("\n---\n")
    shrinking.write_text(f"{head}\n---\n{body.strip().split(chr(10) * 2)[0]}\n", "utf-8")
    changed = corpus / "2026-07-12-malang-highland-marathon.md"
    changed.write_text(changed.read_text("utf-8").replace("9,400", "9,800"), "utf-8")
    (corpus / "2026-08-25-panen-pintar-series-a.md").unlink()
    (corpus / "zz-baru.md").write_text(NEW_ARTICLE, "utf-8")
    args = ("index", str(corpus), "--prune", "--json", "--batch", BATCH)

    clean = tmp_path / "clean"
    assert kabar(*args, store=clean).returncode == 0
    reference = snapshot(settings_for(clean))
    old_ids = {cid for cid, m in old.metadatas.items() if m["path"] == str(shrinking.resolve())}
    assert len(old_ids) > 1  # the shrinking article really had several chunks

    # Write 1 upserts the first batch (the shrunk and the changed article): the shrunk one's
    # stale chunks are still there, so it must not count as indexed.
    crashed = kabar_killed_after(1, *args, store=store)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    articles = Store.open(settings_for(store)).articles()
    victim = next(a for a in articles.values() if a.path == str(shrinking.resolve()))
    assert not victim.consistent and set(victim.chunk_ids) == old_ids
    assert_no_false_done(store, old, reference)

    # The rerun redoes the shrunk article with the new one, deletes the stale chunks (write 2)
    # and dies before pruning the deleted file's article.
    crashed = kabar_killed_after(2, *args, store=store)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    articles = Store.open(settings_for(store)).articles()
    assert len(articles) == 11 and all(a.consistent for a in articles.values())
    assert_no_false_done(store, old, reference)

    final = kabar(*args, store=store)
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["removed"] == 1
    assert_same_store(snapshot(settings_for(store)), reference)
    assert_every_vector_findable(settings_for(store))
