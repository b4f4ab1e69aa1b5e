"""Encode with an ONNX export of a sentence-transformers folder: onnxruntime plus `tokenizers`.

Answering a question needs one forward pass of a small encoder, yet importing
sentence-transformers (and with it torch and transformers) took 6.8 s of a 12 s `kabar search`.
onnxruntime imports in 0.14 s and `tokenizers` in 0.04 s, so this module reproduces exactly
what the folder's sentence-transformers pipeline does around the network, and no more:

* tokenize with the folder's tokenizer (its compact Unigram form when the build wrote one,
  see `index.embed.unigram`), truncating to `max_seq_length` the way transformers does (content
  first, then the special tokens), and pad with the pad token;
* look the tokens' word embeddings up in the export's table, a `.npy` file read a row at a time
  (`EmbeddingTable`): the table is 384 MB of e5's 470 MB, and a question needs a few dozen of
  its 250k rows (the graph itself is 86 MB, 22 MB in int8);
* run the exported transformer on those embeddings, which returns the token embeddings;
* pool them as `1_Pooling/config.json` says (mean, CLS, max or last token; the prompt left out
  when `include_prompt` is false), and L2-normalise when `modules.json` has a Normalize module.

The export is made and checked against sentence-transformers by `index.embed.e5.export`; any
other layout (a Dense layer, an unknown pooling mode) is refused rather than approximated.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

INPUTS = ("inputs_embeds", "attention_mask")
"""The export's inputs: word embeddings from `EMBEDDINGS`, and the mask; position and token
type embeddings (all type zero) are added inside the graph, as BertModel does."""

EMBEDDINGS = "word_embeddings.npy"
"""The word-embedding table beside an export, float32 `[vocab, hidden]`."""

OUTPUT = "token_embeddings"
"""The export's one output: the last hidden state, `[batch, tokens, hidden]`."""

_MODULES = {
    "sentence_transformers.models.Transformer": "transformer",
    "sentence_transformers.models.Pooling": "pooling",
    "sentence_transformers.models.Normalize": "normalize",
}
_POOLING_MODES = ("mean_tokens", "cls_token", "max_tokens", "lasttoken")


@dataclass(frozen=True)
class Pipeline:
    """What a sentence-transformers folder does around its transformer, read from its files."""

    pooling: str  # one of _POOLING_MODES
    include_prompt: bool
    normalize: bool
    max_tokens: int
    pad_token: str

    @classmethod
    def read(cls, folder: Path) -> Pipeline:
        """Read `modules.json`, the pooling config and the length limit; refuse what this module
        cannot reproduce exactly (extra modules, several pooling modes at once)."""
        modules = json.loads((folder / "modules.json").read_text("utf-8"))
        kinds = [_MODULES.get(m.get("type", ""), m.get("type", "?")) for m in modules]
        if kinds not in (["transformer", "pooling"], ["transformer", "pooling", "normalize"]):
            raise ValueError(f"{folder}: ONNX encoding supports Transformer, Pooling [, Normalize]")
        pooling_dir = next(m["path"] for m in modules if _MODULES.get(m["type"]) == "pooling")
        config = json.loads((folder / pooling_dir / "config.json").read_text("utf-8"))
        chosen = [k[len("pooling_mode_") :] for k, on in config.items() if on and "mode_" in k]
        modes = [m for m in chosen if m in _POOLING_MODES]
        if len(chosen) != 1 or not modes:
            raise ValueError(f"{folder}: unsupported pooling {chosen}")
        bert = folder / "sentence_bert_config.json"
        limit = json.loads(bert.read_text("utf-8")).get("max_seq_length") if bert.exists() else None
        tok_config = json.loads((folder / "tokenizer_config.json").read_text("utf-8"))
        pad = tok_config.get("pad_token")
        if isinstance(pad, dict):  # an AddedToken spelled out
            pad = pad.get("content")
        if not isinstance(pad, str):
            raise ValueError(f"{folder}: tokenizer_config.json names no pad token")
        return cls(
            pooling=modes[0],
            include_prompt=bool(config.get("include_prompt", True)),
            normalize=kinds[-1] == "normalize",
            max_tokens=int(limit or tok_config.get("model_max_length", 512)),
            pad_token=pad,
        )


class TokenIds(Protocol):
    """What the encoder needs from a tokenizer."""

    def ids(self, texts: Sequence[str], limit: int | None = None) -> list[list[int]]:
        """Each text's ids, special tokens included; content truncated to fit `limit`."""
        ...

    def token_to_id(self, token: str) -> int | None: ...


class FastTokenizer:
    """`TokenIds` from a `tokenizers.Tokenizer` that has no truncation or padding set."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self._specials = tokenizer.num_special_tokens_to_add(False)

    def ids(self, texts: Sequence[str], limit: int | None = None) -> list[list[int]]:
        """Truncating the content to `limit - specials` and then adding the special tokens is
        what transformers' fast tokenizers do with `truncation=True`."""
        if limit is None:
            return [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        keep = limit - self._specials
        out = []
        for encoding in self.tokenizer.encode_batch(list(texts), add_special_tokens=False):
            if len(encoding.ids) > keep:
                encoding.truncate(keep)
            out.append(self.tokenizer.post_process(encoding).ids)
        return out

    def token_to_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)


def load_token_ids(folder: Path, model_file: Path) -> TokenIds:
    """The compact Unigram tokenizer written beside the export if there is one (0.2 s and
    50 MB to load), else the folder's `tokenizer.json` (0.9 s and 280 MB for e5's)."""
    from index.embed import unigram

    if unigram.available(model_file.parent):
        return unigram.UnigramTokenizer(model_file.parent)
    return FastTokenizer(load_tokenizer(folder))


def load_tokenizer(folder: Path) -> Tokenizer:
    """The folder's fast tokenizer with no truncation and no padding.

    Loading costs most of a second and about 280 MB for a 250k-piece Unigram vocabulary (the
    `tokenizers` trie keeps a hash map per node)."""
    from tokenizers import Tokenizer

    file = folder / "tokenizer.json"
    if not file.exists():
        raise ValueError(f"model folder {folder} has no tokenizer.json (a fast tokenizer)")
    tok = Tokenizer.from_file(str(file))
    tok.no_truncation()
    tok.no_padding()
    return tok


def session(model_file: Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session that stays quiet and does not spin.

    Spinning worker threads are what onnxruntime does by default; on a shared 2-core machine
    they steal the core that the other thread or process needs (single questions ran no faster
    on two threads than on one under load), so workers sleep when idle."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no "Removing initializer" chatter on stderr
    options.intra_op_num_threads = threads or 0  # 0: one per core
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


class EmbeddingTable:
    """Rows of a `[vocab, hidden]` float32 `.npy` file, read with `pread` as they are needed.

    Memory-mapping the file was tried first: the kernel maps pages around each one touched, so
    the 20 short passages `kabar ask` scores grew its RSS by 240 MB of table. Reads leave the
    table in the page cache, shared by every process, and count nothing against this one."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as fh:
            major, _ = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(fh)
            self._offset = fh.tell()
        if fortran or len(shape) != 2 or dtype != np.dtype("<f4"):
            raise ValueError(f"{path}: not a C-ordered float32 table")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self._row = self.shape[1] * 4
        self._fd = os.open(path, os.O_RDONLY)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The table's rows for an array of ids, shaped `ids.shape + (hidden,)`."""
        unique, inverse = np.unique(ids, return_inverse=True)
        if unique.size and (unique[0] < 0 or unique[-1] >= self.shape[0]):
            raise ValueError(f"token id out of the table's {self.shape[0]} rows")
        buffer = b"".join(
            os.pread(self._fd, self._row, self._offset + int(i) * self._row) for i in unique
        )
        found = np.frombuffer(buffer, "<f4").reshape(len(unique), self.shape[1])
        return found[inverse.reshape(ids.shape)]

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


class OnnxEncoder:
    """Sentence embeddings from an ONNX transformer, pooled and normalised like the folder says."""

    def __init__(
        self,
        folder: Path,
        model_file: Path,
        tokenizer: Callable[[], TokenIds] | None = None,
        threads: int | None = None,
    ) -> None:
        """`tokenizer` hands out a shared tokenizer (else `load_token_ids`). It is asked for
        after the session is built, whose load frees its file buffer for the tokenizer's many
        small allocations to reuse (a lower peak than the other way round)."""
        self.folder = folder
        self.model_file = model_file
        self.pipeline = Pipeline.read(folder)
        self.session = session(model_file, threads or _threads())
        self.tokenizer = tokenizer() if tokenizer else load_token_ids(folder, model_file)
        pad_id = self.tokenizer.token_to_id(self.pipeline.pad_token)
        if pad_id is None:
            raise ValueError(f"{folder}: pad token {self.pipeline.pad_token!r} is not in the vocab")
        self.pad_id = int(pad_id)
        outputs = [o.name for o in self.session.get_outputs()]
        if OUTPUT not in outputs:
            raise ValueError(f"{model_file}: no {OUTPUT!r} output (has {outputs})")
        self.dimension = int(self.session.get_outputs()[outputs.index(OUTPUT)].shape[-1])
        names = [i.name for i in self.session.get_inputs()]
        self.table: EmbeddingTable | None = None
        if names[0] == "inputs_embeds":  # else the graph looks its embeddings up itself
            self.table = EmbeddingTable(model_file.parent / EMBEDDINGS)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids as the model sees them: truncated to the limit, special tokens added."""
        return self.tokenizer.ids(texts, self.pipeline.max_tokens)

    def encode(self, texts: Sequence[str], prompt: str = "", batch_size: int = 1) -> np.ndarray:
        """One float32 row per text. Batches hold texts of similar length, as in
        sentence-transformers; one text per run is the default, being the fastest: on 96 Detik
        chunks (median 173 tokens, one core's CPU time) int8 took 44 ms a chunk alone against
        77-81 ms in batches of 16-32, fp32 108-130 ms against 145-154 ms. It also gives each
        text the same vector whatever else is encoded with it, which int8 does not in a batch
        (its activations are quantized per batch: cosine 0.996 between the two)."""
        out = np.zeros((len(texts), self.dimension), np.float32)
        if not texts:
            return out
        ids = self.token_ids([prompt + t for t in texts])
        skip = 0
        if prompt and not self.pipeline.include_prompt:
            # sentence-transformers masks the prompt's tokens but not its end token.
            skip = len(self.token_ids([prompt])[0]) - 1
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._run([ids[i] for i in rows], skip)
        return out

    def _run(self, batch: list[list[int]], skip: int) -> np.ndarray:
        width = max(len(row) for row in batch)
        input_ids = np.full((len(batch), width), self.pad_id, np.int64)
        mask = np.zeros((len(batch), width), np.int64)
        for i, row in enumerate(batch):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        if self.table is None:
            feed = {"input_ids": input_ids, "attention_mask": mask}
        else:
            feed = {"inputs_embeds": self.table.rows(input_ids), "attention_mask": mask}
        (tokens,) = self.session.run([OUTPUT], feed)
        return self._pool(np.asarray(tokens, np.float32), mask, skip)

    def _pool(self, tokens: np.ndarray, mask: np.ndarray, skip: int) -> np.ndarray:
        """sentence-transformers' Pooling and Normalize, in numpy."""
        mode = self.pipeline.pooling
        if mode == "cls_token":
            vectors = tokens[:, 0]
        elif mode == "lasttoken":
            vectors = tokens[np.arange(len(tokens)), mask.sum(axis=1) - 1]
        else:
            weights = mask.astype(np.float32)
            if skip:
                weights[:, :skip] = 0.0
            if mode == "max_tokens":
                vectors = np.where(weights[..., None] > 0, tokens, -1e9).max(axis=1)
            else:
                total = np.einsum("bth,bt->bh", tokens, weights)
                vectors = total / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        if self.pipeline.normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return vectors.astype(np.float32)


def _threads() -> int:
    """Worker threads: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
