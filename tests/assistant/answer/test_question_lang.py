"""The answer's language: the question's (short questions too), the conversation's when the
question is only a name, and the user's choice above both."""

from __future__ import annotations

import pytest

from assistant.answer.phrases import _SURE, confidence, question_lang


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("dan apa tanggapan Jerman?", "id"),
        ("kapan itu terjadi?", "id"),
        ("siapa dia?", "id"),
        ("berapa harganya?", "id"),
        ("Di mana AS dan Rusia akan bertemu?", "id"),
        ("when was that?", "en"),
        ("how much?", "en"),
        ("and Germany?", "en"),
        ("who said so?", "en"),
        ("Where will the US and Russia meet?", "en"),
    ],
)
def test_short_questions(question: str, expected: str) -> None:
    assert question_lang(question) == expected


@pytest.mark.parametrize("question", ["Blinken dan Lavrov?", "Putin?"])
def test_a_bare_name_takes_the_conversations_language(question: str) -> None:
    assert confidence(question)[1] < _SURE  # lingua really is unsure about these
    assert question_lang(question, conversation=["Siapa yang akan bertemu di Jenewa?"]) == "id"
    assert question_lang(question, conversation=["Who will meet in Geneva?"]) == "en"


def test_a_clear_question_ignores_the_conversation() -> None:
    assert question_lang("when was that?", conversation=["Siapa yang bertemu?"]) == "en"
    assert question_lang("kapan itu?", conversation=["Who met in Geneva?"]) == "id"


def test_the_user_can_override() -> None:
    assert question_lang("Where will the US and Russia meet?", override="id") == "id"
    assert question_lang("Di mana mereka bertemu?", override="en") == "en"
    with pytest.raises(ValueError, match="unknown answer language"):
        question_lang("Di mana?", override="fr")
