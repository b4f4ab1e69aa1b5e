"""What an answer is: text in the asker's language plus the paragraphs its `[n]` markers cite."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from index.records import Passage


@dataclass(frozen=True, kw_only=True)
class Citation(Passage):
    """Source `[n]`: one article's paragraph range, and the exact text the answer relies on."""

    n: int
    quote: str  # the exact cited text, verbatim from the paragraph
    text: str  # the whole retrieved passage, for a sources panel

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            **self.source_json(),
            "paragraphs": list(self.paragraphs),
            "quote": self.quote,
        }


@dataclass(frozen=True)
class Answer:
    """The final answer; `abstained` when the index does not answer the question."""

    text: str
    lang: str  # "id" or "en": the language the answer is written in
    abstained: bool
    citations: tuple[Citation, ...] = ()
    standalone_question: str = ""  # what retrieval searched for, after follow-up rewriting
    unsupported: bool = False  # an LLM answer with no valid citation
    related: tuple[Citation, ...] = field(default=())  # closest articles shown when abstaining
    short: str | None = None  # the short answer stated first (a number, date or name), if any

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "lang": self.lang,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "related": [c.to_json() for c in self.related],
        }
