"""Shared fixtures: the real bundled model, real Chroma stores in temp folders, the shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.embed import Embedder
from index.settings import DEFAULT_MODEL, StoreSettings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLES = REPO / "index" / "data" / "samples"
KOMPAS = SHARED_DATA / "raw" / "kompas-2022-01-21-as-rusia-rapat-darurat.txt"


def model_cache() -> Path:
    """The user's model cache: the prepared e5 folder is built once per machine, not per test."""
    return StoreSettings.from_env(os.environ).model_cache


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """One loaded e5 model for the whole session (loading costs seconds)."""
    return Embedder(DEFAULT_MODEL, model_cache())


@pytest.fixture
def settings(tmp_path: Path) -> StoreSettings:
    return StoreSettings(store=tmp_path / "store", model_cache=model_cache())
