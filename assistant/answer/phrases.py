"""The asker's language, and the few fixed phrases Kabar writes in it.

Detection is lingua restricted to Indonesian and English (`index.ingest.language`): with only
two candidates even two-word questions are decided well. Names are left out first: a short
English question full of Indonesian names ("How many sensors did Pekalongan install?") reads as
Indonesian to lingua (0.56 id), its other words alone do not (on 4,463 questions of the shared
and test sets whose language is known, this took the errors from 16 to 0). When lingua is
unsure and the conversation already has a language, the conversation's language wins, so
"ok, Jakarta?" after an English exchange is answered in English.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.conversation import is_name
from index.ingest.language import confidence

LANGS = ("id", "en")
# Below this confidence a question's language is a guess: names alone ("Putin?" 0.53 en,
# "Blinken dan Lavrov?" 0.69 en) fall below it, "and Germany?" (0.73 en) and "ok" (0.77 id) not.
_SURE = 0.7
# Without its names a question must keep this many words to be judged on them: "Blinken dan
# Lavrov?" is not Indonesian because of "dan" alone.
_MIN_WORDS = 2
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "intro": "From the indexed news:",
        "short": "Short answer:",
        "source_in": "According to the {lang_name} source{where}:",
        "lang_id": "Indonesian",
        "lang_en": "English",
        "abstain": "The indexed news does not answer this question.",
        "closest": "The closest articles are:",
        "after_news": "None of it mentions {year}, and its newest article is from {newest}.",
        "nothing": "Nothing in the indexed news is close to this question.",
        "unsupported": "(This answer cites none of the retrieved paragraphs, so it is not backed "
        "by the indexed news.)",
    },
    "id": {
        "intro": "Menurut berita yang terindeks:",
        "short": "Jawaban singkat:",
        "source_in": "Menurut sumber berbahasa {lang_name}{where}:",
        "lang_id": "Indonesia",
        "lang_en": "Inggris",
        "abstain": "Berita yang terindeks tidak menjawab pertanyaan ini.",
        "closest": "Artikel yang paling dekat:",
        "after_news": "Tidak ada yang menyebut tahun {year}, dan artikel terbarunya dari tahun "
        "{newest}.",
        "nothing": "Tidak ada berita terindeks yang dekat dengan pertanyaan ini.",
        "unsupported": "(Jawaban ini tidak mengutip satu pun paragraf yang ditemukan, jadi tidak "
        "didukung oleh berita yang terindeks.)",
    },
}


def question_confidence(question: str) -> tuple[str, float]:
    """The question's likelier language and lingua's confidence, judged on its words other
    than names (acronyms, numbers, capitalised words after the first) when enough remain."""
    words = [w for i, w in enumerate(_WORD.findall(question)) if not is_name(w, i)]
    return confidence(" ".join(words) if len(words) >= _MIN_WORDS else question)


def question_lang(
    question: str, override: str | None = None, conversation: Sequence[str] = ()
) -> str:
    """The language to answer in: the user's choice, else the question's, else (when the
    question is too short to tell) that of the conversation's latest questions."""
    if override is not None:
        if override not in LANGS:
            raise ValueError(f"unknown answer language {override!r} (expected id or en)")
        return override
    lang, sure = question_confidence(question)
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
