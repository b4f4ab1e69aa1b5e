"""The asker's language, and the few fixed phrases Kabar writes in it.

Detection is lingua restricted to Indonesian and English (see `index.ingest.language`): with
only two
candidates even two-word questions are decided well. When lingua is unsure and the conversation
already has a language, the conversation's language wins, so "ok, Jakarta?" after an English
exchange is answered in English.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LANGS = ("id", "en")
_CODES = {Language.INDONESIAN: "id", Language.ENGLISH: "en"}
# Below this confidence a question's language is a guess: names alone ("Putin?" 0.53 en,
# "Blinken dan Lavrov?" 0.69 en) fall below it, "and Germany?" (0.73 en) and "ok" (0.77 id) not.
_SURE = 0.7
_MAX_CHARS = 1000

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "intro": "From the indexed news:",
        "source_in": "According to the {lang_name} source{where}:",
        "lang_id": "Indonesian",
        "lang_en": "English",
        "abstain": "The indexed news does not answer this question.",
        "closest": "The closest articles are:",
        "nothing": "Nothing in the indexed news is close to this question.",
        "unsupported": "(This answer cites none of the retrieved paragraphs, so it is not backed "
        "by the indexed news.)",
    },
    "id": {
        "intro": "Menurut berita yang terindeks:",
        "source_in": "Menurut sumber berbahasa {lang_name}{where}:",
        "lang_id": "Indonesia",
        "lang_en": "Inggris",
        "abstain": "Berita yang terindeks tidak menjawab pertanyaan ini.",
        "closest": "Artikel yang paling dekat:",
        "nothing": "Tidak ada berita terindeks yang dekat dengan pertanyaan ini.",
        "unsupported": "(Jawaban ini tidak mengutip satu pun paragraf yang ditemukan, jadi tidak "
        "didukung oleh berita yang terindeks.)",
    },
}


@cache
def _detector() -> LanguageDetector:
    # lingua keeps its models in a process-wide cache: this shares them with index.ingest.language.
    return LanguageDetectorBuilder.from_languages(Language.INDONESIAN, Language.ENGLISH).build()


def confidence(text: str) -> tuple[str, float]:
    """The likelier language of `text` and lingua's confidence in it (0.5 = a coin toss)."""
    values = _detector().compute_language_confidence_values(text[:_MAX_CHARS])
    if not values or values[0].value <= 0:
        return "id", 0.5
    return _CODES[values[0].language], float(values[0].value)


def question_lang(
    question: str, override: str | None = None, conversation: Sequence[str] = ()
) -> str:
    """The language to answer in: the user's choice, else the question's, else (when the
    question is too short to tell) that of the conversation's latest questions."""
    if override is not None:
        if override not in LANGS:
            raise ValueError(f"unknown answer language {override!r} (expected id or en)")
        return override
    lang, sure = confidence(question)
    if sure >= _SURE:
        return lang
    for earlier in reversed(conversation):
        earlier_lang, earlier_sure = confidence(earlier)
        if earlier_sure >= _SURE:
            return earlier_lang
    return lang


def phrase(lang: str, key: str, **values: str) -> str:
    return PHRASES[lang][key].format(**values)


def lang_name(lang_of_text: str, in_lang: str) -> str:
    """'Indonesian' / 'Inggris': the name of one language, written in another."""
    return PHRASES[in_lang][f"lang_{lang_of_text}"]
