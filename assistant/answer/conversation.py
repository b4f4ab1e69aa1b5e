"""Follow-up questions ("dan apa tanggapan Jerman?", "when was that?") made standalone.

Retrieval sees one question at a time, so a follow-up must carry what it refers to. With an LLM
configured, the LLM rewrites it from the recent turns. Without one, a question that reads as a
follow-up (a pronoun or demonstrative, a leading "dan"/"and", or no content word of its own)
gets the previous standalone question's names and content words appended; the assistant also
carries the previous question's articles forward (see `Assistant`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from index.store.tokenize import Tokenizer, stopwords

log = logging.getLogger(__name__)

Turns = list[tuple[str, str]]
History = Iterable[Sequence[str]] | Iterable[Mapping[str, Any]]

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_WORDS = Tokenizer()
# Words that point back into the conversation, in either language.
_REFERRING = frozenset(
    "itu tersebut ini dia ia mereka beliau sana situ begitu that it its they them their "  # noqa: SIM905
    "theirs he him his she her this those these there then".split()
)
# A question opening with one of these continues the previous one.
_CONTINUING = (
    "dan ", "lalu ", "terus ", "trus ", "kemudian ", "kalau ", "bagaimana dengan ", "gimana ",
    "and ", "what about ", "how about ", "also ", "so ", "but ", "then ",
)  # fmt: skip
# Words ending in -nya that are not "its/his/her X".
_NOT_POSSESSIVE = frozenset("hanya punya tanya bertanya bertanya-tanya tanyanya nyanya".split())  # noqa: SIM905
MAX_CARRIED = 6


class Rewriter(Protocol):
    def rewrite(self, question: str, history: Sequence[tuple[str, str]]) -> str: ...


@dataclass(frozen=True)
class Standalone:
    """The question retrieval searches for, and the previous one, when this is a follow-up."""

    question: str
    follow_up: bool = False
    previous: str | None = None


def turns(history: History) -> Turns:
    """(question, answer) pairs from pairs or from chat messages ({"role", "content"}).

    Messages carrying `metadata` are the UI's status notes, not turns, and are skipped.
    """
    pairs: Turns = []
    pending: str | None = None
    for item in history:
        if isinstance(item, Mapping):
            if item.get("metadata"):
                continue
            role, content = item.get("role"), str(item.get("content") or "")
            if role == "user":
                pending = content
            elif role == "assistant" and pending is not None:
                pairs.append((pending, content))
                pending = None
        else:
            question, answer = item
            pairs.append((str(question), str(answer)))
    return pairs


def is_follow_up(question: str) -> bool:
    """Does the question lean on the conversation to be understood?"""
    text = " ".join(question.lower().split())
    if text.startswith(_CONTINUING):
        return True
    words = _WORD.findall(text)
    if any(w in _REFERRING for w in words):
        return True
    if any(w.endswith("nya") and len(w) > 5 and w not in _NOT_POSSESSIVE for w in words):
        return True
    return not _WORDS.tokens(question)


def is_name(word: str, position: int) -> bool:
    """A name or a number, as written in a question: an acronym ("AS", "BRIN"), digits, or a
    capitalised word that does not open the question."""
    acronym = len(word) > 1 and word.isupper()
    return acronym or any(c.isdigit() for c in word) or (position > 0 and word[0].isupper())


def names(question: str) -> list[str]:
    return [w for i, w in enumerate(_WORD.findall(question)) if is_name(w, i)]


def salient_terms(question: str) -> list[str]:
    """Names first (as written), then other content words."""
    stop = stopwords()
    found: list[str] = []
    others: list[str] = []
    for i, word in enumerate(_WORD.findall(question)):
        name = is_name(word, i)  # "AS", "US" are names here, not function words
        if not name and (word.lower() in stop or len(word) < 2):
            continue
        (found if name else others).append(word)
    return list(dict.fromkeys(found + others))


def carry(question: str, previous: str) -> str:
    """`question` with the previous question's salient terms it lacks, in parentheses."""
    have = {w.lower() for w in _WORD.findall(question)}
    carried = [t for t in salient_terms(previous) if t.lower() not in have][:MAX_CARRIED]
    return f"{question} ({', '.join(carried)})" if carried else question


def standalone(question: str, history: History, rewriter: Rewriter | None = None) -> Standalone:
    """The question to search for. Earlier follow-ups are resolved in turn (offline, cheaply),
    so a chain of follow-ups still knows what the conversation is about."""
    pairs = turns(history)
    if not pairs:
        return Standalone(question)
    previous = pairs[0][0]
    for earlier, _ in pairs[1:]:
        previous = carry(earlier, previous) if is_follow_up(earlier) else earlier
    if rewriter is not None:
        try:
            rewritten = rewriter.rewrite(question, pairs)
        except Exception:  # a failing LLM must not stop the offline answer
            log.exception("the LLM could not rewrite the follow-up; rewriting offline")
        else:
            return Standalone(rewritten, rewritten.strip() != question.strip(), previous)
    if not is_follow_up(question):
        return Standalone(question)
    return Standalone(carry(question, previous), True, previous)
