"""Indexing throughput: the whole pipeline against the bare model on the same chunks, in one run.

    python bench/index_throughput.py [PATH ...] [--articles 300] [--batch-chunks N]

The pipeline run is `Indexer.run` into a fresh temporary store: reading, cleaning, chunking,
embedding, writing to Chroma and refreshing the lexical index. The raw run is one
`SentenceTransformer.encode` call over exactly the texts the pipeline embedded (title plus chunk,
with the passage prompt). The model is loaded and warmed up before either is timed. Prints JSON
with chunks/s of both and their ratio. Default inputs: the first articles of Detik and BBC.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import tempfile
import time
from pathlib import Path

from index.chunking import embedding_text
from index.embed.embedder import Embedder
from index.indexing import Indexer
from index.settings import StoreSettings
from index.store.chroma import Store

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
DEFAULT_INPUTS = [DATA / "news-id" / "detik-2025.jsonl", DATA / "news-en" / "bbc-news-2005.jsonl"]


def sample(paths: list[Path], articles: int, folder: Path) -> Path:
    """The first `articles` records, split evenly over the inputs, as one JSONL file."""
    per_file = max(1, articles // len(paths))
    out = folder / "sample.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for path in paths:
            with path.open(encoding="utf-8") as src:
                fh.writelines(itertools.islice(src, per_file))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, default=DEFAULT_INPUTS)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--batch-chunks", type=int, default=None, help="Indexer batch size")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kabar-throughput-"))
    try:
        settings = StoreSettings.from_env(store=workdir / "store")
        embedder = Embedder(settings.model, settings.model_cache)
        embedder.embed_passages(["pemanasan model", "warm-up"])  # load outside the timings
        corpus = sample(args.paths, args.articles, workdir)
        store = Store.open(settings)
        options = {"batch_chunks": args.batch_chunks} if args.batch_chunks else {}
        indexer = Indexer(store, embedder, chunk_tokens=settings.chunk_tokens, **options)

        t0 = time.perf_counter()
        report = indexer.run([corpus])
        pipeline_s = time.perf_counter() - t0

        collection = store._existing()
        got = collection.get(include=["documents", "metadatas"])
        texts = [
            embedding_text(str(meta.get("title", "")), doc)
            for doc, meta in zip(got["documents"], got["metadatas"], strict=True)
        ]
        t0 = time.perf_counter()
        embedder.model.encode(
            texts,
            prompt=embedder.prompts["passage"] or None,
            batch_size=embedder.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        raw_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    pipeline_rate = report.chunks / pipeline_s
    raw_rate = len(texts) / raw_s
    print(
        json.dumps(
            {
                "inputs": [str(p) for p in args.paths],
                "articles": report.added,
                "chunks": report.chunks,
                "pipeline_s": round(pipeline_s, 2),
                "pipeline_chunks_per_s": round(pipeline_rate, 2),
                "raw_encode_s": round(raw_s, 2),
                "raw_encode_chunks_per_s": round(raw_rate, 2),
                "ratio": round(pipeline_rate / raw_rate, 3),
                "batch_chunks": indexer.batch_chunks,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
