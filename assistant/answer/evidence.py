"""How well each retrieved sentence answers the question: the shared input of the composer, the
LLM prompt (which paragraphs fit the budget first) and abstention (is anything good enough?).

A sentence is scored against the question itself: its cosine similarity to the question (the
same e5 model, query vs passage prompts), its passage's, how much of the question's rarer words
it contains, and whether it holds an answer of the kind asked for (see `WEIGHTS`). Word weights
are inverse document frequencies from the store's lexical index, so a question about "Lasiana
2031" that matches only "festival" scores low even when the embedding finds a festival article
close.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.answer.asked import (
    answers_kind,
    asked_unit,
    candidates,
    expected_kind,
    focus_word,
    forms,
    has_unit,
    mentions,
)
from assistant.answer.citations import Paragraph, paragraphs_of, sentence_spans
from assistant.answer.conversation import names
from assistant.answer.phrases import question_confidence
from index.records import Hit
from index.search.lexicon import lexicon
from index.search.searcher import Searcher

# A sentence's score is a weighted sum of `sentence_terms`: its cosine to the question, its
# passage's cosine (a sentence is read in context: this counts almost as much), the share of the
# question's word weight it holds, whether it holds something new of the kind asked for and a
# candidate answer span of that kind (`assistant.answer.asked.candidates`) and an amount in the
# unit asked for (money, percent, the thing counted), whether it names the thing asked about
# (cognates and glossary translations included) and 1 / (1 + its hit's rank).
# The weights were fitted (softmax over each question's sentences, those holding a gold answer
# as targets) on 836 dev questions (a FacQA train sample and valid, their English translations,
# the odd half of the cross-lingual dev set) by bench/tune_sentences.py: the share whose first
# sentence holds the gold answer went from 0.75 to 0.77 on FacQA valid, 0.51 to 0.59 on its
# English translations and 0.36/0.42 to 0.57/0.56 across languages (English over Indonesian /
# the reverse), the rest being retrieval's (the gold sentence is among those scored for 0.95 of
# FacQA valid and 0.84-0.88 across languages).
# A reader was tried in place of a term and beside them: e5-small's top four layers fine-tuned
# as a cross-encoder (question and sentence read together, softmax over each question's
# sentences) on 1,455 dev questions (FacQA train, tests/data/en_over_en.jsonl). Alone it put a
# gold sentence first less often (FacQA valid 0.727 against 0.781, across languages 0.51 / 0.48
# against 0.59 / 0.66). Added to the score (standardised per question) at the weight that did
# best, the dev halves across languages gained 3 of 75 and 3 of 50 questions, FacQA valid lost
# 3 of 311, English FacQA none, and the held-out halves gained 0 and 1; as an abstention
# feature it moved one or two held-out questions. Not shipped for that: 14 MB of weights, a
# second model to export and 0.3 s more per answer.
# Terms from the model already loaded lost too, on the dev mean of bench/tune_sentences.py
# (0.7036 now) and on the even cross-lingual halves no choice used (0.60 / 0.60 now): token
# alignment, each question token's best cosine among the sentence's tokens (the last layer: dev
# mean at most 0.6992; layers 4, 6 and 8, measured on the English and cross-lingual sets only:
# English over Indonesian 0.587 -> 0.507-0.587, English FacQA at most equal); the
# cosine with the candidates' shared topic projected out (per article or over all: dev mean
# 0.6908-0.6998); the sentence's cosine to its headline, subtracted (dev mean 0.697-0.7036; the
# even halves gained 2 and 1 of 75 and 50 only at a weight where the dev mean fell to 0.699);
# the hit's ranking score beside its rank (dev mean 0.7016-0.7056, within a question or two);
# the cosine to the question glossed word by word into the sentence's language with the word
# list (English over Indonesian 0.587 at best, the even half 0.60 -> 0.547 at weight 0.25);
# the cosine of the sentence's own paragraph, beside or in place of its hit's (dev mean
# 0.6996-0.7048, the even English-over-Indonesian half 0.60 -> 0.56-0.587).
WEIGHTS = {
    "cosine": 1.0,
    "passage": 0.78,
    "coverage": 0.08,
    "kind": 0.06,
    "span": 0.09,
    "unit": 0.13,
    "focus": 0.06,
    "rank": 0.09,
    "lede": -0.02,
}
# A news story's first sentence (its lede) sums the story up: it holds many of any question's
# words and sits close to it in the embedding, yet seldom the detail asked ("... sempat melakukan
# kesalahan prosedur ... di bandara John Wayne" before "... membawa 110 penumpang"). Its small
# penalty was chosen with the other weights fixed, by the share of dev questions whose best
# sentence holds a gold answer (bench/tune_sentences.py --grid lede ...): every dev set held or
# gained, the mean over the five 0.685 -> 0.702 (English FacQA 0.69 -> 0.70, English
# over Indonesian odd half 0.547 -> 0.587, the reverse 0.64 -> 0.66, FacQA valid 0.768 ->
# 0.781); on the even cross-lingual halves, not used to choose it, 0.56 -> 0.573 and 0.60 ->
# 0.60. Penalties from -0.02 to -0.04 measured within 0.002 of each other on the dev mean.
MIN_WORDS = 4  # shorter "sentences" are headings, captions or bylines
MAX_SENTENCES = 20  # embedded per question: the cost of an answer is mostly this


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


@dataclass(frozen=True)
class AfterNews:
    """A year the question asks about that the indexed news cannot report: later than its
    newest dated article, and named by none of the passages retrieved."""

    year: int
    newest: int  # the year of the newest dated article


def after_news(question: str, hits: Sequence[Hit], newest: int | None) -> AfterNews | None:
    """The first year of the question after `newest` that no hit names (in its title or text),
    else None; always None when nothing in the store is dated.

    A story published in 2025 can say what is planned for 2030 ("target 2030"), and then it
    names 2030; one that does not name it cannot answer "Who coached the team at the 2031 SEA
    Games?". The similarity features cannot tell: such a question finds the same stories as its
    2025 twin, and `Evidence.missing` weighs 2030 by how rare it is in the store, where a few
    plans and targets name it. Over all the news (bench/abstention.py) abstentions on the
    held-out off-corpus questions went 0.83 -> 0.95 with no answerable dev or test question
    touched. Years before the newest article do not count: FacQA's 2005 passages are undated
    and rarely repeat the year its questions name, and a rule on every absent year abstained on
    8 of FacQA valid's 311 answerable questions."""
    if newest is None:
        return None
    for match in _YEAR.finditer(question):
        year = match.group()
        if int(year) > newest and not any(year in f"{h.title}\n{h.text}" for h in hits):
            return AfterNews(int(year), newest)
    return None


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
    # The best sentence's hit's share of the question's word weight, the question's words
    # translated counting too (`index.search.lexicon`): lexical evidence across languages.
    coverage_translated: float = 0.0
    after_news: AfterNews | None = None  # the question asks about a year after the news

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
            # Names are mostly written alike in both languages ("Pekalongan", "Kerinci"), so
            # a name the best passage lacks still counts across languages, weighted apart.
            "missing_cross": self.missing * self.cross,
            "coverage_x": self.coverage_translated * self.cross,
        }


def sentence_terms(question: str, sentence: Sentence) -> dict[str, float]:
    """What a sentence's score weighs (see `WEIGHTS`). Only the cosine and the coverage need
    the model and the store; the rest is read off the texts, so weights can be tuned on saved
    evidence."""
    kind = expected_kind(question)
    text = sentence.text
    hit = sentence.paragraph.hit
    focus = focus_word(question)
    spans = [text[a:b] for a, b in candidates(kind, text, question)] if kind else []
    unit = asked_unit(question)
    # An amount in the unit asked for: money, a percentage, or the thing counted ("24 sensor"
    # for "how many sensors").
    in_unit = has_unit(text, unit) or (
        kind == "number" and unit is None and any(mentions(span, focus) for span in spans)
    )
    return {
        "cosine": sentence.similarity,
        "passage": hit.similarity if hit.similarity is not None else sentence.similarity,
        "coverage": sentence.coverage,
        "kind": float(answers_kind(kind, text, {w.lower() for w in re.findall(r"\w+", question)})),
        "span": float(bool(spans)),
        "unit": float(in_unit),
        "focus": float(mentions(text, focus)),
        "rank": 1.0 / (1 + sentence.rank),
        # The opening of the hit's first piece, when the hit starts at the article's start.
        "lede": float(hit.paragraphs[0] <= 1 and sentence.paragraph.index == sentence.start == 0),
    }


def _translated(name: str, words: set[str]) -> bool:
    """Is the name there in the other language ("Jerman" as "Germany")? See the glossary."""
    return any(set(form.split()) <= words for form in forms(name) if form != name)


def rank_sentences(question: str, sentences: Sequence[Sentence]) -> list[Sentence]:
    """The sentences with their score, best first."""
    scored = [
        replace(s, score=sum(WEIGHTS[k] * v for k, v in sentence_terms(question, s).items()))
        for s in sentences
    ]
    return sorted(scored, key=lambda s: -s.score)


def rescored(evidence: Evidence) -> Evidence:
    """The same evidence with its sentences scored and ordered afresh (after the weights
    changed; nothing is embedded again)."""
    return replace(evidence, sentences=tuple(rank_sentences(evidence.question, evidence.sentences)))


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

        # A sentence holds the question's words translated too (the word list of
        # `index.search.lexicon`): across languages its coverage was names and numbers alone,
        # and the cheap pre-selection of the sentences to embed was the hit rank alone. On the
        # dev sets (bench/answers.py, over all the news) the first quote held the gold answer
        # for 0.74 -> 0.77 of English FacQA, 0.593 -> 0.593 English over Indonesian, 0.60 ->
        # 0.63 Indonesian over English, FacQA valid 0.823 -> 0.820; refitting `WEIGHTS` with
        # it (bench/tune_sentences.py) did not add to that.
        question_lang = question_confidence(question)[0]
        translations = lexicon().get(question_lang, {})

        def share(tokens: set[str], table: Mapping[str, frozenset[str]]) -> float:
            """The share of the question's word weight `tokens` hold, a word counting too
            when they hold one of its forms in `table` (its translations)."""
            if total_weight <= 0:
                return 0.0
            held = (
                w
                for t, w in weights.items()
                if t in tokens or not tokens.isdisjoint(table.get(t, ()))
            )
            return sum(held) / total_weight

        def coverage(tokens: set[str]) -> float:
            return share(tokens, {})

        def translated_coverage(tokens: set[str]) -> float:
            return share(tokens, translations)

        sentences = self._sentences(question, hits, translated_coverage, vector)
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
            absent = [
                w
                for t, w in weights.items()
                if t in wanted and t not in covered and not _translated(t, covered)
            ]
            missing = max(absent, default=0.0) / self._unseen_weight()
        best_lang = sentences[0].paragraph.hit.lang if sentences else None
        cross = 1.0 if best_lang and best_lang != question_lang else 0.0
        translated = 0.0
        if sentences:
            translated = translated_coverage(hit_tokens[sentences[0].rank])
        return Evidence(
            question=question,
            hits=tuple(hits),
            sentences=tuple(sentences),
            similarity=float(np.clip(similarity, -1.0, 1.0)),
            coverage=max(covers, default=0.0),
            missing=missing,
            cross=cross,
            coverage_translated=translated,
            after_news=after_news(question, hits, self.searcher.lexical.newest_year()),
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
        found: list[tuple[Paragraph, int, int, int]] = []
        for rank, hit in enumerate(hits):
            for paragraph in paragraphs_of(hit):
                for start, end in sentence_spans(paragraph.text):
                    text = paragraph.text[start:end]
                    if len(text.split()) >= MIN_WORDS and not text.rstrip("\"'”’ ").endswith("?"):
                        found.append((paragraph, start, end, rank))
        if not found:
            return []
        if len(found) > MAX_SENTENCES:
            # Embedding is the cost: keep the sentences a cheap score (question words, hit
            # rank) prefers. Across languages that score is the hit rank alone, which is fine.
            def cheap(i: int) -> float:
                paragraph, start, end, rank = found[i]
                return coverage(self._tokens(paragraph.text[start:end])) + 1.0 / (2 + rank)

            kept = set(sorted(range(len(found)), key=cheap, reverse=True)[:MAX_SENTENCES])
            found = [c for i, c in enumerate(found) if i in kept]
        embedder = self.searcher.embedder
        query = vector if vector is not None else embedder.embed_query(question)
        cosines = embedder.embed_passages([p.text[s:e] for p, s, e, _ in found]) @ query
        sentences = [
            Sentence(paragraph, start, end, rank, float(cosine), coverage(self._tokens(text)), 0.0)
            for (paragraph, start, end, rank), cosine in zip(found, cosines, strict=True)
            for text in (paragraph.text[start:end],)
        ]
        return rank_sentences(question, sentences)
