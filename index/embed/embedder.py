"""The embedding model: resolved offline, identified by a fingerprint, loaded only when needed.

Loading a sentence-transformers model costs seconds, so an unchanged reindex never does it:
the fingerprint and the tokenizer come from files, the weights only on the first `embed_*` call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

_QUERY_THREAD = threading.Lock()
_SMALL_FILE = 2_000_000  # config-like files are hashed whole; weights by name and size


def _offline() -> None:
    """Kabar never fetches weights: without this, hub clients retry for minutes before failing."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def resolve_model_path(model: str, cache_dir: Path) -> Path:
    """Turn a configured model name into a local sentence-transformers folder, offline."""
    if model == DEFAULT_MODEL:
        from index.embed.e5.build import prepare_e5

        return prepare_e5(cache_dir)
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    _offline()
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model, local_files_only=True))
    except Exception as exc:  # the hub client raises several unrelated types here
        raise ValueError(
            f"embedding model {model!r} is neither a folder nor in the local Hugging Face cache; "
            "Kabar does not download models (give a folder path)"
        ) from exc


def fingerprint_folder(path: Path) -> str:
    """A cheap identity of a model folder: configs by content, weights by name and size."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and ".cache" not in p.parts):
        rel = file.relative_to(path).as_posix()
        size = file.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        if size <= _SMALL_FILE and file.suffix in {".json", ".txt", ".model"}:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


class Embedder:
    """A sentence-transformers model with the query/passage prompts its card asks for."""

    def __init__(self, model: str, cache_dir: Path, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = model
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.loads = 0  # how many times the weights were loaded; tests and benches read it

    @cached_property
    def path(self) -> Path:
        return resolve_model_path(self.name, self.cache_dir)

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint_folder(self.path)

    @cached_property
    def _st_config(self) -> dict[str, Any]:
        file = self.path / "config_sentence_transformers.json"
        return json.loads(file.read_text("utf-8")) if file.exists() else {}

    @cached_property
    def prompts(self) -> dict[str, str]:
        """`query`/`passage` prefixes when the model was trained with them (e5), else none."""
        prompts = dict(self._st_config.get("prompts") or {})
        passage = prompts.get("passage", prompts.get("document", ""))
        return {"query": prompts.get("query", ""), "passage": passage}

    @cached_property
    def max_tokens(self) -> int:
        """The model's input limit in its own tokens, special tokens included."""
        file = self.path / "sentence_bert_config.json"
        if file.exists():
            return int(json.loads(file.read_text("utf-8")).get("max_seq_length", 512))
        return 512

    @cached_property
    def tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        file = self.path / "tokenizer.json"
        if not file.exists():
            raise ValueError(f"model folder {self.path} has no tokenizer.json (a fast tokenizer)")
        tok = Tokenizer.from_file(str(file))
        tok.no_truncation()
        tok.no_padding()
        return tok

    def count_tokens(self, texts: Sequence[str], kind: str = "passage") -> list[int]:
        """Tokens each text takes as the model sees it: prompt and special tokens included."""
        prefix = self.prompts[kind]
        encodings = self.tokenizer.encode_batch([prefix + t for t in texts])
        return [len(e.ids) for e in encodings]

    @cached_property
    def model(self) -> SentenceTransformer:
        _offline()
        from sentence_transformers import SentenceTransformer

        log.info("loading embedding model %s from %s", self.name, self.path)
        self.loads += 1
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @property
    def loaded(self) -> bool:
        return "model" in self.__dict__

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"model {self.name} does not report its embedding dimension")
        return int(dim)

    def _encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        prompt = self.prompts[kind] or None
        vectors = self.model.encode(
            list(texts),
            prompt=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "passage")

    def embed_query(self, text: str) -> np.ndarray:
        """One question, on one thread: a short input gains little from a second thread and
        loses much when the cores are busy (median 41 ms vs 268 ms with two threads, measured
        on a loaded 2-core machine). The lock keeps concurrent questions from racing on the
        process-wide thread setting; passage batches keep all threads."""
        import torch

        with _QUERY_THREAD:
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return self._encode([text], "query")[0]
            finally:
                torch.set_num_threads(before)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many questions in one model call (evaluation): `embed_query` batched."""
        return self._encode(texts, "query")
