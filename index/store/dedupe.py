"""Near-duplicate articles (one wire story republished by several outlets) are indexed once.

Each searchable ("canonical") article has a MinHash signature over word shingles of its body.
A new article from another outlet whose estimated Jaccard similarity to a canonical one reaches
the threshold is not embedded: it is recorded as an alternative source of that article, for
citations to show. Copies within one outlet (or without a known outlet) are left alone: those
are separate records someone chose to keep, like the repeated passages of the FacQA set.

Everything lives in `<collection>-duplicates.json` beside the store and is derived data: the
signatures of canonical articles are rebuilt from the store's chunks when missing, and an
alternate whose record is lost is simply screened again the next time it is read.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.atomic import write_atomic
from index.records import Article
from index.store.chroma import Store
from index.store.protocol import IndexedArticle

if TYPE_CHECKING:
    from datasketch import MinHash, MinHashLSH

log = logging.getLogger(__name__)

SHINGLE_WORDS = 5
NUM_PERM = 128
THRESHOLD = 0.5  # estimated Jaccard of 5-word shingles; wire copies with light edits score 0.6+
# Short passages are never collapsed: a sentence or two cannot tell a copy from a shared topic.
MIN_SHINGLES = 30
_SIGN_BATCH = 200  # articles whose chunks are read from the store at once
_WORD = re.compile(r"\w+")
SCHEME = "affine32"  # datasketch's hashing scheme; signatures on file were made with it


@cache
def _permutations() -> Any:
    """MinHash's permutations, made once (costly), on first use: datasketch imports scipy,
    0.6 s that a search, which only reads the alternates, should not pay."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations


@dataclass(frozen=True)
class Alternate:
    """Another outlet's copy of a canonical article: shown with its citations, not searched."""

    article_id: str
    of: str  # the canonical article's id
    content_hash: str
    similarity: float  # estimated Jaccard similarity to the canonical article
    title: str
    url: str | None = None
    source: str | None = None
    published: str | None = None
    path: str | None = None


def signature(paragraphs: Iterable[str]) -> np.ndarray | None:
    """MinHash of the body's word shingles; None when the body is too short to compare."""
    words = _WORD.findall(" ".join(paragraphs).lower())
    shingles = {
        " ".join(words[i : i + SHINGLE_WORDS]).encode()
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }
    if len(shingles) < MIN_SHINGLES:
        return None
    from datasketch import MinHash

    minhash = MinHash(
        num_perm=NUM_PERM, permutations=_permutations(), scheme=SCHEME, hashfunc=zlib.crc32
    )
    minhash.update_batch(list(shingles))
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b))


def _encode(sig: np.ndarray | None) -> str | None:
    return None if sig is None else base64.b64encode(sig.astype("<u4").tobytes()).decode()


def _decode(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    return np.frombuffer(base64.b64decode(text), dtype="<u4").astype(np.uint32)


class Duplicates:
    """The canonical signatures and the alternates, with an in-memory LSH index over the former."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.hashes: dict[str, str] = {}  # canonical article id -> content hash signed
        self.signatures: dict[str, np.ndarray | None] = {}
        self.sources: dict[str, str | None] = {}
        self.alternates: dict[str, Alternate] = {}
        self._lsh: MinHashLSH | None = None
        if path is not None and path.exists():
            self._load(path)

    @classmethod
    def for_store(cls, store: Store) -> Duplicates:
        """The sidecar beside the store (in memory only for a store without a cache folder)."""
        path = store.cache_dir / f"{store.name}-duplicates.json" if store.cache_dir else None
        return cls(path)

    def _load(self, path: Path) -> None:
        try:
            raw = json.loads(path.read_text("utf-8"))
            for article_id, entry in raw["canonical"].items():
                self.hashes[article_id] = entry["hash"]
                self.signatures[article_id] = _decode(entry["sig"])
                self.sources[article_id] = entry.get("source")
            self.alternates = {a["article_id"]: Alternate(**a) for a in raw["alternates"]}
        except (ValueError, KeyError, TypeError):
            log.warning("%s is unreadable: duplicate records will be rebuilt", path)
            self.hashes, self.signatures, self.alternates = {}, {}, {}

    def save(self) -> None:
        """Replace the file atomically; called after the store write it describes."""
        if self.path is None:
            return
        payload = {
            "format": 1,
            "canonical": {
                article_id: {
                    "hash": self.hashes[article_id],
                    "source": self.sources.get(article_id),
                    "sig": _encode(sig),
                }
                for article_id, sig in sorted(self.signatures.items())
            },
            "alternates": [asdict(a) for _, a in sorted(self.alternates.items())],
        }
        write_atomic(self.path, lambda fh: json.dump(payload, fh, ensure_ascii=False))

    # ------------------------------------------------------------ keeping in step with the store

    def sync(self, store: Store, indexed: Mapping[str, IndexedArticle]) -> None:
        """Match the canonical set to the store: forget what is gone (and its alternates, which
        are screened again when next read), sign what is new or changed from its chunks."""
        for article_id in set(self.signatures) - set(indexed):
            self._drop_canonical(article_id)
        for alt_id in [a for a, alt in self.alternates.items() if alt.of not in indexed]:
            del self.alternates[alt_id]
        missing = [
            known
            for article_id, known in indexed.items()
            if known.consistent and self.hashes.get(article_id) != known.content_hash
        ]
        if missing:
            log.info("signing %d indexed articles for near-duplicate detection", len(missing))
        for start in range(0, len(missing), _SIGN_BATCH):
            group = missing[start : start + _SIGN_BATCH]
            hits = store.hits([cid for known in group for cid in known.chunk_ids])
            for known in group:
                ordered = sorted(known.chunk_ids, key=lambda cid: int(cid.rsplit("::", 1)[1]))
                found = [hits[cid] for cid in ordered if cid in hits]
                source = found[0].source if found else None
                texts = [hit.text for hit in found]
                sig = signature(texts)
                self._set_canonical(known.article_id, known.content_hash, sig, source)
        self._lsh = None

    def _set_canonical(
        self, article_id: str, content_hash: str, sig: np.ndarray | None, source: str | None
    ) -> None:
        if self._lsh is not None and article_id in self._lsh:
            self._lsh.remove(article_id)
        self.hashes[article_id] = content_hash
        self.signatures[article_id] = sig
        self.sources[article_id] = source
        if self._lsh is not None and sig is not None:
            self._lsh.insert(article_id, self._minhash(sig))

    def _drop_canonical(self, article_id: str) -> None:
        self.hashes.pop(article_id, None)
        self.signatures.pop(article_id, None)
        self.sources.pop(article_id, None)
        if self._lsh is not None and article_id in self._lsh:
            self._lsh.remove(article_id)

    @staticmethod
    def _minhash(sig: np.ndarray) -> MinHash:
        from datasketch import MinHash

        return MinHash(
            num_perm=NUM_PERM, hashvalues=sig, permutations=_permutations(), scheme=SCHEME
        )

    def _index(self) -> MinHashLSH:
        if self._lsh is None:
            from datasketch import MinHashLSH

            self._lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
            for article_id, sig in self.signatures.items():
                if sig is not None:
                    self._lsh.insert(article_id, self._minhash(sig))
        return self._lsh

    # ------------------------------------------------------------ decisions

    def known_alternate(self, article: Article) -> Alternate | None:
        """The record of this exact article (same content) as an alternate, if there is one."""
        alt = self.alternates.get(article.id)
        return alt if alt and alt.content_hash == article.content_hash() else None

    def is_recorded(self, article_id: str, content_hash: str | None) -> bool:
        """Whether this article is indexed as an alternate with this content."""
        alt = self.alternates.get(article_id)
        return alt is not None and alt.content_hash == content_hash

    def screen(self, article: Article) -> Alternate | None:
        """A new article: record and return it as an alternate of the most similar canonical
        article of another outlet at or above the threshold; otherwise it becomes canonical and
        None is returned."""
        self.alternates.pop(article.id, None)
        content_hash = article.content_hash()
        sig = signature(article.paragraphs)
        best: tuple[float, str] | None = None
        if sig is not None and article.source:
            for candidate in sorted(self._index().query(self._minhash(sig))):  # ties: lowest id
                other = self.signatures.get(candidate)
                outlet = self.sources.get(candidate)
                if candidate == article.id or other is None or outlet in (None, article.source):
                    continue
                score = similarity(sig, other)
                if score >= THRESHOLD and (best is None or score > best[0]):
                    best = (score, candidate)
        if best is None:
            self._set_canonical(article.id, content_hash, sig, article.source)
            return None
        alt = Alternate(
            article_id=article.id,
            of=best[1],
            content_hash=content_hash,
            similarity=round(best[0], 3),
            title=article.title,
            url=article.url,
            source=article.source,
            published=article.published,
            path=article.path,
        )
        self.alternates[article.id] = alt
        log.info("%s is a near-duplicate of %s (%.2f)", article.id, best[1], best[0])
        return alt

    def note_update(self, article: Article) -> None:
        """An indexed canonical article changed: re-sign it (it stays canonical)."""
        sig = signature(article.paragraphs)
        self._set_canonical(article.id, article.content_hash(), sig, article.source)

    def forget(self, article_ids: Iterable[str]) -> list[Alternate]:
        """Canonical articles deleted from the store: drop them, and return (and drop) their
        alternates so the caller can index one of them in their place."""
        gone = set(article_ids)
        for article_id in gone:
            self._drop_canonical(article_id)
        orphans = [alt for alt in self.alternates.values() if alt.of in gone]
        for alt in orphans:
            del self.alternates[alt.article_id]
        return orphans

    def drop_alternates(self, article_ids: Iterable[str]) -> None:
        for article_id in article_ids:
            self.alternates.pop(article_id, None)

    def citation_sources(self, article_id: str) -> list[dict[str, str | None]]:
        """The alternates of an article as the JSON a citation shows beside its own source."""
        return [
            {"source": a.source, "url": a.url, "title": a.title, "published": a.published}
            for a in self.alternates_of(article_id)
        ]

    def alternates_of(self, article_id: str) -> list[Alternate]:
        """Other outlets' copies of an indexed article, most similar first."""
        found = [alt for alt in self.alternates.values() if alt.of == article_id]
        return sorted(found, key=lambda a: (-a.similarity, a.article_id))
