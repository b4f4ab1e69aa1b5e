"""Incremental indexing: hash each article, skip the unchanged, rewrite the changed, prune the gone.

An unchanged corpus never loads the model: the bookkeeping comes from chunk metadata and the
model fingerprint from files, so a re-run costs reading and cleaning the inputs only.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import Chunker, embedding_text
from index.embed.embedder import Embedder
from index.ingest.sources import Item, iter_articles
from index.records import Article, Chunk, Failure
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.dedupe import Duplicates
from index.store.lexical import LexicalCache
from index.store.lock import writer_lock
from index.store.protocol import IndexedArticle

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_LINE_SUFFIX = re.compile(r":\d+$")  # "records.jsonl:7" names a line of a file


@dataclass
class IndexReport:
    """What one run did; `to_json` is the `kabar index --json` output."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0  # chunks written in this run
    failed: list[Failure] = field(default_factory=list)
    duplicates: int = 0  # near-duplicates recorded as another article's alternates, not embedded

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "duplicates": self.duplicates,
        }


def _under(path: str, roots: Sequence[Path]) -> bool:
    candidate = Path(path)
    return any(candidate == root or root in candidate.parents for root in roots)


class Indexer:
    """Brings a store in step with a set of input files or folders."""

    def __init__(
        self, store: Store, embedder: Embedder, chunk_tokens: int = 160, batch_chunks: int = 512
    ) -> None:
        if batch_chunks < 1:
            raise ValueError("batch_chunks must be at least 1")
        self.store = store
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.batch_chunks = batch_chunks
        self.lexical = LexicalCache.for_store(store)
        self.duplicates = Duplicates(None)  # read by each run, as the last writer left it

    def run(
        self,
        paths: Sequence[str | os.PathLike[str]],
        prune: bool = False,
        progress: Progress | None = None,
        fetched: Iterable[Item] = (),
    ) -> IndexReport:
        """Index `paths` and the already-read `fetched` items (web pages; never pruned)."""
        report = IndexReport()
        self.store.upgrade()  # a store created with older vector index settings: once, no model
        self.store.check_model(self.embedder.name, self.embedder.fingerprint)
        indexed = self.store.articles()
        self.duplicates = Duplicates.for_store(self.store)  # as the last writer left it
        articles: dict[str, Article] = {}
        for item in itertools.chain(iter_articles(paths), fetched):
            if isinstance(item, Failure):
                report.failed.append(item)
            elif item.id in articles:
                log.warning(
                    "%s: article id %s already read from %s",
                    item.path,
                    item.id,
                    articles[item.id].path,
                )
            else:
                articles[item.id] = item

        pending: list[tuple[Article, bool]] = []  # (article, is_new)
        for article in articles.values():
            known = indexed.get(article.id)
            if known and known.consistent and known.content_hash == article.content_hash():
                report.unchanged += 1
                if known.path != article.path:
                    self._move(known, article.path)
            else:
                pending.append((article, known is None))
        self.duplicates.sync(self.store, indexed)
        pending = self._screen(pending, report)

        total = len(pending)
        if progress:
            progress(0, total)
        done = 0
        for batch in self._batches(pending):
            report.chunks += self._write(batch, indexed)
            for _, is_new in batch:
                if is_new:
                    report.added += 1
                else:
                    report.updated += 1
            done += len(batch)
            if progress:
                progress(done, total)

        if prune:
            doomed = self._prune(paths, indexed, set(articles), report.failed)
            report.removed = len(doomed)
            self._prune_duplicates(paths, doomed, articles, indexed, report)
        self.duplicates.save()
        self._refresh_lexical(report)
        return report

    # ---------------------------------------------------------------- near-duplicates (dedupe.py)

    def _screen(
        self, pending: list[tuple[Article, bool]], report: IndexReport
    ) -> list[tuple[Article, bool]]:
        """New articles that copy an indexed one become its alternates instead of being embedded;
        indexed articles that changed stay searchable and are only re-signed."""
        duplicates = self.duplicates
        kept: list[tuple[Article, bool]] = []
        for article, is_new in pending:
            if not is_new:
                duplicates.note_update(article)
                kept.append((article, is_new))
            elif duplicates.known_alternate(article):
                report.unchanged += 1
            elif duplicates.screen(article):
                report.duplicates += 1
            else:
                kept.append((article, is_new))
        return kept

    def _prune_duplicates(
        self,
        paths: Sequence[str | os.PathLike[str]],
        doomed: list[IndexedArticle],
        articles: dict[str, Article],
        indexed: dict[str, IndexedArticle],
        report: IndexReport,
    ) -> None:
        """Drop alternates whose files went away; when a canonical article is deleted, its
        alternates read in this run are screened again, so one of them takes its place."""
        roots = [Path(p).resolve() for p in paths]
        gone = [
            alt.article_id
            for alt in self.duplicates.alternates.values()
            if alt.path
            and alt.article_id not in articles
            and (not os.path.exists(alt.path) or _under(alt.path, roots))
        ]
        self.duplicates.drop_alternates(gone)
        orphans = self.duplicates.forget(known.article_id for known in doomed)
        promoted = [(articles[a.article_id], True) for a in orphans if a.article_id in articles]
        if promoted:
            for batch in self._batches(self._screen(promoted, report)):
                report.chunks += self._write(batch, indexed)
                report.added += len(batch)

    def _refresh_lexical(self, report: IndexReport) -> None:
        """Bring the lexical cache in step now, so searches never pay for rebuilding it."""
        cache = self.lexical
        changed = report.chunks or report.updated or report.removed
        if cache.path is not None and (changed or (not cache.exists() and self.store.count())):
            cache.sync(self.store)

    def _batches(self, pending: list[tuple[Article, bool]]) -> Iterable[list[tuple[Article, bool]]]:
        """Group articles so one model call embeds hundreds of chunks: that is where speed is."""
        batch: list[tuple[Article, bool]] = []
        size = 0
        for item in pending:
            batch.append(item)
            size += max(1, len(item[0].paragraphs) // 2)
            if size >= self.batch_chunks:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _write(self, batch: list[tuple[Article, bool]], indexed: dict[str, IndexedArticle]) -> int:
        chunker = Chunker(
            lambda texts: self.embedder.count_tokens(texts, "passage"),
            limit=self.embedder.max_tokens,
            target=min(self.chunk_tokens, self.embedder.max_tokens),
        )
        items: list[tuple[list[Chunk], str, str | None]] = []
        texts: list[str] = []
        stale: list[str] = []
        for article, _ in batch:
            chunks = chunker.chunk(article)
            items.append((chunks, article.content_hash(), article.path))
            texts.extend(embedding_text(c.title, c.text) for c in chunks)
            known = indexed.get(article.id)
            if known:
                stale.extend(known.chunk_ids)
        vectors = self.embedder.embed_passages(texts) if texts else np.zeros((0, 1), np.float32)
        self.store.prepare(self.embedder.name, self.embedder.fingerprint, int(vectors.shape[1]))
        self.store.write(items, vectors, stale)
        return len(texts)

    def _move(self, known: IndexedArticle, path: str | None) -> None:
        """A file that moved keeps its vectors; only the path its chunks remember changes."""
        self.store.set_path(known.chunk_ids, path)

    def _prune(
        self,
        paths: Sequence[str | os.PathLike[str]],
        indexed: dict[str, IndexedArticle],
        seen: set[str],
        failed: list[Failure],
    ) -> list[IndexedArticle]:
        """Remove articles whose file is gone, or whose file was read and no longer holds them.

        Articles from a file that failed to read this time are kept: a bad line is not a deletion.
        """
        roots = [Path(p).resolve() for p in paths]
        failed_paths = {str(Path(_LINE_SUFFIX.sub("", f.path)).resolve()) for f in failed}
        doomed: list[IndexedArticle] = []
        for article_id, known in indexed.items():
            if article_id in seen or known.path is None:
                continue
            gone = not os.path.exists(known.path)
            dropped = _under(known.path, roots) and known.path not in failed_paths
            if gone or dropped:
                doomed.append(known)
        self.store.delete_ids(cid for known in doomed for cid in known.chunk_ids)
        return doomed


@contextmanager
def index_locked(
    settings: StoreSettings,
    *,
    store: Store | None = None,
    embedder: Embedder | None = None,
    timeout: float = 600.0,
    batch_chunks: int = 512,
    rebuild: bool = False,
) -> Iterator[Indexer]:
    """The one write path: hold the writer lock, then hand out an indexer on the store.

    The CLI, the chat's add tab and the feed watcher all write through here, so no two writers
    ever interleave (Chroma's embedded client is not safe with two writing processes). A caller
    that already holds an open store or a loaded model passes it in, so nothing loads twice.
    """
    with writer_lock(settings, timeout=timeout):
        store = store or Store.open(settings)
        if rebuild:
            store.drop()
        embedder = embedder or Embedder(settings.model, settings.model_cache)
        yield Indexer(
            store, embedder, chunk_tokens=settings.chunk_tokens, batch_chunks=batch_chunks
        )
