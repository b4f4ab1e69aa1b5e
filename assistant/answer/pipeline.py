"""`Assistant`: one question (and its conversation) in, a cited answer in the asker's language out.

question ─► language ─► search ─► evidence (sentences scored)
         ─► in a conversation: also within the previous question's articles; if they answer
            it, a follow-up: rewritten (offline or by the LLM) and answered from them
         ─► abstain? ─► LLM answer, checked │ offline composer (short answer first)

`Assistant` keeps no per-question state, so one instance serves many users at once; everything
it holds (searcher, model, LLM client, abstention model) is read-only after construction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from assistant.answer.abstain import Abstention
from assistant.answer.citations import MarkerFilter, best_quote, citation, claims, markers
from assistant.answer.compose import compose, related
from assistant.answer.conversation import (
    History,
    Standalone,
    Turns,
    bare,
    continues,
    follows,
    previous_question,
    standalone,
    turns,
)
from assistant.answer.evidence import AfterNews, Evidence, EvidenceScorer
from assistant.answer.phrases import phrase, question_lang
from assistant.records import Answer, Citation
from assistant.settings import Settings
from index.records import Hit
from index.search.searcher import Filters, Query, Searcher

if TYPE_CHECKING:
    # langchain is imported only with an LLM configured: 1 s of CPU a `kabar ask` without one
    # would spend on importing it.
    from assistant.answer.llm import LLM

log = logging.getLogger(__name__)

CARRIED_ARTICLES = 2  # articles of the previous question searched again for a follow-up


def _describe(citation: Citation) -> str:
    where = ", ".join(x for x in (citation.source, citation.published) if x)
    name = f"“{citation.title or citation.article_id}”"
    return f"{name} ({where})" if where else name


def abstention_text(
    lang: str, closest: tuple[Citation, ...], after: AfterNews | None = None
) -> str:
    """Saying that the news does not answer (and why, when it asks about a year after the
    news), and naming the closest articles, in `lang`."""
    if after is not None:
        why = phrase(lang, "after_news", year=str(after.year), newest=str(after.newest))
        opening = f"{phrase(lang, 'abstain')} {why}"
    elif closest:
        opening = phrase(lang, "abstain")
    else:
        return phrase(lang, "nothing")
    if not closest:
        return opening
    names = "; ".join(_describe(c) for c in closest)
    return f"{opening} {phrase(lang, 'closest')} {names}."


# Content words of a question that abstains by rule when it has no subject (`subjectless`).
# At six (`bare`'s bound for follow-ups), 6 of FacQA's 3,117 answerable questions would have
# abstained ("Tanaman apa yang terancam budidayanya oleh cacing emas?"); at three, none, and 14
# of QuAIL's 540, which presuppose their article ("Why is this new legislation so important?").
SUBJECTLESS_WORDS = 3


def subjectless(question: str, pairs: Turns) -> bool:
    """A bare question ("Berapa harganya?", see `assistant.answer.conversation.bare`) asked with
    no conversation before it: its pronoun points at nothing, so whatever text the search finds
    is about a subject the asker never named, and Kabar abstains by rule. Evidence alone cannot
    tell: such questions look answerable to every feature (see bench/abstention.py); over the
    bundled samples "Berapa harganya?" and "Who won it?" get P(answerable) 0.86 and 0.91
    against a 0.32 cut."""
    return previous_question(pairs) is None and bare(question, most=SUBJECTLESS_WORDS)


class Assistant:
    """Answers questions about the indexed news; see the module docstring for the steps."""

    def __init__(
        self,
        settings: Settings,
        searcher: Searcher,
        llm: LLM | None = None,
        abstention: Abstention | None = None,
    ) -> None:
        self.settings = settings
        self.searcher = searcher
        self.scorer = EvidenceScorer(searcher)
        if llm is None and settings.llm.configured:
            from assistant.answer.llm import LLM

            llm = LLM(settings.llm)
        self.llm = llm
        self._abstention = abstention
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        return cls(settings, Searcher.from_settings(settings.store))

    @property
    def abstention(self) -> Abstention:
        """The calibrated model, read on first use (calibration itself runs without one)."""
        with self._lock:
            if self._abstention is None:
                self._abstention = Abstention.load()
            return self._abstention

    def ask(
        self,
        question: str,
        history: History = (),
        lang: str | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """The final answer, without streaming."""
        for item in self.stream(question, history, lang, filters):
            if isinstance(item, Answer):
                return item
        raise RuntimeError("the answer stream ended without an answer")  # pragma: no cover

    def stream(
        self,
        question: str,
        history: History = (),
        lang: str | None = None,
        filters: Filters | None = None,
    ) -> Iterator[str | Answer]:
        """Text deltas as the answer is written, then the final `Answer` (whose text is what
        the deltas add up to, apart from surrounding whitespace)."""
        question = " ".join(question.split())
        if not question:
            raise ValueError("the question is empty")
        pairs = turns(history)
        lang = question_lang(question, lang, [q for q, _ in pairs])
        searched, evidence = self.resolve(question, pairs, filters)
        if subjectless(question, pairs) or self.abstention.abstains(evidence):
            closest = tuple(related(evidence))
            text = abstention_text(lang, closest, evidence.after_news)
            yield text
            yield Answer(text, lang, True, (), searched.question, related=closest)
            return
        if self.llm is not None:
            try:
                yield from self._llm_answer(searched, evidence, lang, pairs)
                return
            except Exception:  # offline-first: a broken endpoint still gets an answer
                log.exception("the LLM failed; answering with the offline composer")
        composed = compose(evidence, lang)
        yield from composed.pieces
        yield Answer(
            composed.text, lang, False, composed.citations, searched.question, short=composed.short
        )

    def resolve(
        self, question: str, pairs: Turns, filters: Filters | None = None
    ) -> tuple[Standalone, Evidence]:
        """The question as retrieval should see it, and its evidence: alone, unless the
        articles the previous question found answer it (see
        `assistant.answer.conversation.follows`). In a conversation a question costs one more
        search (the previous question's) and one more scoring (the question within those
        articles); a follow-up one more search and a scoring per previous article (at most
        `CARRIED_ARTICLES`), and a continuation ("and …?") also a search of all the news with
        the carried terms, since it may be about another article."""
        previous = previous_question(pairs)
        alone = Standalone(question)
        query, evidence = self._alone(question, filters)
        if previous is None:
            return alone, evidence
        articles = self._previous_articles(previous, filters)
        in_previous = self._within_previous(question, query, articles, filters)
        if continues(question):  # "and Carlsberg's?": may be elsewhere
            searched = standalone(question, pairs, self.llm)
            carried = self.searcher.prepare_one(searched.question)
            # The previous articles compete as for any follow-up, and come first: of equals,
            # the conversation's own article wins. "And who chairs the QCA?" after a question
            # on the Tomlinson report was searched only with the carried terms, which drowned
            # "QCA" (P 0.09), and then alone everywhere, which found another QCA.
            found = self._surest(
                *self._within_each(searched.question, carried, articles, filters),
                in_previous,
                self.scorer.gather(
                    searched.question,
                    self._retrieve(searched, carried, filters, articles),
                    carried.vector,
                ),
            )
            if self.abstention.abstains(found):  # the carried terms may drown the question's
                found = self._surest(found, evidence)
            return searched, found
        if not follows(
            question, self.abstention.answerable(in_previous), self.abstention.follow_up
        ):
            return alone, evidence
        # The previous articles answer it: the answer comes from them (the LLM, when there is
        # one, rewrites only now, so a standalone question costs no LLM call).
        searched = standalone(question, pairs, self.llm)
        carried = self.searcher.prepare_one(searched.question)
        # A follow-up is about one article: each of the previous question's articles is
        # searched apart and the most answerable wins, the previous question's best of equals.
        # Gathered together, the other article's sentences could outrank the right one's, and
        # the carried terms can drown the question's own words, so the question alone within
        # them (`in_previous`) competes too. bench/followups.py, follow-ups answered from the
        # right article: 0.89 -> 0.92 with the articles apart (and 0.88 -> 0.89 with the
        # question alone competing rather than standing in only for an abstention).
        per_article = self._within_each(searched.question, carried, articles, filters)
        return searched, self._surest(*per_article, in_previous)

    def _within_previous(
        self, question: str, query: Query, articles: Sequence[str], filters: Filters | None
    ) -> Evidence:
        """The question's evidence within the previous question's articles, all together."""
        within = self.searcher.within(query, articles, CARRIED_ARTICLES, filters)
        return self.scorer.gather(question, within, query.vector)

    def evidence_in_previous(self, question: str, history: History) -> Evidence | None:
        """What `resolve` judges a follow-up by: the question's evidence within the articles the
        previous question found (None with no history). `bench/abstention.py --calibrate`
        chooses the follow-up cuts (`Abstention.follow_up`) from it."""
        previous = previous_question(turns(history))
        if previous is None:
            return None
        query = self.searcher.prepare_one(question)
        return self._within_previous(question, query, self._previous_articles(previous, None), None)

    def _within_each(
        self, question: str, query: Query, articles: Sequence[str], filters: Filters | None
    ) -> list[Evidence]:
        """The question's evidence within each article apart: gathered together, one
        article's sentences can outrank the other's answer."""
        return [
            self.scorer.gather(
                question,
                self.searcher.within(query, [article], self.settings.k, filters),
                query.vector,
            )
            for article in articles
        ]

    def _alone(self, question: str, filters: Filters | None) -> tuple[Query, Evidence]:
        """The question searched and its evidence scored as if nothing had been asked before."""
        query = self.searcher.prepare_one(question)
        hits = self.searcher.run(query, self.settings.k, filters)
        return query, self.scorer.gather(question, hits, query.vector)

    def _surest(self, *found: Evidence) -> Evidence:
        """The most answerable evidence (P, see `Abstention.answerable`), the first of equals."""
        return max(found, key=self.abstention.answerable)

    def _previous_articles(self, previous: str, filters: Filters | None) -> list[str]:
        """The articles the conversation was about: those the previous question found."""
        earlier = self.searcher.search(previous, k=CARRIED_ARTICLES, filters=filters)
        return list(dict.fromkeys(h.article_id for h in earlier))

    def evidence(self, searched: Standalone, filters: Filters | None = None) -> Evidence:
        """Retrieve for the standalone question and score the sentences found; the question is
        embedded once for both."""
        query = self.searcher.prepare_one(searched.question)
        hits = self._retrieve(searched, query, filters)
        return self.scorer.gather(searched.question, hits, query.vector)

    def _retrieve(
        self,
        searched: Standalone,
        query: Query,
        filters: Filters | None,
        articles: Sequence[str] | None = None,
    ) -> list[Hit]:
        """The question's hits; for a follow-up, those of the previous question's articles
        first (`articles`, when the caller has them already, saves searching them again)."""
        k = self.settings.k
        hits = self.searcher.run(query, k, filters)
        if not (searched.follow_up and searched.previous):
            return hits
        # Retrieval follows the conversation: the best chunks, for this question, of the
        # articles the previous question found come first.
        if articles is None:
            articles = self._previous_articles(searched.previous, filters)
        carried = self.searcher.within(query, articles, CARRIED_ARTICLES, filters)
        seen = {h.chunk_id for h in carried}
        return (carried + [h for h in hits if h.chunk_id not in seen])[:k]

    def _llm_answer(
        self,
        searched: Standalone,
        evidence: Evidence,
        lang: str,
        pairs: list[tuple[str, str]],
    ) -> Iterator[str | Answer]:
        assert self.llm is not None
        from assistant.answer.llm import build_prompt

        prompt = build_prompt(
            searched.question, evidence, lang, pairs, self.settings.llm.context_tokens
        )
        checker = MarkerFilter(prompt.numbered)
        written: list[str] = []
        for delta in self.llm.stream(prompt.messages):
            shown = checker.feed(delta)
            if shown:
                written.append(shown)
                yield shown
        tail = checker.flush()
        if tail:
            written.append(tail)
            yield tail
        text = "".join(written).strip()
        if checker.removed:
            log.warning("removed unknown citations %s from the LLM answer", checker.removed)
        cited = list(dict.fromkeys(markers(text)))
        if not cited:
            note = phrase(lang, "unsupported")
            yield f"\n\n{note}"
            yield Answer(
                f"{text}\n\n{note}",
                lang,
                False,
                (),
                searched.question,
                unsupported=True,
                related=tuple(related(evidence)),
            )
            return
        supported = claims(text)
        citations = tuple(
            citation(
                n, prompt.numbered[n], best_quote(prompt.numbered[n].text, supported.get(n, []))
            )
            for n in sorted(cited)
        )
        yield Answer(text, lang, False, citations, searched.question)
