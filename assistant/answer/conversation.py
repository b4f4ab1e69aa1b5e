"""Follow-up questions ("dan apa tanggapan Jerman?", "when was that?") made standalone.

Retrieval sees one question at a time, so a follow-up must carry what it refers to. But a
pronoun does not make a follow-up: "By how many votes did Millbrook council pass its budget?"
stands alone whatever was asked before. So the evidence decides (see `Assistant.resolve`): the
question is searched within the articles the previous question found, and it is a follow-up
only when they answer it (`follows`); wording (`is_follow_up`: a pronoun or demonstrative)
only lowers the bar, and a question opening as a continuation ("dan …", "what about …") or
with no content word of its own always is one (`continues`), as is one whose only subject is a
pronoun: no name of its own and a few words ("Who chairs it?", `bare`). A follow-up is then
searched with the previous standalone question's names and content words appended (`carry`),
or as the LLM rewrites it when one is configured.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

import numpy as np

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
# "ini"/"this" pointing at the calendar, not at the conversation ("tahun ini", "this year").
_TEMPORAL = re.compile(
    r"\b(?:hari|saat|kali|tahun|bulan|minggu|pekan|malam|pagi|siang|sore|sekarang) ini\b"
    r"|\bthis (?:year|month|week|weekend|morning|afternoon|evening|season|time)\b"
    r"|\bthese days\b"
)
# A question opening with one of these continues the previous one.
_CONTINUING = (
    "dan ", "lalu ", "terus ", "trus ", "kemudian ", "kalau ", "bagaimana dengan ", "gimana ",
    "and ", "what about ", "how about ", "also ", "so ", "but ", "then ",
)  # fmt: skip
# Words ending in -nya that are not "its/his/her X".
_NOT_POSSESSIVE = frozenset("hanya punya tanya bertanya bertanya-tanya tanyanya nyanya".split())  # noqa: SIM905
MAX_CARRIED = 6
# How much a standalone question taken for a follow-up costs against a follow-up taken as
# standalone, when the cuts are chosen (`choose_cut`): a standalone question answered from the
# previous article is a confident wrong answer; a missed follow-up that names something of its
# own is still searched with its own words.
STANDALONE_COST = 2.0


@dataclass(frozen=True)
class FollowCuts:
    """How likely (P(answerable), see `assistant.answer.abstain`) the previous question's
    articles must answer a question for it to be taken as a follow-up: `cued` when its wording
    leans on the conversation (`is_follow_up`), `plain` when not. They are probabilities of one
    abstention model, so they are chosen with it (`bench/abstention.py --calibrate`, on
    tests/data/followups.jsonl) and stored beside it: fixed numbers moved with every refit (a
    stronger L2 squeezing the probabilities took 4.5% of the standalone questions for
    follow-ups at the fixed 0.2)."""

    cued: float
    plain: float


def choose_cut(standalone: Sequence[float], follow_ups: Sequence[float]) -> float:
    """The P cut (a follow-up when P >= cut) that costs least on labelled questions, each
    standalone question at or above it counting `STANDALONE_COST` and each follow-up below it
    one: the middle of the best interval between observed values (of equal intervals, the
    highest), or just above the highest value when no follow-up is worth a standalone error."""
    values = sorted({*standalone, *follow_ups})
    if not values:
        raise ValueError("no questions to choose a follow-up cut from")
    s, f = np.sort(np.asarray(standalone, float)), np.sort(np.asarray(follow_ups, float))

    def cost(cut: float) -> float:
        taken = len(s) - np.searchsorted(s, cut, side="left")
        missed = np.searchsorted(f, cut, side="left")
        return STANDALONE_COST * float(taken) + float(missed)

    # A cut anywhere in (values[i-1], values[i]] decides the same; above the top, none follow.
    edges = [-np.inf, *values, np.inf]
    bounds = list(pairwise(edges))
    low, high = min(reversed(bounds), key=lambda b: cost(b[1]))
    if not np.isfinite(high):
        return float(min(1.0, (low + 1.0) / 2))
    if not np.isfinite(low):
        return float(high / 2)
    return float((low + high) / 2)


# A question pointing back, naming nothing and saying at most this many content words has no
# subject but the conversation's. In tests/data/followups.jsonl 62 of the 100 follow-ups point
# back and name nothing, in 1 to 7 content words (61 in at most 6; the evidence missed 3 of
# them, P 0.12-0.19 within the previous articles); of the 200 standalone questions two do, in
# 11 and 13 content words ("Which senior barrister quit the special panel that…").
MAX_BARE_WORDS = 6


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
    words = _WORD.findall(_TEMPORAL.sub(" ", text))
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


def previous_question(history: History) -> str | None:
    """What the conversation is about: the latest question, made standalone. Earlier
    follow-ups are resolved in turn by their wording (cheaply: re-judging every turn by its
    evidence would cost a search each), so a chain of follow-ups keeps its topic."""
    pairs = turns(history)
    if not pairs:
        return None
    previous = pairs[0][0]
    for earlier, _ in pairs[1:]:
        previous = carry(earlier, previous) if is_follow_up(earlier) else earlier
    return previous


def continues(question: str) -> bool:
    """Does the question open as a continuation ("dan …", "and …?", "what about …?") or have
    no content word of its own? Then it is a follow-up whatever the evidence says (in
    tests/data/followups.jsonl only follow-ups open so)."""
    text = " ".join(question.lower().split())
    return text.startswith(_CONTINUING) or not _WORDS.tokens(question)


def bare(question: str, most: int = MAX_BARE_WORDS) -> bool:
    """Is a pronoun the question's only subject: it points back, names nothing and says little
    ("Who chairs it?", "Apa nama serikatnya?", "Lagu apa yang pernah dia nyanyikan?")? Then it
    cannot stand alone whatever the evidence says (see `MAX_BARE_WORDS`)."""
    return is_follow_up(question) and not names(question) and len(_WORDS.tokens(question)) <= most


def by_evidence(question: str) -> bool:
    """Is the question decided by the evidence (`follows`), not by its wording alone?"""
    return not (continues(question) or bare(question))


def follows(question: str, in_previous: float, cuts: FollowCuts) -> bool:
    """Is `question` a follow-up, given how likely the previous question's articles answer it
    (P(answerable) of the question alone within them)? A standalone question names its own
    subject, which the previous articles lack, so its P is near 0 there whatever its pronouns
    say; a follow-up finds its answer there."""
    if not by_evidence(question):
        return True
    return in_previous >= (cuts.cued if is_follow_up(question) else cuts.plain)


def standalone(question: str, history: History, rewriter: Rewriter | None = None) -> Standalone:
    """`question` as a follow-up of the conversation: rewritten by `rewriter` when there is
    one, else with the previous question's terms carried (see `Assistant.resolve`, which
    decides whether it is a follow-up at all)."""
    pairs = turns(history)
    previous = previous_question(pairs)
    if previous is None:
        return Standalone(question)
    if rewriter is not None:
        try:
            rewritten = rewriter.rewrite(question, pairs)
        except Exception:  # a failing LLM must not stop the offline answer
            log.exception("the LLM could not rewrite the follow-up; rewriting offline")
        else:
            return Standalone(rewritten, rewritten.strip() != question.strip(), previous)
    return Standalone(carry(question, previous), True, previous)
