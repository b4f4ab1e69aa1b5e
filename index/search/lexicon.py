"""A hand-written English-Indonesian word list, so that BM25 can match across the languages.

BM25 compares words, and an English question shares only its names and numbers with an
Indonesian paragraph. The feedback search (see `Searcher._feedback`) therefore adds, to the
question's own terms, the other-language forms of its words listed in `lexicon-en-id.txt`
(one concept per line, every inflected form a search needs, since terms are not stemmed), and
the learned re-ranking weighs how much of the question a passage in the other language holds,
translations counted (`cross_cover_x`, see `index.search.learned`). No translation model ships in
a package here; this list was written for Kabar (about 1,800 lines of news words, ambiguous ones
left out). Refitted with it, English FacQA paragraph R@5 / MRR@10 rose from 0.880 / 0.736 to
0.930 / 0.768 over all the news.

FreeDict's English-Indonesian dictionary (Debian's dict-freedict-eng-ind, 10,296 headwords from
Wiktionary, CC BY-SA 3.0) was tried as an addition: its first-sense single-word translations
for the 4,497 English words this list lacks, plurals added. Over all the news (`kabar eval`,
hybrid, paragraph R@5 / MRR@10) English FacQA stayed at 0.930 (MRR 0.768 -> 0.770), English
over Indonesian went 0.933 / 0.791 -> 0.920 / 0.793, Indonesian over English 0.950 / 0.795 ->
0.960 / 0.800, the English set unchanged: the questions' words it adds are mostly names and
function words ("many", "name", "jakarta"). Not kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources

FILE = "lexicon-en-id.txt"


Table = dict[str, frozenset[str]]


def parse(lines: Iterable[str]) -> dict[str, Table]:
    """For each language ("en", "id"), each of its forms -> the other language's forms on its
    lines (a form on several lines gets all of them). Lines are `english forms = indonesian
    forms`; `#` starts a comment. Directed, since a form can be a word in both languages with
    different meanings ("air" is water in Indonesian)."""
    found: dict[str, dict[str, set[str]]] = {"en": {}, "id": {}}
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.count("=") != 1:
            raise ValueError(f"{FILE}:{number}: expected `english forms = indonesian forms`")
        english, indonesian = (
            [f.strip().lower() for f in side.split(",") if f.strip()] for side in line.split("=")
        )
        for lang, side, other in (("en", english, indonesian), ("id", indonesian, english)):
            for form in side:
                found[lang].setdefault(form, set()).update(other)
    return {
        lang: {form: frozenset(other) for form, other in table.items() if other}
        for lang, table in found.items()
    }


@cache
def lexicon() -> dict[str, Table]:
    """The shipped word list, read once."""
    text = resources.files("index.search").joinpath(FILE).read_text("utf-8")
    return parse(text.splitlines())


def translate(terms: Iterable[str], lang: str, tables: dict[str, Table] | None = None) -> list[str]:
    """The other-language forms of `terms`, words of `lang`, in the terms' order, each once;
    terms the list does not hold (names, numbers, unlisted words) give nothing."""
    table = (lexicon() if tables is None else tables).get(lang, {})
    seen: dict[str, None] = {}
    for term in terms:
        for form in sorted(table.get(term, ())):
            seen.setdefault(form, None)
    return list(seen)
