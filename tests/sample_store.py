"""The bundled sample articles indexed once per test session, shared by the answer-side tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assistant.search import Searcher
from index.embed import Embedder
from index.indexer import Indexer
from index.settings import StoreSettings
from index.store import Store
from tests.conftest import REPO, SAMPLES, model_cache

QUESTIONS = REPO / "tests" / "data" / "sample_questions.jsonl"


def sample_questions() -> list[dict[str, Any]]:
    return [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines() if line]


def sample_store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> StoreSettings:
    """Index index/data/samples into the session's temp folder on first call, then reuse it."""
    settings = StoreSettings(
        store=tmp_path_factory.getbasetemp() / "kabar-samples" / "store",
        model_cache=model_cache(),
    )
    store = Store.open(settings)
    if store.count() == 0:
        report = Indexer(store, embedder, chunk_tokens=settings.chunk_tokens).run([SAMPLES])
        assert report.added and not report.failed, report
    return settings


def sample_searcher(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Searcher:
    return Searcher(Store.open(sample_store(tmp_path_factory, embedder)), embedder)
