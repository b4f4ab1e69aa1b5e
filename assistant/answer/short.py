"""The short answer stated before the evidence: the number, date or name a question asks for,
when one candidate in the retrieved sentences clearly wins.

Candidates are spans of the asked kind (see `expected_kind`) in the best-scoring sentences,
verbatim, minus what the question already says ("Kota Pekalongan" does not answer a question
about Pekalongan). A small logistic model (`FEATURES`: how far its sentence scores below the
best, how close it sits to the question's words and to the thing asked about, whether an amount
has the unit asked about, whether a "who" answer looks like a person's name, ...) gives each the
probability of being right. The winner is shown only when that probability and its lead over
the runner-up's reach the gate of its group (one candidate clearly wins): its kind, or, quoted
across languages, the cross-lingual gate. Model and gates are fitted on dev questions by
`bench/short_answers.py --fit` (assistant/answer/data/short.json): per group, the gate showing
the most short answers of which at least 92% are right there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from assistant.answer import asked
from assistant.answer.abstain import Abstention
from assistant.answer.conversation import names
from assistant.answer.evidence import Evidence, Sentence
from assistant.answer.phrases import question_confidence
from index.records import Hit
from index.store.tokenize import stopwords

FEATURES = (
    "gap", "index", "near_question", "near_focus", "unit", "counted", "names", "person", "words",
    "alone", "cross", "number", "time", "repeated",
)  # fmt: skip
SENTENCES = 3  # the best sentences searched for candidates
SENTENCE_GAP = 0.2  # … those scoring at most this much below the best one (as compose.MARGIN)
LEAD = 0.2  # P(right) of the winner above the runner-up's (unless fitted per kind)
_STEM = 5  # as in `assistant.answer.asked.mentions`
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Short:
    """The short answer: `sentence.text[start:end]`, verbatim."""

    sentence: Sentence
    start: int
    end: int
    kind: str
    lead: float  # the winner's score minus the runner-up's

    @property
    def text(self) -> str:
        return self.sentence.text[self.start : self.end]


def _same_word(word: str, stems: set[str]) -> bool:
    """ "vote"/"votes", "petani"/"petaninya": a shared start of `_STEM` letters is enough."""
    word = word.lower()
    return len(word) >= 3 and any(word[:_STEM] == stem or stem == word for stem in stems)


def _nearness(text: str, start: int, end: int, question_words: set[str]) -> float:
    """1 for a candidate right next to a question word of the sentence, less further away."""
    stems = {w[:_STEM] if len(w) >= _STEM else w for w in question_words}
    positions = [m.start() for m in _WORD.finditer(text) if _same_word(m.group(), stems)]
    if not positions:
        return 0.0
    before = len(_WORD.findall(text[:start]))
    after = len(_WORD.findall(text[:end]))
    index = [len(_WORD.findall(text[:p])) for p in positions]
    distance = min(before - i if i < before else i - after for i in index)
    return 1.0 / (1.0 + max(distance, 0) / 3.0)


def _context(text: str, start: int, end: int) -> str:
    """The candidate with the three words before it: where its unit or subject is named
    ("by a vote of 8 to 5", "biaya Rp 6,8 miliar")."""
    before = _WORD.findall(text[:start])[-3:]
    return " ".join([*before, text[start:end]])


def _unit(question: str, focus: str | None, context: str) -> float:
    """+1 for an amount in the unit asked about, -1 for one in another: a percentage for "what
    percentage", money for "how much did it cost" / "berapa biaya", the thing counted for
    "how many farmers" (in either language)."""
    unit = asked.asked_unit(question)
    if unit is not None:
        return 1.0 if asked.has_unit(context, unit) else -1.0
    return 1.0 if focus is not None and asked.mentions(context, focus) else 0.0


_PERSON_ASKED = re.compile(r"\b(siapa(kah)?|who|whom|whose)\b", re.IGNORECASE)
_NOT_PERSON = frozenset(
    "kabupaten kota provinsi koperasi pt cv bank pemerintah badan kementerian dinas sungai "  # noqa: SIM905
    "gunung pulau jalan universitas universitas rumah partai komisi dewan pengadilan "
    "council ministry university party company group bank court department river street "
    "committee association agency union club fc united city".split()
)


def _person(question: str, name: str) -> float:
    """For "who" questions: +1 for a name shaped like a person's (two to four capitalised
    words, no institution word), -1 otherwise; 0 for other questions."""
    if not _PERSON_ASKED.search(question):
        return 0.0
    words = name.split()
    shaped = 2 <= len(words) <= 4 and all(w[:1].isupper() and w.isalpha() for w in words)
    return 1.0 if shaped and not {w.lower() for w in words} & _NOT_PERSON else -1.0


@dataclass(frozen=True)
class Candidate:
    short: Short
    features: dict[str, float]


def scored_candidates(evidence: Evidence) -> list[Candidate]:
    """Every candidate of the asked kind in the best sentences, with what the model judges it
    by (see `FEATURES`); one per distinct text, from the best sentence holding it."""
    kind = asked.expected_kind(evidence.question)
    if kind is None or not evidence.sentences:
        return []
    question = evidence.question
    focus = asked.focus_word(question)
    stop = stopwords()
    question_words = {w.lower() for w in _WORD.findall(question) if w.lower() not in stop}
    focus_words = {focus} if focus else set()
    question_lang = question_confidence(question)[0]
    asked_names = {n.lower() for n in names(question)}

    @cache
    def named(hit: Hit) -> float:
        """The share of the question's names its passage holds (in either language): the
        "27,000 farmers" of another company do not answer a question about Kerinci's."""
        if not asked_names:
            return 1.0
        words = {w.lower() for w in _WORD.findall(f"{hit.title}\n{hit.text}")}
        held = [n for n in asked_names if n in words or any(f in words for f in asked.forms(n))]
        return len(held) / len(asked_names)

    best = evidence.sentences[0].score
    found: dict[str, Candidate] = {}
    seen: dict[str, int] = {}
    for index, sentence in enumerate(evidence.sentences[:SENTENCES]):
        if sentence.score < best - SENTENCE_GAP:
            break
        text = sentence.text
        spans = asked.candidates(kind, text, question)
        for start, end in spans:
            key = " ".join(_WORD.findall(text[start:end].lower()))
            seen[key] = seen.get(key, 0) + 1
            if key in found:
                continue
            span = text[start:end]
            features = {
                "gap": best - sentence.score,
                "index": float(index),
                "near_question": _nearness(text, start, end, question_words),
                "near_focus": _nearness(text, start, end, focus_words) if focus else 0.0,
                "unit": _unit(question, focus, _context(text, start, end))
                if kind == "number"
                else 0.0,
                "counted": float(kind == "number" and asked.mentions(span, focus)),
                "names": named(sentence.paragraph.hit),
                "person": _person(question, span) if kind == "name" else 0.0,
                "words": min(len(span.split()), 6) / 6.0,
                "alone": 1.0 / len(spans),
                "cross": float((sentence.paragraph.hit.lang or question_lang) != question_lang),
                "number": float(kind == "number"),
                "time": float(kind == "time"),
            }
            found[key] = Candidate(Short(sentence, start, end, kind, 0.0), features)
    for key, candidate in found.items():
        candidate.features["repeated"] = float(seen[key] > 1)
    return list(found.values())


@cache
def model() -> Abstention:
    """The fitted candidate model (the same logistic model as abstention's; its threshold is
    the P(right) a short answer needs to be shown)."""
    return Abstention.load(default_model_path())


def default_model_path() -> Path:
    return Path(str(resources.files("assistant.answer").joinpath("data", "short.json")))


def group(candidate: Candidate) -> str:
    """Whose gate a candidate must pass: that of its kind, or, quoted from the other language
    than the question's (where fewer are right), the cross-lingual one."""
    return "cross" if candidate.features["cross"] else candidate.short.kind


def gate(judge: Abstention, name: str) -> tuple[float, float]:
    """(least P(right), least lead over the runner-up) for a short answer of this group (see
    `group`), from the fitted model's calibration; else its threshold and `LEAD`."""
    fitted = judge.calibration.get("gates", {}).get(name)
    return (float(fitted[0]), float(fitted[1])) if fitted else (judge.threshold, LEAD)


def short_answer(evidence: Evidence, judge: Abstention | None = None) -> Short | None:
    """The clear winner among the candidates, if any: P(right) and its lead over the
    runner-up's at least the gate fitted for its group (see `group`)."""
    judge = judge or model()
    ranked = sorted(
        ((judge.probability(c.features), c) for c in scored_candidates(evidence)),
        key=lambda item: -item[0],
    )
    if not ranked:
        return None
    top, winner = ranked[0]
    lead = top - (ranked[1][0] if len(ranked) > 1 else 0.0)
    least, least_lead = gate(judge, group(winner))
    if top < least or lead < least_lead:
        return None
    short = winner.short
    return Short(short.sentence, short.start, short.end, short.kind, lead)
