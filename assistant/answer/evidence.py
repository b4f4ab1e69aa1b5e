"""How well each retrieved sentence answers the question: the shared input of the composer, the
LLM prompt (which paragraphs fit the budget first) and abstention (is anything good enough?).

A sentence is scored against the question itself, not inherited from its chunk's rank: its
cosine similarity to the question (the same e5 model, query vs passage prompts) plus how much
of the question's rarer words it contains. Word weights are inverse document frequencies from
the store's lexical index, so a question about "Lasiana 2031" that matches only "festival"
scores low even when the embedding finds a festival article close.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.citations import Paragraph, paragraphs_of, sentence_spans
from assistant.answer.conversation import names
from index.ingest.language import detect_lang
from index.records import Hit
from index.search.searcher import Searcher
from index.store.tokenize import stopwords

# Sentence score = cosine + COVERAGE_WEIGHT * coverage + TYPE_WEIGHT * (holds something new of
# the kind asked for) + RANK_WEIGHT / (1 + hit rank); set on FacQA valid and the sample questions.
COVERAGE_WEIGHT = 0.15
TYPE_WEIGHT = 0.06
FOCUS_WEIGHT = 0.08
RANK_WEIGHT = 0.02
MIN_WORDS = 4  # shorter "sentences" are headings, captions or bylines
MAX_SENTENCES = 20  # embedded per question: the cost of an answer is mostly this


_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d")
_NUMBER_WORDS = frozenset(
    "satu dua tiga empat lima enam tujuh delapan sembilan sepuluh puluh ratus ribu juta "  # noqa: SIM905
    "miliar triliun belas one two three four five six seven eight nine ten eleven twelve "
    "hundred thousand million billion dozen".split()
)
_MONTHS = frozenset(
    "januari februari maret april mei juni juli agustus september oktober november desember "  # noqa: SIM905
    "january february march june july august october december senin selasa rabu kamis jumat "
    "sabtu minggu monday tuesday wednesday thursday friday saturday sunday".split()
)
# What kind of answer a question asks for, from its question words (either language).
_KINDS = (
    ("time", re.compile(r"\b(kapan|when|what (year|day|date|time)|tahun berapa|tanggal berapa|"
                        r"pukul berapa|jam berapa|hari apa)\b")),
    ("number", re.compile(r"\b(berapa|how (many|much|long|far|old|big|high)|jumlah|"
                          r"what (percentage|price|share|score|vote)|by what)\b")),
    ("name", re.compile(r"\b(siapa|who|whom|whose|which|di ?mana|where|ke ?mana|dari ?mana|"
                        r"apa nama|nama apa|what is the name|what was the name)\b")),
)  # fmt: skip


def expected_kind(question: str) -> str | None:
    """'time', 'number' or 'name' when the question words say so, else None."""
    text = question.lower()
    return next((kind for kind, pattern in _KINDS if pattern.search(text)), None)


_WH = re.compile(
    r"\b(berapa|siapa|apa|apakah|kapan|mana|bagaimana|mengapa|kenapa|how (many|much|long|far|"
    r"old)|what|which|who|whom|whose|where|when|why|how)\s+(.*)",
    re.IGNORECASE,
)
_GENERIC = frozenset("jumlah banyak besar nama number total name kind type".split())  # noqa: SIM905
_STEM = 5  # "farmer"/"farmers", "anggaran"/"anggarannya": a shared prefix is close enough


def focus_word(question: str) -> str | None:
    """The first content word after the question word ("berapa *anggaran* …", "how many
    *farmers* …"): the thing asked about, which the answer sentence usually names."""
    match = _WH.search(question)
    if match is None:
        return None
    skip = stopwords() | _GENERIC
    for word in _WORD.findall(match.group(3).lower()):
        if word not in skip and not word.isdigit() and len(word) > 2:
            return word
    return None


def mentions(sentence: str, word: str | None) -> bool:
    if word is None:
        return False
    stem = word[:_STEM]
    return any(w.lower().startswith(stem) for w in _WORD.findall(sentence))


def answers_kind(kind: str | None, sentence: str, asked: set[str]) -> bool:
    """Does the sentence hold something of the asked kind that the question does not already
    say? A lead sentence restating the question scores high otherwise; the answer is new."""
    if kind is None:
        return False
    words = _WORD.findall(sentence)
    new = [w for w in words if w.lower() not in asked]
    if kind == "name":  # a capitalised word not opening the sentence
        return any(w[0].isupper() for w in new if words.index(w) > 0)
    has_number = any(_NUMBER.search(w) or w.lower() in _NUMBER_WORDS for w in new)
    if kind == "time":
        return has_number or any(w.lower() in _MONTHS for w in new)
    return has_number


@dataclass(frozen=True)
class Sentence:
    """One sentence of a retrieved paragraph, an exact slice `paragraph.text[start:end]`."""

    paragraph: Paragraph
    start: int
    end: int
    rank: int  # rank of its hit, from 0
    similarity: float  # cosine similarity to the question
    coverage: float  # share of the question's word weight found in the sentence
    score: float

    @property
    def text(self) -> str:
        return self.paragraph.text[self.start : self.end]

    @property
    def position(self) -> tuple[int, int]:
        """Reading order within its hit."""
        return self.paragraph.index, self.start


@dataclass(frozen=True)
class Evidence:
    """The hits for one question with their sentences scored, best first."""

    question: str
    hits: tuple[Hit, ...]
    sentences: tuple[Sentence, ...]
    similarity: float  # best hit's cosine similarity to the question
    coverage: float  # best hit's share of the question's word weight (headline included)
    missing: float = 0.0  # weight of the rarest question name the best hit lacks, 0..1
    cross: float = 0.0  # 1 when the best sentence is in the other language than the question

    @property
    def best(self) -> Sentence | None:
        return self.sentences[0] if self.sentences else None

    def features(self) -> dict[str, float]:
        """What abstention judges the evidence by (see `assistant.answer.abstain`)."""
        best = self.best
        return {
            "similarity": self.similarity,
            "sentence": best.similarity if best else 0.0,
            "cross": self.cross,
            # Across languages the question's words are not the passage's: the lexical
            # evidence only counts when question and best sentence share a language.
            "coverage_same": self.coverage * (1.0 - self.cross),
            "missing_same": self.missing * (1.0 - self.cross),
        }


class EvidenceScorer:
    """Scores sentences of retrieved hits against a question with the searcher's own model and
    lexical statistics (nothing of the store is re-embedded, only the candidate sentences)."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher

    def _weights(self, terms: Sequence[str]) -> dict[str, float]:
        """BM25-style idf of each question term in the store; unseen terms weigh the most."""
        lexical = self.searcher.lexical
        total = max(len(lexical), 1)
        weights = {}
        for term in set(terms):
            df = len(lexical.search([term], total))
            weights[term] = math.log(1.0 + (total - df + 0.5) / (df + 0.5))
        return weights

    def _tokens(self, text: str) -> set[str]:
        return set(self.searcher.lexical.tokenizer.tokens(text))

    def gather(
        self, question: str, hits: Sequence[Hit], vector: np.ndarray | None = None
    ) -> Evidence:
        """Score the hits' sentences; `vector` is the question's embedding when the caller has
        it already (from searching), else it is embedded here."""
        weights = self._weights(self.searcher.lexical.tokenizer.tokens(question))
        total_weight = sum(weights.values())

        def coverage(tokens: set[str]) -> float:
            if total_weight <= 0:
                return 0.0
            return sum(w for t, w in weights.items() if t in tokens) / total_weight

        sentences = self._sentences(question, hits, coverage, vector)
        best_by_hit: dict[int, float] = {}
        for sentence in sentences:
            best_by_hit.setdefault(sentence.rank, sentence.similarity)
        similarity = max(
            (
                h.similarity if h.similarity is not None else best_by_hit.get(i, 0.0)
                for i, h in enumerate(hits)
            ),
            default=0.0,
        )
        hit_tokens = [self._tokens(f"{h.title}\n{h.text}") for h in hits]
        covers = [coverage(tokens) for tokens in hit_tokens]
        missing = 0.0
        if covers and weights:
            # The rarest name or number of the question absent from the best-covering passage,
            # relative to a word the store has never seen: an unknown place or a year no
            # article mentions ("Lasiana", "2031") gives ~1. Only names count: in a small store
            # every absent common word looks rare.
            wanted = self._tokens(" ".join(names(question)))
            covered = hit_tokens[int(np.argmax(covers))]
            absent = [w for t, w in weights.items() if t in wanted and t not in covered]
            missing = max(absent, default=0.0) / self._unseen_weight()
        best_lang = sentences[0].paragraph.hit.lang if sentences else None
        cross = 1.0 if best_lang and best_lang != detect_lang(question) else 0.0
        return Evidence(
            question=question,
            hits=tuple(hits),
            sentences=tuple(sentences),
            similarity=float(np.clip(similarity, -1.0, 1.0)),
            coverage=max(covers, default=0.0),
            missing=missing,
            cross=cross,
        )

    def _unseen_weight(self) -> float:
        total = max(len(self.searcher.lexical), 1)
        return math.log(1.0 + (total + 0.5) / 0.5)

    def _sentences(
        self,
        question: str,
        hits: Sequence[Hit],
        coverage: Callable[[set[str]], float],
        vector: np.ndarray | None,
    ) -> list[Sentence]:
        """Candidate sentences of the hits, scored and sorted best first."""
        candidates: list[tuple[Paragraph, int, int, int]] = []
        for rank, hit in enumerate(hits):
            for paragraph in paragraphs_of(hit):
                for start, end in sentence_spans(paragraph.text):
                    text = paragraph.text[start:end]
                    if len(text.split()) >= MIN_WORDS and not text.rstrip("\"'”’ ").endswith("?"):
                        candidates.append((paragraph, start, end, rank))
        if not candidates:
            return []
        if len(candidates) > MAX_SENTENCES:
            # Embedding is the cost: keep the sentences a cheap score (question words, hit
            # rank) prefers. Across languages that score is the hit rank alone, which is fine.
            def cheap(i: int) -> float:
                paragraph, start, end, rank = candidates[i]
                return coverage(self._tokens(paragraph.text[start:end])) + 1.0 / (2 + rank)

            kept = set(sorted(range(len(candidates)), key=cheap, reverse=True)[:MAX_SENTENCES])
            candidates = [c for i, c in enumerate(candidates) if i in kept]
        kind = expected_kind(question)
        asked = {w.lower() for w in _WORD.findall(question)}
        focus = focus_word(question)
        embedder = self.searcher.embedder
        query = vector if vector is not None else embedder.embed_query(question)
        cosines = embedder.embed_passages([p.text[s:e] for p, s, e, _ in candidates]) @ query
        sentences = []
        for (paragraph, start, end, rank), cosine in zip(candidates, cosines, strict=True):
            text = paragraph.text[start:end]
            cover = coverage(self._tokens(text))
            score = (
                float(cosine)
                + COVERAGE_WEIGHT * cover
                + TYPE_WEIGHT * answers_kind(kind, text, asked)
                + FOCUS_WEIGHT * mentions(text, focus)
                + RANK_WEIGHT / (1 + rank)
            )
            sentences.append(Sentence(paragraph, start, end, rank, float(cosine), cover, score))
        return sorted(sentences, key=lambda s: -s.score)
