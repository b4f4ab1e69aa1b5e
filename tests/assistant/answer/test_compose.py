"""The offline composer on the bundled samples: real retrieval, real sentence scoring."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest

from assistant.answer.citations import markers
from assistant.answer.compose import compose, related, select
from assistant.answer.conversation import Standalone
from assistant.answer.evidence import EvidenceScorer, sentence_terms
from index.search.searcher import Searcher
from tests.fixtures.sample_store import sample_questions

PEKALONGAN_EN = "How much did Pekalongan's flood early-warning system cost to build?"
PEKALONGAN_ID = "Berapa biaya pembangunan sistem peringatan dini banjir Pekalongan?"


@pytest.fixture(scope="module")
def scorer(sample_searcher: Searcher) -> EvidenceScorer:
    return EvidenceScorer(sample_searcher)


def normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def body(composed: Any) -> str:
    """The answer after its short answer, if it states one ("Short answer: … [1]." and a
    blank line)."""
    if composed.short is None:
        return str(composed.text)
    head, rest = composed.text.split("\n\n", 1)
    assert composed.short in head and head.endswith("[1].")
    return str(rest)


def answer_for(scorer: EvidenceScorer, question: str, lang: str) -> Any:
    hits = scorer.searcher.search(question, k=6)
    return compose(scorer.gather(question, hits), lang)


def test_every_marker_resolves_and_every_quote_is_verbatim(scorer: EvidenceScorer) -> None:
    found = 0
    questions = sample_questions()
    for q in questions:
        composed = answer_for(scorer, q["question"], q["lang"])
        numbers = [c.n for c in composed.citations]
        assert numbers == list(range(1, len(numbers) + 1)), q["question"]
        assert set(markers(composed.text)) == set(numbers), composed.text
        for cited in composed.citations:
            paragraph = next(p for p in cited.text.split("\n\n") if cited.quote in p)
            assert cited.quote.strip() == cited.quote and paragraph
            assert cited.paragraphs[0] <= cited.paragraphs[1]
        if any(normal(a) in normal(c.quote) for c in composed.citations for a in q["answers"]):
            found += 1
    # The quoted sentences themselves hold the gold answer for most questions (15 of 20 when
    # written; the misses are cross-lingual questions whose answer sentence ranks low).
    assert found >= 0.7 * len(questions), found


def test_sentences_are_scored_against_the_question_not_the_chunk_rank(
    scorer: EvidenceScorer,
) -> None:
    question = "Who was named player of the match in the 2026 County Cup final?"
    hits = scorer.searcher.search(question, k=6)
    best = select(scorer.gather(question, hits))[0]
    assert "Aaron Doyle" in best.text
    # Put the gold passage last: its rank counts a little (as measured, see `WEIGHTS`), but the
    # right sentence is still chosen.
    gold = next(i for i, h in enumerate(hits) if "Aaron Doyle" in h.text)
    reordered = [h for i, h in enumerate(hits) if i != gold] + [hits[gold]]
    chosen = select(scorer.gather(question, reordered))
    assert any("Aaron Doyle" in s.text and s.rank == len(reordered) - 1 for s in chosen)


def test_other_language_evidence_is_quoted_and_introduced(scorer: EvidenceScorer) -> None:
    composed = answer_for(scorer, PEKALONGAN_EN, "en")
    assert body(composed).startswith("According to the Indonesian source (")
    first = composed.citations[0]
    assert f"“{first.quote}” [1]" in composed.text  # quoted verbatim, in its own language
    assert "Rp 6,8 miliar" in " ".join(c.quote for c in composed.citations)


def test_same_language_evidence_is_told_plainly(scorer: EvidenceScorer) -> None:
    composed = answer_for(scorer, PEKALONGAN_ID, "id")
    assert body(composed).startswith("Menurut berita yang terindeks: ")
    assert "“" not in composed.text and "sumber berbahasa" not in composed.text
    assert re.search(r"\. \[1\]", composed.text)


def test_indonesian_asker_of_an_english_source_is_told_so(scorer: EvidenceScorer) -> None:
    question = "Berapa jumlah petani yang bekerja sama dengan start-up Panen Pintar?"
    composed = answer_for(scorer, question, "id")
    assert body(composed).startswith("Menurut sumber berbahasa Inggris (")
    assert "“Founded in 2022, Panen Pintar now works with about 27,000 farmers.”" in composed.text


def test_related_lists_one_passage_per_article(scorer: EvidenceScorer) -> None:
    evidence = scorer.gather("harga tiket kereta", scorer.searcher.search("harga tiket kereta", 6))
    closest = related(evidence)
    assert 0 < len(closest) <= 3
    assert len({c.article_id for c in closest}) == len(closest)
    assert all(c.quote in c.text for c in closest)
    assert [c.n for c in closest] == list(range(1, len(closest) + 1))


def test_evidence_of_a_standalone_question(scorer: EvidenceScorer) -> None:
    searched = Standalone("kapan itu? (Pekalongan, banjir)", True, "banjir Pekalongan")
    evidence = scorer.gather(searched.question, scorer.searcher.search(searched.question, 6))
    assert evidence.best is not None and "Pekalongan" in evidence.best.paragraph.hit.title


def test_best_sentence_leads_and_neighbours_share_one_citation(scorer: EvidenceScorer) -> None:
    question = "Who won the women's race at the Malang Highland Marathon?"
    hits = scorer.searcher.search(question, k=6)
    evidence = scorer.gather(question, hits)
    composed = compose(evidence, "en")
    assert evidence.sentences[0].text in composed.citations[0].quote
    for a in composed.citations:
        for b in composed.citations:
            if a.n < b.n and (a.article_id, a.paragraphs) == (b.article_id, b.paragraphs):
                # Two citations of one paragraph only when their sentences are not neighbours.
                paragraph = next(p for p in a.text.split("\n\n") if a.quote in p)
                joined = f"{a.quote} {b.quote}"
                assert joined not in paragraph and f"{b.quote} {a.quote}" not in paragraph


def test_a_story_s_lede_is_its_first_sentence_and_nothing_else(scorer: EvidenceScorer) -> None:
    """The lede's small penalty (see `WEIGHTS`) falls on the sentence that opens the article's
    first stored unit, and on no other sentence."""
    flagged = 0
    for question in (PEKALONGAN_EN, PEKALONGAN_ID, "Siapa pemenang Malang Highland Marathon?"):
        evidence = scorer.gather(question, scorer.searcher.search(question, k=6))
        for sentence in evidence.sentences:
            article = sentence.paragraph.hit.article_id
            opening = scorer.searcher.store.hits([f"{article}::0"])[f"{article}::0"].text
            opens = opening.startswith(sentence.text) and sentence.paragraph.index == 0
            lede = sentence_terms(question, sentence)["lede"]
            assert lede == float(opens), (sentence.text, sentence.paragraph.first)
            flagged += int(lede)
    assert flagged >= 2
