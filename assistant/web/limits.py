"""What one request may ask of the server: one set of limits for every surface.

The JSON API, the chat, the Gradio endpoints (`/ask`, `/search`) and the add tab all check their
inputs here, so a question the API refuses is refused by the chat too, and the README lists one
set of numbers. Body sizes are enforced before a body is read, by `assistant.web.guard`.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from index.ingest.sources import MAX_FILE_BYTES


class LimitError(ValueError):
    """An input over a limit or malformed; the message says which and what is allowed."""


@dataclass(frozen=True)
class Limits:
    question_chars: int = 2_000
    max_k: int = 50  # search hits per request
    history_turns: int = 20  # earlier (question, answer) pairs sent with a question
    history_chars: int = 50_000  # all of them together
    filter_values: int = 50  # outlets or languages named in one filter
    upload_files: int = 50  # files indexed by one click of the add tab
    upload_bytes: int = MAX_FILE_BYTES  # one uploaded file
    paste_chars: int = 1_000_000  # text pasted into the add tab
    request_bytes: int = 4_000_000  # any request body but an upload (a pasted article fits)
    upload_request_bytes: int = 100_000_000  # one upload request, all its files together
    login_failures: int = 10  # wrong logins per client address ...
    login_window: float = 60.0  # ... within this many seconds; then 429 until one ages out

    def question(self, text: object) -> str:
        """The question with surrounding whitespace removed; refuses empty, over-long and
        unencodable text (a lone surrogate from JSON's `\\ud800` cannot become UTF-8)."""
        if not isinstance(text, str):
            raise LimitError("the question must be text")
        text = text.strip()
        if not text:
            raise LimitError("the question is empty")
        if len(text) > self.question_chars:
            raise LimitError(
                f"the question has {len(text):,} characters, over the limit of "
                f"{self.question_chars:,}"
            )
        if not _encodable(text):
            raise LimitError("the question is not valid Unicode text")
        return text

    def k(self, k: object) -> int:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.max_k:
            raise LimitError(f"k must be a whole number from 1 to {self.max_k}")
        return k

    def history(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Earlier turns as sent by a client; too many or too long is refused, not cut, so a
        client never gets an answer to a conversation other than the one it sent."""
        if len(pairs) > self.history_turns:
            raise LimitError(f"at most {self.history_turns} earlier turns may be sent")
        size = sum(len(q) + len(a) for q, a in pairs)
        if size > self.history_chars:
            raise LimitError(
                f"the earlier turns hold {size:,} characters, over the limit of "
                f"{self.history_chars:,}"
            )
        if not all(_encodable(q) and _encodable(a) for q, a in pairs):
            raise LimitError("the earlier turns are not valid Unicode text")
        return list(pairs)

    def recent(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The chat's own history (kept by the server): only the latest turns are carried."""
        kept = list(pairs[-self.history_turns :]) if self.history_turns else []
        while kept and sum(len(q) + len(a) for q, a in kept) > self.history_chars:
            kept.pop(0)
        return kept

    def values(self, values: Sequence[str], what: str) -> tuple[str, ...]:
        if len(values) > self.filter_values:
            raise LimitError(f"at most {self.filter_values} {what} may be named")
        if any(not isinstance(v, str) or len(v) > 200 or not _encodable(v) for v in values):
            raise LimitError(f"each of the {what} must be text of at most 200 characters")
        return tuple(values)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_date(value: str | None) -> str | None:
    """A calendar date as YYYY-MM-DD, or None for a blank value; `2026-13-45` is refused."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise LimitError(f"not a date of the form YYYY-MM-DD: {value[:40]!r}") from exc
    if len(value) != 10 or parsed.isoformat() != value:  # fromisoformat also takes 20260101
        raise LimitError(f"not a date of the form YYYY-MM-DD: {value[:40]!r}")
    return value
