"""The embedding model: resolved offline, identified by a fingerprint, loaded only when needed.

Loading a model costs time, so an unchanged reindex never does it: the fingerprint and the
tokenizer come from files, the weights only on the first `embed_*` call.

Two runtimes encode. The bundled e5 folder carries checked ONNX exports (see
`index.embed.e5.export`), run with onnxruntime: no torch import, so a question is answered in
a fraction of the time sentence-transformers takes to import. Any other folder (`KABAR_MODEL`)
runs on sentence-transformers, which stays the reference the exports are checked against.

The fp32 export is the default, for questions and passages alike: its vectors are
sentence-transformers' (cosine 0.9999+), so it shares their fingerprint, and it embeds
passages about 1.5x as fast as PyTorch (bench/index_throughput.py). The int8 export (runtime
`onnx-int8`) is twice as fast again, but over FacQA passages plus 200 Detik articles it lost
paragraph MRR@10 against fp32: -0.008 dense and -0.010 hybrid on the 311 Indonesian test
questions, -0.023 and -0.042 on the 100 English ones (R@5 fell by at most 0.007;
bench/int8_recall.py), beyond the 0.005 allowed. Its vectors are not interchangeable with
fp32 ones, so its fingerprint says int8 and a store never mixes the two.
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

    from index.embed.onnx import OnnxEncoder, TokenIds

log = logging.getLogger(__name__)

_QUERY_THREAD = threading.Lock()
_SMALL_FILE = 2_000_000  # config-like files are hashed whole; weights by name and size
_ONNX_DIR = "onnx"  # index.embed.e5.export.ONNX_DIR, without importing the exporter
_ONNX_MANIFEST = "kabar-onnx.json"  # index.embed.e5.export.MANIFEST

RUNTIMES = ("auto", "torch", "onnx", "onnx-int8")
"""`auto` picks the default ONNX export when the folder has checked ones, else torch."""

DEFAULT_ONNX = "onnx"


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
    """A cheap identity of a model folder: configs by content, weights by name and size.

    The ONNX exports are left out: the fp32 export gives sentence-transformers' vectors
    (cosine 0.9999+), and the runtime that differs (int8) is named by `Embedder.fingerprint`.
    Parts are tested relative to the folder: the bundled model lives under ~/.cache, and an
    absolute test once left every file out (every e5 folder had the empty hash)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        parts = file.relative_to(path).parts
        if ".cache" in parts or parts[0] == _ONNX_DIR:
            continue
        rel = file.relative_to(path).as_posix()
        size = file.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        if size <= _SMALL_FILE and file.suffix in {".json", ".txt", ".model"}:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def onnx_manifest(path: Path) -> dict[str, Any] | None:
    """The checked ONNX exports a model folder carries, if any (written by the e5 build)."""
    file = path / _ONNX_DIR / _ONNX_MANIFEST
    try:
        manifest = json.loads(file.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


class Embedder:
    """A sentence-transformers model folder with the query/passage prompts its card asks for,
    run by onnxruntime when the folder carries checked exports, else by sentence-transformers."""

    def __init__(
        self, model: str, cache_dir: Path, batch_size: int = 32, runtime: str = "auto"
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
        self.name = model
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.requested_runtime = runtime
        self.loads = 0  # how many times the weights were loaded; tests and benches read it

    @cached_property
    def path(self) -> Path:
        return resolve_model_path(self.name, self.cache_dir)

    @cached_property
    def runtime(self) -> str:
        """`torch`, `onnx` (fp32 export) or `onnx-int8`, decided from files, nothing loaded."""
        manifest = onnx_manifest(self.path)
        wanted = self.requested_runtime
        if wanted == "auto":
            return DEFAULT_ONNX if manifest else "torch"
        if wanted != "torch" and not (manifest and _precision(wanted) in manifest):
            raise ValueError(f"model folder {self.path} has no checked {wanted} export")
        return wanted

    @cached_property
    def fingerprint(self) -> str:
        """The folder's identity, plus `-int8` for int8 vectors, so they never share a store
        with full-precision ones (torch and the fp32 export give the same vectors)."""
        base = fingerprint_folder(self.path)
        return f"{base}-int8" if self.runtime == "onnx-int8" else base

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
        """The folder's fast tokenizer (`tokenizers`), untruncated."""
        from index.embed.onnx import load_tokenizer

        return load_tokenizer(self.path)

    @cached_property
    def token_ids(self) -> TokenIds:
        """The tokenizer the runtime uses: for an ONNX export, its compact form when the build
        wrote one (same ids, a fifth of the memory), else the folder's `tokenizer.json`."""
        from index.embed.onnx import FastTokenizer, load_token_ids

        if self.runtime == "torch":
            return FastTokenizer(self.tokenizer)
        return load_token_ids(self.path, self._onnx_file)

    def count_tokens(self, texts: Sequence[str], kind: str = "passage") -> list[int]:
        """Tokens each text takes as the model sees it: prompt and special tokens included."""
        prefix = self.prompts[kind]
        return [len(ids) for ids in self.token_ids.ids([prefix + t for t in texts])]

    @cached_property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model (the torch runtime, and the reference)."""
        _offline()
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every command
        from sentence_transformers import SentenceTransformer

        log.info("loading embedding model %s from %s", self.name, self.path)
        self.loads += 1
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @cached_property
    def onnx(self) -> OnnxEncoder:
        """The ONNX export this embedder runs (`runtime` onnx or onnx-int8)."""
        from index.embed.onnx import OnnxEncoder

        log.info("loading embedding model %s from %s", self.name, self._onnx_file)
        self.loads += 1
        return OnnxEncoder(self.path, self._onnx_file, tokenizer=lambda: self.token_ids)

    @property
    def _onnx_file(self) -> Path:
        manifest = onnx_manifest(self.path) or {}
        return self.path / _ONNX_DIR / manifest[_precision(self.runtime)]["file"]

    @property
    def loaded(self) -> bool:
        return "model" in self.__dict__ or "onnx" in self.__dict__

    @property
    def dimension(self) -> int:
        if self.runtime != "torch":
            return self.onnx.dimension
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"model {self.name} does not report its embedding dimension")
        return int(dim)

    def _encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        if self.runtime != "torch":
            return self.onnx.encode(texts, self.prompts[kind])  # its own batch size: one
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
        """One question, on one thread with torch: a short input gains little from a second
        thread and loses much when the cores are busy (median 41 ms vs 268 ms with two threads,
        measured on a loaded 2-core machine). The lock keeps concurrent questions from racing
        on the process-wide thread setting; passage batches keep all threads. onnxruntime's
        workers do not spin, and there one question took as long on two threads as on one
        (median 24 ms vs 22 ms on a loaded machine), so its session is left as it is."""
        if self.runtime != "torch":
            return self._encode([text], "query")[0]
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


def _precision(runtime: str) -> str:
    """The manifest key of an ONNX runtime: `fp32` or `int8`."""
    return "int8" if runtime == "onnx-int8" else "fp32"
