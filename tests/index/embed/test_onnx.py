"""The ONNX exports of the bundled model against sentence-transformers, the compact tokenizer
against `tokenizers`, the fingerprints of the runtimes, and a search that never imports torch."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.embed.embedder import Embedder, fingerprint_folder
from index.embed.onnx import (
    EmbeddingTable,
    FastTokenizer,
    OnnxEncoder,
    Pipeline,
    load_tokenizer,
)
from index.embed.unigram import UnigramTokenizer
from index.indexing import Indexer
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.protocol import ModelMismatchError
from tests.fixtures.paths import SAMPLES, TEST_DATA
from tests.fixtures.proc import kabar_env
from tests.index.embed.test_e5_model import PASSAGES, QUERIES, TRICKY

HEAVY = ("torch", "sentence_transformers", "transformers")


def _jsonl(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in itertools.islice(fh, limit) if line.strip()]


@pytest.fixture(scope="module")
def real_texts() -> dict[str, list[str]]:
    """Questions in both languages and passages (the bundled samples' paragraphs), plus one
    passage past the 512-token limit."""
    questions = [r["question"] for r in _jsonl(TEST_DATA / "facqa_valid_en.jsonl", 40)]
    questions += [r["question"] for r in _jsonl(TEST_DATA / "sample_questions.jsonl")]
    paragraphs = [
        p.strip()
        for r in _jsonl(SAMPLES / "samples.jsonl")
        for p in str(r["text"]).split("\n\n")
        if p.strip()
    ]
    passages = [*paragraphs[:60], " ".join(paragraphs)]
    return {"query": [*questions, *QUERIES], "passage": [*passages, *PASSAGES, *TRICKY]}


@pytest.fixture(scope="module")
def reference(embedder: Embedder) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedder.path), device="cpu", local_files_only=True)


def _reference_vectors(reference: Any, texts: list[str], prompt: str) -> np.ndarray:
    return np.asarray(
        reference.encode(
            texts, prompt=prompt, normalize_embeddings=True, convert_to_numpy=True, batch_size=16
        )
    )


@pytest.mark.parametrize(("runtime", "bound"), [("onnx", 0.9999), ("onnx-int8", 0.99)])
def test_exports_match_sentence_transformers(
    embedder: Embedder,
    reference: Any,
    real_texts: dict[str, list[str]],
    runtime: str,
    bound: float,
) -> None:
    ours = Embedder(embedder.name, embedder.cache_dir, runtime=runtime)
    for kind, texts in real_texts.items():
        got = ours.embed_queries(texts) if kind == "query" else ours.embed_passages(texts)
        expected = _reference_vectors(reference, texts, ours.prompts[kind])
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        cosines = np.sum(got * expected, axis=1)
        worst = int(np.argmin(cosines))
        assert cosines[worst] >= bound, (kind, texts[worst][:80], float(cosines[worst]))


def test_token_ids_match_sentence_transformers(
    embedder: Embedder, reference: Any, real_texts: dict[str, list[str]]
) -> None:
    encoder = embedder.onnx
    assert isinstance(encoder.tokenizer, UnigramTokenizer)  # the compact form the build wrote
    limit = reference.max_seq_length
    for kind, texts in real_texts.items():
        full = [embedder.prompts[kind] + t for t in texts]
        expected = [
            reference.tokenizer(t, truncation=True, max_length=limit)["input_ids"] for t in full
        ]
        assert encoder.token_ids(full) == expected
    assert max(len(ids) for ids in encoder.token_ids(real_texts["passage"])) == limit


def test_compact_tokenizer_matches_tokenizers_on_real_text(
    embedder: Embedder, shared_data: Path
) -> None:
    """Thousands of articles, titles and questions in both languages, untruncated."""
    texts = ["<s>kata</s> <unk> a<mask>b", "  <pad>  dua  spasi ", "", " ", *TRICKY]
    for name in ("news-id/detik-2025.jsonl", "news-en/bbc-news-2005.jsonl"):
        for record in _jsonl(shared_data / name, 300):
            texts += [str(record.get("title") or ""), str(record["text"])]
    texts += [r["question"] for r in _jsonl(shared_data / "qa" / "facqa.jsonl", 1500)]
    compact = UnigramTokenizer(embedder._onnx_file.parent)
    full = FastTokenizer(load_tokenizer(embedder.path))
    for start in range(0, len(texts), 500):
        batch = texts[start : start + 500]
        assert compact.ids(batch) == full.ids(batch)
        assert compact.ids(batch, 512) == full.ids(batch, 512)


def test_fingerprints_tell_int8_from_full_precision(embedder: Embedder) -> None:
    def fingerprint(runtime: str) -> str:
        return Embedder(embedder.name, embedder.cache_dir, runtime=runtime).fingerprint

    assert embedder.runtime == "onnx"  # the default for the bundled model: the fp32 export
    assert fingerprint("torch") == fingerprint("onnx") != fingerprint("onnx-int8")
    assert fingerprint("onnx") == embedder.fingerprint == fingerprint_folder(embedder.path)
    assert fingerprint("onnx-int8").endswith("-int8")


def test_folder_fingerprint(tmp_path: Path) -> None:
    """Configs by content, the ONNX exports left out, and a folder under ~/.cache hashed like
    any other (an absolute `.cache` test once left every file out)."""
    folder = tmp_path / ".cache" / "model"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"hidden_size": 384}')
    first = fingerprint_folder(folder)
    assert first != fingerprint_folder(tmp_path / "empty")
    (folder / "onnx").mkdir()
    (folder / "onnx" / "model.onnx").write_bytes(b"graph")
    assert fingerprint_folder(folder) == first
    (folder / "config.json").write_text('{"hidden_size": 768}')
    assert fingerprint_folder(folder) != first


def test_a_store_is_never_mixed(tmp_path: Path, embedder: Embedder) -> None:
    settings = StoreSettings(store=tmp_path / "store", model_cache=embedder.cache_dir)
    report = Indexer(Store.open(settings), embedder).run([SAMPLES / "samples.jsonl"])
    assert report.added > 0
    int8 = Embedder(embedder.name, embedder.cache_dir, runtime="onnx-int8")
    with pytest.raises(ModelMismatchError, match="rebuild"):
        Indexer(Store.open(settings), int8).run([SAMPLES / "samples.jsonl"])
    assert not int8.loaded  # refused before any weights were loaded
    # torch gives the fp32 export's vectors: the same store takes either.
    pytorch = Embedder(embedder.name, embedder.cache_dir, runtime="torch")
    again = Indexer(Store.open(settings), pytorch).run([SAMPLES / "samples.jsonl"])
    assert again.unchanged == report.added and not pytorch.loaded


def test_pipeline_refuses_what_it_cannot_reproduce(tmp_path: Path, embedder: Embedder) -> None:
    assert Pipeline.read(embedder.path).pooling == "mean_tokens"
    for name in ("modules.json", "tokenizer_config.json", "sentence_bert_config.json"):
        (tmp_path / name).write_bytes((embedder.path / name).read_bytes())
    (tmp_path / "1_Pooling").mkdir()
    pooling = json.loads((embedder.path / "1_Pooling" / "config.json").read_text())
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({**pooling, "pooling_mode_weightedmean_tokens": True})
    )
    with pytest.raises(ValueError, match="pooling"):
        Pipeline.read(tmp_path)
    modules = json.loads((embedder.path / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "x.models.Dense"})
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ValueError, match="supports"):
        Pipeline.read(tmp_path)


def test_a_text_gets_one_vector_whatever_its_company(embedder: Embedder) -> None:
    """int8 activations are quantized per run, so in a batch a text's vector would depend on
    its batch mates (cosine 0.996); the encoder runs one text at a time."""
    int8 = Embedder(embedder.name, embedder.cache_dir, runtime="onnx-int8")
    alone = int8.embed_query(QUERIES[0])
    among = int8.embed_queries([*PASSAGES, QUERIES[0], *QUERIES])[len(PASSAGES)]
    np.testing.assert_array_equal(alone, among)
    encoder: OnnxEncoder = int8.onnx
    batched = encoder.encode([QUERIES[0], *PASSAGES], "query: ", batch_size=8)[0]
    assert 0.99 < float(alone @ batched) < 0.99999  # what batching would have cost


def test_embedding_table_reads_rows(embedder: Embedder) -> None:
    table = EmbeddingTable(embedder._onnx_file.parent / "word_embeddings.npy")
    whole = np.load(embedder._onnx_file.parent / "word_embeddings.npy", mmap_mode="r")
    ids = np.array([[0, 5, 5, 250_001, 17], [2, 1, 1, 1, 1]])
    np.testing.assert_array_equal(table.rows(ids), np.asarray(whole[ids]))
    assert table.rows(ids).shape == (2, 5, table.shape[1])
    with pytest.raises(ValueError, match="out of"):
        table.rows(np.array([[table.shape[0]]]))


@pytest.mark.slow
def test_search_never_imports_torch(sample_settings: StoreSettings) -> None:
    """`kabar search` in a fresh process: answered, quiet, and without torch,
    sentence-transformers or transformers in sys.modules."""
    script = (
        "import sys\n"
        "from assistant.cli.main import main\n"
        "code = main(['search', 'Siapa pemenang Malang Highland Marathon?', '--json'])\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=kabar_env(sample_settings.store),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    hits = json.loads(done.stdout)
    assert hits and any("Malang" in json.dumps(hit) for hit in hits)
    assert done.stderr == "HEAVY=", done.stderr[-2000:]  # no modules, no bars, no warnings
