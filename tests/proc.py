"""Helpers for tests that run `kabar` as a separate process and then inspect the store it wrote."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.settings import StoreSettings
from index.store import Store
from tests.conftest import model_cache

BIN = Path(sys.executable).parent
KABAR = shutil.which("kabar", path=str(BIN)) or "kabar"
CHROMA = shutil.which("chroma", path=str(BIN)) or "chroma"
CRASH_RUNNER = Path(__file__).with_name("crash_runner.py")


def kabar_env(store: Path, server: tuple[str, int] | None = None) -> dict[str, str]:
    """The environment of a `kabar` process on `store` (a Chroma server's local folder if given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env.update(KABAR_STORE=str(store), KABAR_MODEL_CACHE=str(model_cache()))
    if server is not None:
        env.update(KABAR_CHROMA_HOST=server[0], KABAR_CHROMA_PORT=str(server[1]))
    return env


def kabar(
    *args: str, store: Path, server: tuple[str, int] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KABAR, *args],
        capture_output=True,
        text=True,
        env=kabar_env(store, server),
        timeout=timeout,
    )


def start_kabar(
    *args: str, store: Path, server: tuple[str, int] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [KABAR, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kabar_env(store, server),
    )


def kabar_killed_after(
    writes: int, *args: str, store: Path, server: tuple[str, int] | None = None
) -> subprocess.CompletedProcess[str]:
    """`kabar ARGS`, SIGKILLed by itself right after its `writes`-th write to Chroma."""
    return subprocess.run(
        [sys.executable, str(CRASH_RUNNER), str(writes), *args],
        capture_output=True,
        text=True,
        env=kabar_env(store, server),
        timeout=900,
    )


def settings_for(store: Path, server: tuple[str, int] | None = None) -> StoreSettings:
    return StoreSettings.from_env(kabar_env(store, server))


@dataclass(frozen=True)
class Snapshot:
    """Everything a store holds, by chunk id."""

    documents: dict[str, str]
    metadatas: dict[str, dict[str, Any]]
    embeddings: dict[str, np.ndarray]

    @property
    def ids(self) -> list[str]:
        return sorted(self.documents)

    def article_ids(self) -> set[str]:
        return {str(m["article_id"]) for m in self.metadatas.values()}


def snapshot(settings: StoreSettings) -> Snapshot:
    collection = Store.open(settings)._existing()
    if collection is None:
        return Snapshot({}, {}, {})
    page = collection.get(include=["documents", "metadatas", "embeddings"])
    return Snapshot(
        documents=dict(zip(page["ids"], page["documents"], strict=True)),
        metadatas=dict(zip(page["ids"], page["metadatas"], strict=True)),
        embeddings={
            cid: np.asarray(vec, dtype=np.float32)
            for cid, vec in zip(page["ids"], page["embeddings"], strict=True)
        },
    )


def assert_same_store(actual: Snapshot, expected: Snapshot) -> None:
    """Same chunks, texts and metadata; vectors equal up to batching noise."""
    assert actual.ids == expected.ids
    assert actual.documents == expected.documents
    assert actual.metadatas == expected.metadatas
    for cid, vector in expected.embeddings.items():
        np.testing.assert_allclose(actual.embeddings[cid], vector, atol=1e-4)


def assert_every_vector_findable(settings: StoreSettings) -> None:
    """Each chunk is its own nearest neighbour: the vector index holds exactly the stored chunks."""
    collection = Store.open(settings)._existing()
    assert collection is not None
    page = collection.get(include=["embeddings"])
    result = collection.query(
        query_embeddings=[list(map(float, v)) for v in page["embeddings"]],
        n_results=min(3, len(page["ids"])),
        include=["distances"],
    )
    for cid, found, distances in zip(page["ids"], result["ids"], result["distances"], strict=True):
        assert cid in found, f"chunk {cid} is missing from the vector index"
        assert distances[found.index(cid)] < 1e-3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)
