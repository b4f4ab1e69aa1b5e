"""The English-Indonesian word list that lets BM25 match across the languages: its format, its
direction, and every line of the shipped file checked against itself."""

from __future__ import annotations

from importlib import resources

import pytest

from index.search.lexicon import FILE, lexicon, parse, translate
from index.store.tokenize import Tokenizer


def shipped_lines() -> list[str]:
    text = resources.files("index.search").joinpath(FILE).read_text("utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_translation_is_directed_by_the_question_language() -> None:
    tables = parse(
        [
            "# a comment",
            "water = air  # 'air' is Indonesian here",
            "air = udara",
            "flood, floods, flooded = banjir, kebanjiran",
        ]
    )
    assert translate(["air"], "id", tables) == ["water"]
    assert translate(["air"], "en", tables) == ["udara"]
    assert translate(["flooded", "floods", "jakarta"], "en", tables) == ["banjir", "kebanjiran"]
    assert translate(["banjir"], "id", tables) == ["flood", "flooded", "floods"]
    assert translate(["banjir"], "en", tables) == []  # an Indonesian word in an English question


def test_a_malformed_line_is_named() -> None:
    with pytest.raises(ValueError, match=rf"{FILE}:2: expected"):
        parse(["farmer = petani", "farmer petani"])


def test_every_form_of_the_shipped_list_is_one_search_term() -> None:
    # Forms are looked up among the question's terms and searched as terms: a form the tokenizer
    # splits ("rata-rata") or drops (a stopword) would never match.
    tokenizer = Tokenizer()
    for line in shipped_lines():
        for form in line.replace("=", ",").split(","):
            form = form.strip()
            assert tokenizer.tokens(form) == [form], line


def test_each_line_of_the_shipped_list_translates_both_ways() -> None:
    lines = shipped_lines()
    assert len(lines) > 1000
    for line in lines:
        english, indonesian = ([f.strip() for f in side.split(",")] for side in line.split("="))
        for form in english:
            assert set(indonesian) <= set(translate([form], "en")), line
        for form in indonesian:
            assert set(english) <= set(translate([form], "id")), line
    assert {"en", "id"} == set(lexicon())
