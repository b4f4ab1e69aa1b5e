"""A store created with Chroma's default HNSW settings (as every store was before) is moved to the
current settings by the next `kabar index`, without embedding anything, and a SIGKILL at any
point of that move leaves a store that readers can use and the next run finishes.

The old store is made the way the old code made it: the same chunks (ids, texts, metadata,
vectors) and model stamp in a collection created with `{"hnsw": {"space": "cosine"}}`.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.embed.embedder import Embedder
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store import migration
from index.store.chroma import HNSW, Store, open_client
from tests.fixtures.proc import (
    Snapshot,
    assert_every_vector_findable,
    kabar,
    kabar_killed_after,
    settings_for,
    snapshot,
)
from tests.index.test_crash import copy_samples

OLD_CONFIGURATION = {"hnsw": {"space": "cosine"}}  # what the store was created with before
COPY_BATCH = 8  # chunks per copy write in the crash tests, so kills land mid-copy


def make_old_style(settings: StoreSettings) -> None:
    """Recreate the store's collection as the old code created it: Chroma's default graph."""
    client = open_client(settings)
    name = f"{settings.collection}-chunks"
    current = client.get_collection(name, embedding_function=None)
    page = current.get(include=["embeddings", "documents", "metadatas"])
    metadata = dict(current.metadata)
    client.delete_collection(name)
    old = client.create_collection(
        name, embedding_function=None, configuration=OLD_CONFIGURATION, metadata=metadata
    )
    old.add(
        ids=page["ids"],
        embeddings=page["embeddings"],
        documents=page["documents"],
        metadatas=page["metadatas"],
    )
    assert migration.hnsw_of(old)["max_neighbors"] == 16  # Chroma's default, not ours
    assert migration.outdated(old, HNSW)


def collections(settings: StoreSettings) -> dict[str, Any]:
    """Every collection in the store by name, with its id, HNSW settings and metadata."""
    client = open_client(settings)
    found = {}
    for listed in client.list_collections():
        collection = client.get_collection(listed.name, embedding_function=None)
        found[collection.name] = {
            "id": str(collection.id),
            "hnsw": migration.hnsw_of(collection),
            "metadata": dict(collection.metadata or {}),
        }
    return found


def assert_identical(actual: Snapshot, expected: Snapshot) -> None:
    """Same ids, texts and metadata, and the same vectors. Chroma normalises cosine vectors on
    write, so a copy may differ in the last bit of a float32 (seen: 1e-8); that nothing was
    embedded again is shown by the index report (`chunks == 0`), not by the bits."""
    assert actual.ids == expected.ids
    assert actual.documents == expected.documents
    assert actual.metadatas == expected.metadatas
    for cid, vector in expected.embeddings.items():
        assert np.abs(actual.embeddings[cid] - vector).max() <= 1e-6, cid


def assert_upgraded(settings: StoreSettings, reference: Snapshot, stamp: dict[str, Any]) -> None:
    found = collections(settings)
    assert list(found) == ["kabar-chunks"], found  # no copy or old collection left behind
    hnsw = found["kabar-chunks"]["hnsw"]
    assert {key: hnsw[key] for key in HNSW} == HNSW
    assert found["kabar-chunks"]["metadata"] == stamp
    assert_identical(snapshot(settings), reference)
    assert_every_vector_findable(settings)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_samples(tmp_path_factory.mktemp("migration") / "news")


@pytest.fixture(scope="module")
def old_store(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the samples as the old code left it (indexed once, then recreated old-style)."""
    store = tmp_path_factory.mktemp("old") / "store"
    result = kabar("index", str(corpus), "--json", store=store)
    assert result.returncode == 0, result.stderr
    make_old_style(settings_for(store))
    return store


@pytest.fixture(scope="module")
def reference(old_store: Path) -> tuple[Snapshot, dict[str, Any]]:
    settings = settings_for(old_store)
    return snapshot(settings), collections(settings)["kabar-chunks"]["metadata"]


def fresh_copy(old_store: Path, tmp_path: Path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(old_store, store)
    return store


def test_readers_use_an_old_store_and_say_how_to_upgrade(
    old_store: Path, tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    store = fresh_copy(old_store, tmp_path)
    settings = StoreSettings(store=store, model_cache=settings_for(store).model_cache)
    before = collections(settings)
    hits = Searcher(Store.open(settings), embedder).search("status Gunung Slamet", k=3)
    assert hits and hits[0].text
    assert "next `kabar index` upgrades it" in caplog.text
    assert collections(settings) == before  # a reader never migrates


def test_next_index_run_upgrades_once_without_embedding(
    old_store: Path,
    corpus: Path,
    reference: tuple[Snapshot, dict[str, Any]],
    tmp_path: Path,
) -> None:
    store = fresh_copy(old_store, tmp_path)
    settings = settings_for(store)
    result = kabar("index", str(corpus), "--json", store=store)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["chunks"] == 0 and report["added"] == report["updated"] == 0
    assert_upgraded(settings, *reference)
    upgraded = collections(settings)["kabar-chunks"]["id"]

    again = kabar("index", str(corpus), "--json", store=store)
    assert again.returncode == 0, again.stderr
    assert collections(settings)["kabar-chunks"]["id"] == upgraded  # once: not copied again


def copy_writes(reference: Snapshot) -> int:
    return -(-len(reference.ids) // COPY_BATCH)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["mid-copy", "copied", "renamed-old", "renamed-new"])
def test_sigkill_during_upgrade_is_finished_by_next_run(
    point: str,
    old_store: Path,
    corpus: Path,
    reference: tuple[Snapshot, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kill after the first copy write, after the last one, after the old collection stepped
    aside and after the copy took its name; readers find every chunk at each point."""
    chunks, stamp = reference
    pages = copy_writes(chunks)
    assert pages >= 3, "the sample store is too small to kill mid-copy"
    writes = {"mid-copy": 1, "copied": pages, "renamed-old": pages + 1, "renamed-new": pages + 2}
    store = fresh_copy(old_store, tmp_path)
    settings = settings_for(store)
    monkeypatch.setenv("CRASH_COPY_BATCH", str(COPY_BATCH))
    crashed = kabar_killed_after(writes[point], "index", str(corpus), "--json", store=store)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr

    left = collections(settings)
    assert len(left) == 2, left  # the kill landed inside the upgrade: two collections exist
    assert_identical(snapshot(settings), chunks)  # what a reader opening the store now sees

    final = kabar("index", str(corpus), "--json", store=store)
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["chunks"] == 0
    assert_upgraded(settings, chunks, stamp)


@pytest.mark.slow
def test_repeated_kills_then_a_clean_finish(
    old_store: Path,
    corpus: Path,
    reference: tuple[Snapshot, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed mid-copy, then killed again mid-copy of the redone copy, then run to the end."""
    store = fresh_copy(old_store, tmp_path)
    monkeypatch.setenv("CRASH_COPY_BATCH", str(COPY_BATCH))
    for writes in (2, 1):
        crashed = kabar_killed_after(writes, "index", str(corpus), "--json", store=store)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        assert_identical(snapshot(settings_for(store)), reference[0])
    final = kabar("index", str(corpus), "--json", store=store)
    assert final.returncode == 0, final.stderr
    assert_upgraded(settings_for(store), *reference)


def test_only_search_breadth_changed_is_set_in_place(tmp_path: Path) -> None:
    """A collection whose graph already has the current settings but another `ef_search` keeps
    its chunks where they are: Chroma can change `ef_search` on a live collection."""
    settings = StoreSettings(store=tmp_path / "store")
    client = open_client(settings)
    collection = client.create_collection(
        "kabar-chunks",
        embedding_function=None,
        configuration={"hnsw": {**HNSW, "ef_search": HNSW["ef_search"] // 2}},
        metadata={"kabar_model": "m", "kabar_fingerprint": "f"},
    )
    vectors = np.random.default_rng(1).normal(size=(20, 8)).astype(np.float32)
    collection.add(ids=[f"c{i}" for i in range(20)], embeddings=vectors)
    before = collections(settings)["kabar-chunks"]

    assert Store.open(settings).upgrade() is False
    after = collections(StoreSettings(store=settings.store))["kabar-chunks"]
    assert after["id"] == before["id"] and after["hnsw"]["ef_search"] == HNSW["ef_search"]
    assert Store.open(settings).count() == 20
