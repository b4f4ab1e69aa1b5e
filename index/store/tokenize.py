"""Words for the lexical index: the same rules for passages and questions, in Indonesian or English.

BM25 only matches what tokenization makes equal, so both sides go through one function:
Unicode-normalised, lower-cased word runs, function words of both languages dropped (a question
may mix them: "Siapa CEO Panen Pintar?"), and optionally Snowball-stemmed in the text's language.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
_STEMMERS = {"id": "indonesian", "en": "english"}


@cache
def stopwords() -> frozenset[str]:
    """Indonesian and English function words, from the data files in index/ingest/rules/."""
    words: set[str] = set()
    for name in ("stopwords-id.txt", "stopwords-en.txt"):
        text = resources.files("index.ingest").joinpath("rules", name).read_text("utf-8")
        words.update(line.strip() for line in text.splitlines() if line.strip() and line[0] != "#")
    return frozenset(words)


@cache
def _stemmer(lang: str) -> Callable[[list[str]], list[str]]:
    import Stemmer

    return Stemmer.Stemmer(_STEMMERS[lang]).stemWords


@dataclass(frozen=True)
class Tokenizer:
    """Text -> index terms. `stem` is off by default: it measured worse (see README, Search)."""

    stem: bool = False

    @property
    def name(self) -> str:
        """Identifies the rules (stopword lists included), so a cache built with other rules is
        rebuilt, not misread."""
        lists = hashlib.sha256("\n".join(sorted(stopwords())).encode()).hexdigest()[:8]
        return f"words-v1-{lists}" + ("+snowball" if self.stem else "")

    def tokens(self, text: str, lang: str | None = None) -> list[str]:
        normal = unicodedata.normalize("NFKC", text).lower()
        stop = stopwords()
        words = [
            w
            for w in _WORD.findall(normal)
            if w not in stop and (len(w) > 1 or _DIGITS.fullmatch(w)) and w != "_"
        ]
        if self.stem and lang in _STEMMERS:
            words = _stemmer(lang)(words)
        return words

    def many(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[list[str]]:
        return [self.tokens(t, lang) for t, lang in zip(texts, langs, strict=True)]
