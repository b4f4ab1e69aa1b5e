"""Shared fixtures: the real bundled model, real Chroma stores in temp folders, the shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.embed.embedder import Embedder
from index.settings import DEFAULT_MODEL, StoreSettings
from tests.fixtures.paths import SHARED_DATA, model_cache

# Fixtures shared beyond one folder live in tests/fixtures/ and are loaded here.
pytest_plugins = ["tests.fixtures.sample_store"]


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
