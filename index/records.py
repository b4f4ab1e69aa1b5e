"""Records passed along the indexing pipeline, defined once.

The JSON the CLI prints is the serialisation of these dataclasses, not a second schema.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    """A clean news article: metadata plus body paragraphs (1-based when cited)."""

    id: str
    title: str
    paragraphs: tuple[str, ...]
    url: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    author: str | None = None
    source: str | None = None
    lang: str | None = None  # "id" or "en"
    path: str | None = None  # where it was read from; used by --prune
    extra: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """Hash of all that ends up in the index, so any change triggers a re-embed."""
        payload = {k: v for k, v in asdict(self).items() if k != "path"}
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Failure:
    """One input that could not be read, with a reason a person can act on."""

    path: str
    error: str


@dataclass(frozen=True)
class Chunk:
    """Consecutive paragraphs of one article, small enough for the embedding model."""

    article_id: str
    ordinal: int  # position of the chunk within its article, from 0
    text: str
    first_paragraph: int  # 1-based, inclusive
    last_paragraph: int  # 1-based, inclusive
    title: str
    published: str | None
    source: str | None
    url: str | None
    lang: str | None

    @property
    def id(self) -> str:
        return f"{self.article_id}::{self.ordinal}"


@dataclass(frozen=True, kw_only=True)
class Passage:
    """A paragraph range of one article and the article it comes from: what hits and citations
    share, so a passage is described, shown and serialised the same way everywhere."""

    article_id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    lang: str | None
    paragraphs: tuple[int, int]  # 1-based, inclusive

    def source_json(self) -> dict[str, Any]:
        """The article's identity and origin, in the order the JSON outputs use."""
        return {
            "article_id": self.article_id,
            "title": self.title,
            "url": self.url,
            "published": self.published,
            "source": self.source,
        }


@dataclass(frozen=True, kw_only=True)
class Hit(Passage):
    """A retrieved chunk with its score (higher is better)."""

    chunk_id: str
    text: str
    score: float  # the ranking score of the search mode that found it
    similarity: float | None = None  # cosine similarity to the question (not in BM25-only mode)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.source_json(),
            "lang": self.lang,
            "paragraphs": list(self.paragraphs),
            "text": self.text,
            "score": round(self.score, 6),
        }
