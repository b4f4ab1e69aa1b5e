"""Citation plumbing: paragraphs of a hit, exact sentence slices, quotes, and the `[n]` checker."""

from __future__ import annotations

import logging

import pytest

from assistant.answer.citations import (
    MarkerFilter,
    best_quote,
    check_answer,
    citation,
    claims,
    markers,
    paragraphs_of,
    sentence_spans,
)
from index.records import Hit


def hit(text: str, paragraphs: tuple[int, int]) -> Hit:
    return Hit(
        chunk_id="a::0",
        article_id="a",
        title="AS dan Rusia bertemu",
        url="https://example.org/a",
        published="2022-01-21",
        source="Kompas.com",
        lang="id",
        paragraphs=paragraphs,
        text=text,
        score=0.5,
    )


def test_sentences_are_exact_slices_and_abbreviations_do_not_split() -> None:
    text = (
        "Dr. Smith met Prof. Adams in Geneva on Friday. Talks lasted 3.5 hours! "
        'He said: "We are ready." Jl. Sudirman was closed; H. Rahman drove by…  The end'
    )
    spans = sentence_spans(text)
    sentences = [text[a:b] for a, b in spans]
    assert sentences == [
        "Dr. Smith met Prof. Adams in Geneva on Friday.",
        "Talks lasted 3.5 hours!",
        'He said: "We are ready."',
        "Jl. Sudirman was closed; H. Rahman drove by…",
        "The end",
    ]
    team = (
        "Sensor itu dibuat tim yang diketuai Dr. Eng. Ir. Bimastyaji Surya Ramadan. Kab. Semarang"
    )
    assert [team[a:b] for a, b in sentence_spans(team)] == [
        "Sensor itu dibuat tim yang diketuai Dr. Eng. Ir. Bimastyaji Surya Ramadan.",
        "Kab. Semarang",
    ]


def test_paragraphs_of_a_hit_are_numbered_from_its_range() -> None:
    paragraphs = paragraphs_of(hit("Satu.\n\nDua.\n\nTiga.", (4, 6)))
    assert [(p.first, p.last, p.text) for p in paragraphs] == [
        (4, 4, "Satu."),
        (5, 5, "Dua."),
        (6, 6, "Tiga."),
    ]


def test_pieces_of_a_split_paragraph_cite_the_whole_range() -> None:
    # Three pieces but two paragraphs: which piece is which paragraph is unknown.
    paragraphs = paragraphs_of(hit("Satu.\n\nDua a.\n\nDua b.", (7, 8)))
    assert {(p.first, p.last) for p in paragraphs} == {(7, 8)}


def test_citation_quotes_must_be_verbatim() -> None:
    paragraph = paragraphs_of(hit("AS dan Rusia bertemu di Jenewa. Lalu pulang.", (2, 2)))[0]
    cited = citation(1, paragraph, "AS dan Rusia bertemu di Jenewa.")
    assert (cited.n, cited.paragraphs, cited.article_id) == (1, (2, 2), "a")
    assert cited.text == paragraph.hit.text
    with pytest.raises(ValueError, match="not verbatim"):
        citation(1, paragraph, "AS dan Rusia bertemu di Genewa.")


def test_checker_removes_unknown_numbers_and_logs_them(caplog: pytest.LogCaptureFixture) -> None:
    text = "They meet in Geneva [1][7]. Blinken leads [2, 9]. Lavrov too [12]. See [Reuters]."
    with caplog.at_level(logging.WARNING, logger="assistant.answer.citations"):
        clean, removed = check_answer(text, {1, 2})
    assert clean == "They meet in Geneva [1]. Blinken leads [2]. Lavrov too . See [Reuters]."
    assert removed == [7, 9, 12]
    assert sorted(markers(clean)) == [1, 2]
    assert "[7]" in caplog.text and "[12]" in caplog.text


def test_streamed_markers_are_checked_across_chunk_boundaries() -> None:
    text = "Jenewa [1]. Lavrov [3]. Blinken [1, 3, 2]. Harga [naik] 5% [2"
    whole, _ = check_answer(text, {1, 2})
    for size in (1, 2, 3, 5, 8):
        checker = MarkerFilter({1, 2})
        streamed = "".join(checker.feed(text[i : i + size]) for i in range(0, len(text), size))
        assert streamed + checker.flush() == whole
    assert whole == "Jenewa [1]. Lavrov . Blinken [1][2]. Harga [naik] 5% [2"


def test_claims_and_best_quote_pick_the_supporting_sentence() -> None:
    found = claims("The US and Russia meet in Geneva. [1] Blinken and Lavrov attend [2]. [3]")
    assert found == {
        1: ["The US and Russia meet in Geneva."],
        2: ["Blinken and Lavrov attend ."],
        3: ["Blinken and Lavrov attend ."],
    }
    paragraph = (
        "Rapat digelar pada Jumat. Menteri Luar Negeri AS Antony Blinken dan Sergei Lavrov "
        "akan hadir. Ukraina menunggu hasilnya."
    )
    quote = best_quote(paragraph, ["Blinken and Lavrov attend."])
    assert quote == "Menteri Luar Negeri AS Antony Blinken dan Sergei Lavrov akan hadir."
    assert quote in paragraph
    assert best_quote(paragraph, ["nothing shared"]) == "Rapat digelar pada Jumat."
