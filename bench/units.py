"""Retrieval units compared: today's 160-token chunks against paragraph-sized units, on dev sets.

    python bench/units.py --inputs FILE... [--variants chunk160,para30,...] [--caps 2,3]
        [--sets facqa-valid,xling-en,...] [--cache /tmp/units-cache] [--embed-only]
        [--feedback 0.5/3/10,...] [--windows 0,1]

Every variant cuts the same articles (read as `kabar index` reads them) with the real `Chunker`
and is searched by the real `Searcher` (dense, BM25 and hybrid, then `kabar eval`'s judging) over
an in-memory store with exact vector search, so only the units differ. A variant is
`NAME=target/min_words/dense headline/lexical headline[/context]`, e.g. `para30=0/30/1/1`: target
0 packs no paragraphs by size, a unit under `min_words` words takes the next paragraph, and the
flags say whether the headline is put in front of the unit for the model and for BM25. The
optional context (`art0.3`, `chunk0.5`) stores each unit's vector plus that share of its
article's mean unit vector (free at indexing) or of the 160-token chunk around it (a second
embedding), renormalised: small units to find, with their surroundings in the vector. Passage
and question vectors are cached by text in `--cache` (the slow part: the model), so variants
share what they have in common and a stopped run resumes. Tune on dev sets only (FacQA
train/valid, the English FacQA set and the two cross-lingual sets); FacQA test is refused.
Prints JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import Chunker, embedding_text
from index.embed.embedder import Embedder
from index.ingest.sources import iter_articles
from index.records import Article, Chunk, Hit
from index.search.config import SearchConfig, day_number
from index.search.evaluate import evaluate, load_questions
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store.protocol import ChunkRow

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FACQA = DATA / "qa" / "facqa.jsonl"
TESTS = REPO / "tests" / "data"
SETS: dict[str, tuple[Path, str | None]] = {
    "facqa-train": (FACQA, "train"),
    "facqa-valid": (FACQA, "valid"),
    "facqa-en": (TESTS / "facqa_valid_en.jsonl", None),
    "xling-en": (TESTS / "xling_en_over_id.jsonl", None),
    "xling-id": (TESTS / "xling_id_over_en.jsonl", None),
}
VARIANTS = "chunk160=160/0/1/1,para30=0/30/1/1,para30-bare=0/30/0/0,para30-lexhead=0/30/0/1"
log = logging.getLogger("bench.units")


@dataclass(frozen=True)
class Variant:
    name: str
    target: int
    min_words: int
    dense_headline: bool
    lexical_headline: bool
    context: str = ""  # "" | "art" | "chunk"
    context_weight: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Variant:
        name, _, shape = spec.partition("=")
        target, min_words, dense, lexical, *rest = shape.split("/")
        context, weight = "", 0.0
        if rest:
            context = rest[0].rstrip("0123456789.")
            weight = float(rest[0][len(context) :])
        return cls(name, int(target), int(min_words), dense == "1", lexical == "1", context, weight)


def _key(kind: str, text: str) -> str:
    return hashlib.sha1(f"{kind}\0{text}".encode()).hexdigest()


class VectorCache:
    """Vectors by (kind, text), kept in shards under a folder so a stopped run loses little."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.folder = folder
        self.embedder = embedder
        folder.mkdir(parents=True, exist_ok=True)
        self.vectors: dict[str, np.ndarray] = {}
        for shard in sorted(folder.glob("shard-*.npz")):
            data = np.load(shard)
            self.vectors.update(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def get(self, kind: str, texts: Sequence[str], shard_size: int = 256) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if _key(kind, t) not in self.vectors))
        for start in range(0, len(missing), shard_size):
            part = missing[start : start + shard_size]
            began = time.perf_counter()
            if kind == "query":
                vectors = self.embedder.embed_queries(part)
            else:
                vectors = self.embedder.embed_passages(part)
            keys = [_key(kind, t) for t in part]
            self.vectors.update(zip(keys, vectors, strict=True))
            name = hashlib.sha1("".join(keys).encode()).hexdigest()[:16]
            np.savez(self.folder / f"shard-{name}.npz", keys=np.array(keys), vectors=vectors)
            log.info(
                "%s: embedded %d/%d in %.0f s",
                kind,
                min(start + shard_size, len(missing)),
                len(missing),
                time.perf_counter() - began,
            )
        if not texts:
            return np.zeros((0, 384), np.float32)
        return np.vstack([self.vectors[_key(kind, t)] for t in texts])


class CachedEmbedder:
    """The searcher's embedder, answering questions from the cache."""

    def __init__(self, embedder: Embedder, cache: VectorCache) -> None:
        self.inner = embedder
        self.cache = cache
        self.name = embedder.name
        self.fingerprint = "bench"

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.cache.get("query", texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.cache.get("query", [text])[0]


class MemoryStore:
    """The part of the store protocol search and evaluation use, over numpy: exact search."""

    name = "bench"
    cache_dir = None

    def __init__(self, chunks: Sequence[Chunk], vectors: np.ndarray, lexical: Sequence[str]):
        self.chunks = {c.id: c for c in chunks}
        self.ids = [c.id for c in chunks]
        self.matrix = vectors
        self.lexical_texts = dict(zip(self.ids, lexical, strict=True))
        self.row = {cid: i for i, cid in enumerate(self.ids)}

    def check_model(self, model: str, fingerprint: str) -> None:
        return None

    def count(self) -> int:
        return len(self.ids)

    def is_empty(self) -> bool:
        return not self.ids

    def chunk_rows(self) -> list[ChunkRow]:
        return [
            ChunkRow(
                c.id,
                f"{c.first_paragraph}-{c.last_paragraph}",
                c.article_id,
                c.lang,
                c.source,
                day_number(c.published) or 0,
            )
            for c in self.chunks.values()
        ]

    def documents(self, ids: Sequence[str]) -> dict[str, str]:
        return {cid: self.lexical_texts[cid] for cid in ids}

    def vectors(self, ids: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
        if ids is None:
            return self.ids, self.matrix
        kept = [cid for cid in ids if cid in self.row]
        return kept, self.matrix[[self.row[cid] for cid in kept]]

    def nearest(
        self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        rows = np.arange(len(self.ids)) if ids is None else np.array([self.row[i] for i in ids])
        sims = self.matrix[rows] @ vector
        top = np.argsort(-sims, kind="stable")[:k]
        return [(self.ids[rows[i]], float(sims[i])) for i in top]

    def hits(self, ids: Sequence[str], vector: np.ndarray | None = None) -> dict[str, Hit]:
        found = {}
        for cid in ids:
            if cid not in self.chunks:  # like the store: ids that do not exist are left out
                continue
            c = self.chunks[cid]
            score = float(self.matrix[self.row[cid]] @ vector) if vector is not None else 0.0
            found[cid] = Hit(
                chunk_id=cid,
                article_id=c.article_id,
                title=c.title,
                url=c.url,
                published=c.published,
                source=c.source,
                lang=c.lang,
                paragraphs=(c.first_paragraph, c.last_paragraph),
                text=c.text,
                score=score,
            )
        return found

    def query(self, vector: np.ndarray, k: int, where: Any = None, ids: Any = None) -> list[Hit]:
        near = self.nearest(vector, k, ids)
        found = self.hits([cid for cid, _ in near], vector)
        return [found[cid] for cid, _ in near]


def units(articles: Iterable[Article], embedder: Embedder, variant: Variant) -> list[Chunk]:
    chunker = Chunker(
        lambda texts: embedder.count_tokens(texts, "passage"),
        limit=embedder.max_tokens,
        target=variant.target,
        min_words=variant.min_words,
    )
    return [chunk for article in articles for chunk in chunker.chunk(article)]


def text_for(chunk: Chunk, headline: bool) -> str:
    return embedding_text(chunk.title, chunk.text) if headline else chunk.text


def with_context(
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    variant: Variant,
    articles: Sequence[Article],
    embedder: Embedder,
    cache: VectorCache,
) -> np.ndarray:
    """Each unit's vector plus `context_weight` times its context's, renormalised."""
    if not variant.context:
        return vectors
    context = np.zeros_like(vectors)
    if variant.context == "art":
        by_article: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            by_article.setdefault(c.article_id, []).append(i)
        for rows in by_article.values():
            context[rows] = vectors[rows].mean(axis=0)
    else:  # the 160-token chunk (headline in front) that holds the unit's first paragraph
        big = units(articles, embedder, Variant("chunk160", 160, 0, True, True))
        big_vectors = cache.get("passage", [text_for(c, True) for c in big])
        where = {
            (c.article_id, p): i
            for i, c in enumerate(big)
            for p in range(c.first_paragraph, c.last_paragraph + 1)
        }
        for i, c in enumerate(chunks):
            context[i] = big_vectors[where[(c.article_id, c.first_paragraph)]]
    mixed = vectors + variant.context_weight * context
    return mixed / np.linalg.norm(mixed, axis=1, keepdims=True)


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """Paragraph R@5 and MRR@10 and article R@5, per mode, for all questions."""
    out = {}
    for mode, groups in report["modes"].items():
        row = groups["all"]
        out[mode] = {
            "par_R@5": row["paragraph"]["R@5"],
            "par_MRR@10": row["paragraph"]["MRR@10"],
            "art_R@5": row["article"]["R@5"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", nargs="+", required=True)
    parser.add_argument("--variants", default=VARIANTS)
    parser.add_argument("--caps", default="2")
    parser.add_argument("--windows", default="0", help="neighbour units read with each hit")
    parser.add_argument(
        "--feedback",
        default="",
        help="cross-lingual feedback settings share/docs/terms to try too (hybrid only)",
    )
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--modes", default="dense,bm25,hybrid")
    parser.add_argument("--cache", default="/tmp/units-cache")
    parser.add_argument("--embed-only", action="store_true", help="fill the cache, then stop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    for name in args.sets.split(","):
        if name not in SETS:
            parser.error(f"unknown set {name} (dev sets only: {', '.join(SETS)})")

    settings = StoreSettings.from_env()
    embedder = Embedder(settings.model, settings.model_cache)
    cache = VectorCache(Path(args.cache), embedder)
    articles = [a for a in iter_articles(args.inputs) if isinstance(a, Article)]
    variants = [Variant.parse(spec) for spec in args.variants.split(",")]
    questions = {name: load_questions(*SETS[name]) for name in args.sets.split(",")}
    cache.get("query", [q.question for qs in questions.values() for q in qs])

    result: dict[str, Any] = {"articles": len(articles), "variants": {}}
    for variant in variants:
        chunks = units(articles, embedder, variant)
        vectors = cache.get("passage", [text_for(c, variant.dense_headline) for c in chunks])
        vectors = with_context(chunks, vectors, variant, articles, embedder, cache)
        words = [len(c.text.split()) for c in chunks]
        entry: dict[str, Any] = {
            "units": len(chunks),
            "mean_words": round(float(np.mean(words)), 1),
        }
        if not args.embed_only:
            lexical = [text_for(c, variant.lexical_headline) for c in chunks]
            store = MemoryStore(chunks, vectors, lexical)
            searcher = Searcher(store, CachedEmbedder(embedder, cache))  # type: ignore[arg-type]
            shapes = [
                (int(c), int(w)) for c in args.caps.split(",") for w in args.windows.split(",")
            ]
            for cap, window in shapes:
                base = SearchConfig(per_article=cap, window=window)
                name = f"cap{cap}" + (f"w{window}" if window else "")
                configs = [(name, base, args.modes.split(","))]
                for spec in filter(None, args.feedback.split(",")):
                    share, docs, terms = spec.split("/")
                    config = replace(
                        base,
                        fusion=replace(base.fusion, feedback=float(share)),
                        feedback_docs=int(docs),
                        feedback_terms=int(terms),
                    )
                    configs.append((f"{name}+fb{spec}", config, ["hybrid"]))
                for label, config, modes in configs:
                    searcher.config = config
                    entry[label] = {
                        name: figures(evaluate(searcher, qs, modes))  # type: ignore[arg-type]
                        for name, qs in questions.items()
                    }
        result["variants"][variant.name] = entry
        print(json.dumps({variant.name: entry}), file=sys.stderr)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
