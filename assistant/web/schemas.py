"""The API's response shapes, for its OpenAPI page and for checking what it sends.

The JSON itself is written once, by `Searcher.to_json` and `Answer.to_json` (the CLI prints the
same); these models only declare it, so `/api/docs` shows every field and FastAPI refuses to send
a response that drifted from the documented shape.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Alternate(BaseModel):
    """Another outlet's copy of the same article (a near-duplicate found at indexing)."""

    source: str | None
    url: str | None
    title: str | None
    published: str | None


class Source(BaseModel):
    """Which article a passage comes from."""

    article_id: str
    title: str
    url: str | None
    published: str | None = Field(description="YYYY-MM-DD, when known")
    source: str | None = Field(description="the outlet")


class SearchHit(Source):
    """One ranked passage, as `kabar search --json` prints it."""

    lang: str | None
    paragraphs: tuple[int, int] = Field(description="first and last paragraph, 1-based")
    text: str
    score: float
    alternates: list[Alternate]


class Citation(Source):
    """A source of an answer: `[n]` in the answer text is the citation with this `n`."""

    n: int
    paragraphs: tuple[int, int] = Field(description="first and last paragraph, 1-based")
    quote: str


class AskResponse(BaseModel):
    """An answer, as `kabar ask --json` prints it."""

    answer: str
    lang: str = Field(description="the language the answer is written in: id or en")
    abstained: bool = Field(description="true when the indexed news does not answer it")
    citations: list[Citation]
    related: list[Citation] = Field(description="the closest articles, shown when abstaining")
