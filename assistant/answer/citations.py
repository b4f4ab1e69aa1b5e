"""Citations: numbered paragraphs, exact quotes from them, and checking the `[n]` in an answer.

A retrieved hit holds one or more paragraphs. Citations point at single paragraphs where the hit
allows it, and their `quote` is always a verbatim slice of that paragraph, so the UI can find and
highlight it. Answers are checked after they are written: a marker naming no supplied paragraph
is dropped (and logged), so every `[n]` left in an answer resolves to a citation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.records import Citation
from index.records import Hit
from index.store.tokenize import Tokenizer

log = logging.getLogger(__name__)

# "[3]" and the lists models like to write, "[1, 2]" or "[1,2,5]".
MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_LEADING = re.compile(r"(?:\s*\[[\d,;\s]+\])+")
_OPEN_LIMIT = 16  # an unclosed "[" longer than this is prose, not a marker being streamed
# Words after which a full stop does not end a sentence (titles, initials, common Indonesian
# abbreviations); compared lower-case. "Dr. Eng. Ir." before a name split the sentence naming
# Diponegoro University's sensor team leader in two, the name quoted alone.
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st no jl jln ir h hj drs dra drg eng kh dkk dll dsb tsb sdr bpk ny tn kab "  # noqa: SIM905
    "kec kel prov vs etc inc ltd co corp gen lt col sgt rep sen gov jr sr a.m p.m u.s u.k".split()
)
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+|$)")
_WORDS = Tokenizer()


@dataclass(frozen=True)
class Paragraph:
    """One citable paragraph of a retrieved hit (`first == last` unless the hit's paragraph
    boundaries are ambiguous, see `paragraphs_of`)."""

    hit: Hit
    first: int
    last: int
    text: str
    index: int  # position within the hit's text, from 0


def paragraphs_of(hit: Hit) -> list[Paragraph]:
    """Split a hit into its paragraphs. A paragraph too long for one chunk is stored as several
    pieces, so when the pieces outnumber the hit's paragraph range we cannot tell which piece is
    which paragraph, and every piece cites the whole range instead."""
    pieces = [p for p in hit.text.split("\n\n") if p.strip()]
    first, last = hit.paragraphs
    exact = len(pieces) == last - first + 1
    return [
        Paragraph(hit, first + i if exact else first, first + i if exact else last, text, i)
        for i, text in enumerate(pieces)
    ]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in `text`, so a sentence is always an exact slice of it."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].split()
        last_word = before[-1].lower().rstrip(".") if before else ""
        is_initial = len(last_word) == 1 and last_word.isalpha()
        if match.group().startswith(".") and (last_word in _ABBREVIATIONS or is_initial):
            continue
        end = match.end()
        if text[start:end].strip():
            spans.append(_trim(text, start, end))
        start = end
    if text[start:].strip():
        spans.append(_trim(text, start, len(text)))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def citation(n: int, paragraph: Paragraph, quote: str) -> Citation:
    """Citation `[n]` of `paragraph`; `quote` must be a verbatim slice of the paragraph."""
    if quote not in paragraph.text:
        raise ValueError(f"quote for [{n}] is not verbatim from its paragraph")
    hit = paragraph.hit
    return Citation(
        n=n,
        **hit.source_json(),
        lang=hit.lang,
        paragraphs=(paragraph.first, paragraph.last),
        quote=quote,
        text=hit.text,
    )


def markers(text: str) -> list[int]:
    """Every number cited in `text`, in order, repeats included."""
    return [int(n) for m in MARKER.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1))]


class MarkerFilter:
    """Drops `[n]` markers that name no supplied paragraph from text as it streams.

    Text is passed through at once except from an unclosed "[" on, which is held until it
    closes (then checked) or grows too long to be a marker. Lists are rewritten one number per
    bracket: "[1, 9]" with 9 unknown becomes "[1]". Feeding a whole answer at once gives the
    same result, so the streamed text and the final text agree.
    """

    def __init__(self, valid: Iterable[int]) -> None:
        self.valid = frozenset(valid)
        self.removed: list[int] = []
        self._held = ""

    def feed(self, delta: str) -> str:
        text = self._held + delta
        self._held = ""
        out: list[str] = []
        while text:
            open_at = text.find("[")
            if open_at < 0:
                out.append(text)
                break
            out.append(text[:open_at])
            close_at = text.find("]", open_at)
            if close_at < 0:
                if len(text) - open_at <= _OPEN_LIMIT:
                    self._held = text[open_at:]
                else:
                    out.append(text[open_at:])
                break
            bracket = text[open_at : close_at + 1]
            if MARKER.fullmatch(bracket) and len(bracket) <= _OPEN_LIMIT + 1:
                out.append(self._check(bracket))
                text = text[close_at + 1 :]
            else:  # not a marker: keep "[" and look again after it
                out.append("[")
                text = text[open_at + 1 :]
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

    def _check(self, bracket: str) -> str:
        kept = []
        for n in markers(bracket):
            if n in self.valid:
                kept.append(f"[{n}]")
            else:
                self.removed.append(n)
                log.warning("removed citation [%d]: no supplied paragraph has that number", n)
        return "".join(kept)


def check_answer(text: str, valid: Iterable[int]) -> tuple[str, list[int]]:
    """`text` without the markers that name no supplied paragraph, and the numbers removed."""
    checker = MarkerFilter(valid)
    clean = checker.feed(text) + checker.flush()
    return clean, checker.removed


def claims(text: str) -> dict[int, list[str]]:
    """For each cited number, the answer sentences that cite it (markers removed): what the
    paragraph is supposed to support. Markers opening a sentence ("… Jenewa. [1] Lalu …")
    belong to the sentence before them."""
    found: dict[int, list[str]] = {}
    previous = ""
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        leading = _LEADING.match(sentence)
        head = leading.group() if leading else ""
        claim = MARKER.sub("", sentence).strip()
        for n in markers(head):
            found.setdefault(n, []).append(previous or claim)
        for n in markers(sentence[len(head) :]):
            found.setdefault(n, []).append(claim if _WORDS.tokens(claim) else previous)
        if _WORDS.tokens(claim):
            previous = claim
    return found


def best_quote(paragraph: str, claim_texts: Sequence[str]) -> str:
    """The sentence of `paragraph` sharing the most words with the claims (verbatim); the first
    sentence when nothing overlaps."""
    spans = sentence_spans(paragraph) or [(0, len(paragraph))]
    wanted = {w for claim in claim_texts for w in _WORDS.tokens(claim)}

    def overlap(span: tuple[int, int]) -> int:
        return len(wanted & set(_WORDS.tokens(paragraph[span[0] : span[1]])))

    start, end = max(spans, key=overlap)  # max keeps the first of equals
    return paragraph[start:end]
