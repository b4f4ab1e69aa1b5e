"""Language detection for articles and for the short questions people type."""

from __future__ import annotations

import pytest

from index.ingest.language import _detector, detect_lang


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kapan itu?", "id"),
        ("Siapa presiden?", "id"),
        ("berapa?", "id"),
        ("Kapan Prabowo dilantik?", "id"),
        ("Apa kata Blinken?", "id"),
        ("when was that?", "en"),
        ("Who is the president?", "en"),
        ("Why?", "en"),
        ("What did Blinken say?", "en"),
    ],
)
def test_short_questions(text: str, expected: str) -> None:
    assert detect_lang(text) == expected


def test_articles() -> None:
    assert (
        detect_lang("Pemerintah Kota Pekalongan mulai menguji coba sistem peringatan dini banjir.")
        == "id"
    )
    assert (
        detect_lang(
            "Millbrook City Council approved a $412 million budget after a late-night vote."
        )
        == "en"
    )


@pytest.mark.parametrize("text", ["", "   ", "123 456", "?!"])
def test_nothing_to_go_on_counts_as_indonesian(text: str) -> None:
    assert detect_lang(text) == "id"


def test_detector_is_built_once() -> None:
    detect_lang("satu")
    detect_lang("two")
    assert _detector() is _detector()
    assert _detector.cache_info().currsize == 1
