"""Chunking time against paragraph length: one-token words must cost linear time.

    python bench/chunk_linear.py [--sizes 20000 50000 100000] [--lines 150000]

Each case is one over-long paragraph of short, one-token words ("a", "b", ... mixed with a few
real words), cut by `Chunker` with the bundled e5 tokenizer, as `Indexer` does. The last case is
the file from the security report, `'T\\n\\n' + 'a\\n' * 150000`, read through `iter_articles`
and chunked (reading is timed apart from chunking). Prints JSON: seconds per case, chunks made,
and seconds per 10k words, which stays flat when the cost is linear (it grew 5x from 20k to 100k
words when every piece rescanned the rest of the paragraph).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from index.chunking import Chunker
from index.embed.embedder import Embedder
from index.ingest.sources import iter_articles
from index.records import Article
from index.settings import StoreSettings


def chunker(embedder: Embedder, chunk_tokens: int) -> Chunker:
    return Chunker(
        lambda texts: embedder.count_tokens(texts, "passage"),
        limit=embedder.max_tokens,
        target=min(chunk_tokens, embedder.max_tokens),
    )


def words_case(cut: Chunker, words: int) -> dict[str, float | int]:
    vocabulary = ["a", "b", "c", "x", "y", "z", "di", "ke", "the", "of"]
    text = " ".join(vocabulary[i % len(vocabulary)] for i in range(words))
    article = Article(id=f"bench-{words}", title="T", paragraphs=(text,))
    start = time.perf_counter()
    chunks = cut.chunk(article)
    seconds = time.perf_counter() - start
    return {
        "words": words,
        "seconds": round(seconds, 3),
        "chunks": len(chunks),
        "seconds_per_10k_words": round(seconds / words * 10_000, 4),
    }


def lines_case(cut: Chunker, lines: int) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory(prefix="kabar-chunk-") as folder:
        path = Path(folder) / "lines.txt"
        path.write_text("T\n\n" + "a\n" * lines, "utf-8")
        start = time.perf_counter()
        items = list(iter_articles([path]))
        read = time.perf_counter() - start
    article = items[0]
    assert isinstance(article, Article), article
    start = time.perf_counter()
    chunks = cut.chunk(article)
    seconds = time.perf_counter() - start
    return {
        "case": f"'T\\n\\n' + 'a\\n' * {lines}",
        "read_seconds": round(read, 3),
        "chunk_seconds": round(seconds, 3),
        "chunks": len(chunks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 50_000, 100_000])
    parser.add_argument("--lines", type=int, default=150_000)
    args = parser.parse_args()
    settings = StoreSettings.from_env()
    embedder = Embedder(settings.model, settings.model_cache)
    cut = chunker(embedder, settings.chunk_tokens)
    cut.chunk(Article(id="warm", title="T", paragraphs=("warm up " * 200,)))  # load the tokenizer
    result = {
        "words": [words_case(cut, n) for n in args.sizes],
        "lines": lines_case(cut, args.lines),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
