"""Language of an article or a question: Indonesian or English, nothing else.

Restricting lingua to the two languages we serve keeps short questions ("kapan itu?") reliable.
"""

from __future__ import annotations

from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# Long texts are decided well before this; the cap keeps detection cheap on big articles.
_MAX_CHARS = 2000


@cache
def _detector() -> LanguageDetector:
    """Built on first use: loading the models costs time and memory that importers may not need."""
    return LanguageDetectorBuilder.from_languages(Language.INDONESIAN, Language.ENGLISH).build()


def detect_lang(text: str) -> str:
    """'id' or 'en'. Text with no letters to go on (empty, digits only) counts as Indonesian,
    the corpus's main language."""
    language = _detector().detect_language_of(text[:_MAX_CHARS])
    return "en" if language == Language.ENGLISH else "id"


_CODES = {Language.INDONESIAN: "id", Language.ENGLISH: "en"}


def confidence(text: str) -> tuple[str, float]:
    """The likelier language of `text` and lingua's confidence in it (0.5 = a coin toss)."""
    values = _detector().compute_language_confidence_values(text[:_MAX_CHARS])
    if not values or values[0].value <= 0:
        return "id", 0.5
    return _CODES[values[0].language], float(values[0].value)
