"""Export the e5 folder's transformer to ONNX, check it against sentence-transformers, quantize it.

Questions are answered with onnxruntime (see `index.embed.onnx`) so that no command imports torch
to embed one sentence. The export is made once, when the model folder is built:

1. `torch.onnx.export` with the TorchScript exporter (``dynamo=False``): it needs only the `onnx`
   package (the dynamo exporter also needs onnxscript) and, from an eager-attention model, gives
   the graph onnxruntime's BERT optimizer recognises. The graph takes word embeddings, not token
   ids: the 250k-row table (384 MB of the model's 470 MB) is saved beside it as a `.npy` file
   the encoder memory-maps, so a process only ever reads the rows its texts use.
2. onnxruntime's BERT optimizer fuses each layer's attention, the layer norms and the bias
   GELUs. Measured on 64 Detik chunks (one thread, CPU time): the fused fp32 graph costs 0.93x
   of PyTorch's time in batches, unfused 1.27x; fused int8 0.62x, unfused 0.75x.
3. Dynamic int8 quantization of the weight matrices, one scale per output channel (per-tensor
   scales gave cosine 0.986 with the fp32 vectors, per-channel 0.997). The int8 graph is built
   and checked but is not the default: on FacQA it lost up to 0.04 of paragraph MRR@10 (see
   `Embedder`).

The tokenizer's vocabulary is written beside them in the compact form `index.embed.unigram`
loads in a fifth of the time and memory. Each export is accepted only if its token ids (from
that compact tokenizer) equal sentence-transformers' and its vectors' cosine with
sentence-transformers' reaches the bound given (fp32 0.9999, int8 0.99).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import unigram
from index.embed.onnx import EMBEDDINGS, INPUTS, OUTPUT, OnnxEncoder

logger = logging.getLogger(__name__)

ONNX_DIR = "onnx"
"""Where the exports live inside the model folder (sentence-transformers' own convention)."""

MANIFEST = "kabar-onnx.json"
"""Written last into `ONNX_DIR`: which files were verified, and how closely."""

FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"
OPSET = 17
FP32_MIN_COSINE = 0.9999
INT8_MIN_COSINE = 0.99


@dataclass(frozen=True)
class Check:
    """How one export compared with sentence-transformers on the check texts."""

    file: str
    min_cosine: float
    mean_cosine: float
    texts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "min_cosine": round(self.min_cosine, 6),
            "mean_cosine": round(self.mean_cosine, 6),
            "texts": self.texts,
        }


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's tracer warnings and the quantizer's advice to the root logger
    ("consider pre-processing"): a one-off build should not look like a failure."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def export_fp32(folder: Path, target: Path) -> dict[str, int]:
    """Write the folder's transformer as a fused fp32 ONNX graph taking word embeddings, and
    the word-embedding table beside it; return the fused-op counts."""
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    config = json.loads((folder / "config.json").read_text("utf-8"))
    # Eager attention traces into MatMul/Softmax, which the optimizer fuses; SDPA does not.
    model = AutoModel.from_pretrained(
        str(folder), attn_implementation="eager", local_files_only=True
    ).eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state

    table = model.embeddings.word_embeddings.weight.detach()
    np.save(target.parent / EMBEDDINGS, table.numpy().astype(np.float32))
    ids = torch.tensor([[0, 100, 200, 300, 2], [0, 400, 2, 1, 1]])
    mask = (ids != 1).long()
    raw = target.with_suffix(".raw.onnx")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, OUTPUT)}
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            TokenEmbeddings(model).eval(),
            (table[ids], mask),
            str(raw),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    del model
    gc.collect()
    with _quiet():
        optimized = optimize_model(
            str(raw),
            model_type="bert",
            num_heads=int(config["num_attention_heads"]),
            hidden_size=int(config["hidden_size"]),
            opt_level=0,  # graph fusions only: leave hardware-specific rewrites to the session
        )
    fused = {k: int(v) for k, v in optimized.get_fused_operator_statistics().items() if v}
    optimized.save_model_to_file(str(target))
    raw.unlink()
    layers = int(config["num_hidden_layers"])
    if fused.get("Attention", 0) != layers:
        logger.warning(
            "ONNX export: %s of %d attention layers fused", fused.get("Attention"), layers
        )
    return fused


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization of every weight, one scale per output channel."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # The fused ops (Attention, SkipLayerNormalization) carry no type information for
            # the quantizer's shape inference; their tensors are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def check(
    folder: Path,
    model_file: Path,
    texts: Mapping[str, Sequence[str]],
    prompts: Mapping[str, str],
    reference: Any,
    min_cosine: float,
) -> Check:
    """Compare an export with the sentence-transformers `reference` loaded from `folder`.

    Raises RuntimeError unless every text's token ids are identical (after truncation to the
    model's limit) and every cosine reaches `min_cosine`."""
    encoder = OnnxEncoder(folder, model_file)
    cosines: list[float] = []
    for kind, group in texts.items():
        prompt = prompts[kind]
        for text in group:
            ours = encoder.token_ids([prompt + text])[0]
            theirs = reference.tokenizer(
                prompt + text, truncation=True, max_length=reference.max_seq_length
            )["input_ids"]
            if ours != theirs:
                raise RuntimeError(
                    f"ONNX export: token ids differ from sentence-transformers on {text[:60]!r}"
                )
        got = encoder.encode(list(group), prompt=prompt)
        expected = reference.encode(
            list(group),
            prompt=prompt,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        cosines.extend(float(c) for c in np.sum(np.asarray(expected) * got, axis=1))
    result = Check(model_file.name, min(cosines), float(np.mean(cosines)), len(cosines))
    if result.min_cosine < min_cosine:
        raise RuntimeError(
            f"ONNX export {model_file.name}: cosine with sentence-transformers is "
            f"{result.min_cosine:.5f}, below {min_cosine}"
        )
    return result


def build_onnx(
    folder: Path, texts: Mapping[str, Sequence[str]], prompts: Mapping[str, str]
) -> dict[str, Any]:
    """Export, quantize and check into `folder/onnx`; return (and write) the manifest.

    The manifest is written last, so a folder holding it holds two checked exports."""
    import importlib.metadata

    from sentence_transformers import SentenceTransformer

    started = time.monotonic()
    out = folder / ONNX_DIR
    out.mkdir(exist_ok=True)
    fused = export_fp32(folder, out / FP32_FILE)
    quantize_int8(out / FP32_FILE, out / INT8_FILE)
    compact = unigram.write(folder / "tokenizer.json", out)
    for file in out.iterdir():
        file.chmod(0o644)  # like the rest of the folder, readable by other local users
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    reference = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    # One text past the 512-token limit checks that truncation matches too.
    longest = max((t for group in texts.values() for t in group), key=len)
    checked = {kind: [*group] for kind, group in texts.items()}
    checked.setdefault("passage", []).append(" ".join([longest] * 8))
    fp32 = check(folder, out / FP32_FILE, checked, prompts, reference, FP32_MIN_COSINE)
    int8 = check(folder, out / INT8_FILE, checked, prompts, reference, INT8_MIN_COSINE)
    manifest = {
        "opset": OPSET,
        "torch": importlib.metadata.version("torch"),
        "onnxruntime": importlib.metadata.version("onnxruntime"),
        "fused": fused,
        "tokenizer": "unigram" if compact else "tokenizer.json",
        "fp32": fp32.to_json(),
        "int8": int8.to_json(),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "ONNX exports checked in %.1fs: fp32 min cosine %.6f, int8 min cosine %.5f",
        time.monotonic() - started,
        fp32.min_cosine,
        int8.min_cosine,
    )
    return manifest
