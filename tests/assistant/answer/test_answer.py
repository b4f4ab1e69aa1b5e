"""The `Assistant` end to end, `kabar ask`, and the answer-side settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.answer.citations import markers
from assistant.answer.pipeline import Assistant
from assistant.records import Answer
from assistant.settings import Settings
from index.embed.embedder import Embedder
from index.indexing import Indexer
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.tokenize import Tokenizer
from tests.fixtures.paths import KOMPAS, SAMPLES, model_cache
from tests.fixtures.sample_store import sample_questions

SENSORS_ID = "Berapa sensor banjir yang dipasang di Pekalongan?"
COST_EN = "How much did Pekalongan's flood early-warning system cost to build?"
PEKALONGAN = "pekalongan"


@pytest.fixture(scope="module")
def assistant(sample_settings: StoreSettings, sample_searcher: Searcher) -> Assistant:
    return Assistant(Settings(store=sample_settings), sample_searcher)


def body(answer: Answer) -> str:
    """The answer after its short answer, if it states one ("Short answer: … [1]." and a
    blank line)."""
    if answer.short is None:
        return answer.text
    head, rest = answer.text.split("\n\n", 1)
    assert answer.short in head and head.endswith("[1].")
    return rest


def check_contract(answer: Answer) -> None:
    numbers = [c.n for c in answer.citations]
    assert set(markers(answer.text)) == set(numbers)
    for cited in answer.citations:
        assert cited.quote and cited.quote in cited.text


def test_stream_yields_deltas_then_the_answer(assistant: Assistant) -> None:
    items = list(assistant.stream(COST_EN, []))
    *deltas, final = items
    assert isinstance(final, Answer) and all(isinstance(d, str) for d in deltas)
    assert len(deltas) >= 2 and "".join(deltas).strip() == final.text
    assert final.lang == "en" and not final.abstained and final.standalone_question == COST_EN
    check_contract(final)
    assert any("6,8 miliar" in c.quote for c in final.citations)


def test_answer_language_follows_the_question_unless_overridden(assistant: Assistant) -> None:
    indonesian = assistant.ask(SENSORS_ID)
    assert indonesian.lang == "id" and body(indonesian).startswith("Menurut")
    english = assistant.ask(SENSORS_ID, lang="en")
    assert english.lang == "en"
    assert body(english).startswith("According to the Indonesian source (Kabar Contoh")
    check_contract(indonesian)
    check_contract(english)


def test_follow_up_retrieval_follows_the_conversation(assistant: Assistant) -> None:
    first = assistant.ask(SENSORS_ID)
    follow_up = "kapan uji cobanya berakhir?"
    alone = assistant.ask(follow_up)
    answer = assistant.ask(follow_up, [(SENSORS_ID, first.text)])
    assert alone.standalone_question == follow_up
    assert answer.standalone_question.startswith(follow_up)
    assert "Pekalongan" in answer.standalone_question
    assert not answer.abstained
    assert all(PEKALONGAN in c.article_id for c in answer.citations)
    assert any("April 2026" in c.quote for c in answer.citations)
    check_contract(answer)


def test_chat_message_history_works_too(assistant: Assistant) -> None:
    messages = [
        {"role": "user", "content": SENSORS_ID},
        {"role": "assistant", "content": "24 sensor [1]."},
    ]
    answer = assistant.ask("kapan uji cobanya berakhir?", messages)
    assert "Pekalongan" in answer.standalone_question


def test_one_assistant_serves_several_threads(assistant: Assistant) -> None:
    questions = [SENSORS_ID, COST_EN, "Who won the 2030 Tbilisi Rapid Chess Open?", SENSORS_ID]
    alone = [assistant.ask(q).text for q in questions]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: assistant.ask(q).text, questions))
    assert together == alone


def test_empty_question_is_refused(assistant: Assistant) -> None:
    with pytest.raises(ValueError, match="empty"):
        assistant.ask("   ")


def test_settings_come_from_the_environment_once() -> None:
    env = {
        "KABAR_STORE": "/data/kabar",
        "KABAR_LLM_BASE_URL": "http://127.0.0.1:8080/v1",
        "KABAR_LLM_MODEL": "qwen",
        "KABAR_LLM_CONTEXT_TOKENS": "2000",
    }
    settings = Settings.from_env(env)
    assert settings.store.store == Path("/data/kabar")
    assert settings.llm.configured and settings.llm.api_key is None
    assert settings.llm.context_tokens == 2000
    assert Settings.from_env(env, store="/elsewhere").store.store == Path("/elsewhere")
    assert not Settings.from_env({}).llm.configured


def kabar_ask(sample_settings: StoreSettings, *args: str) -> dict:  # type: ignore[type-arg]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env["KABAR_MODEL_CACHE"] = str(sample_settings.model_cache)
    kabar = str(Path(sys.executable).parent / "kabar")
    done = subprocess.run(
        [kabar, "ask", *args, "--store", str(sample_settings.store), "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow  # starts a process
def test_kabar_ask_json(sample_settings: StoreSettings) -> None:
    result = kabar_ask(sample_settings, COST_EN)
    assert set(result) == {"answer", "lang", "abstained", "citations", "related"}
    assert result["lang"] == "en" and result["abstained"] is False
    numbers = {c["n"] for c in result["citations"]}
    assert numbers and set(markers(result["answer"])) == numbers
    for cited in result["citations"]:
        assert set(cited) >= {"n", "article_id", "title", "url", "published", "paragraphs", "quote"}
        first, last = cited["paragraphs"]
        assert 1 <= first <= last
        assert cited["quote"] in result["answer"]  # quoted verbatim in the answer
    assert kabar_ask(sample_settings, COST_EN, "--lang", "id")["lang"] == "id"


@pytest.fixture(scope="module")
def kompas(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, shared_data: Path
) -> Assistant:
    settings = StoreSettings(store=tmp_path_factory.mktemp("kompas") / "store",
                             model_cache=model_cache())  # fmt: skip
    store = Store.open(settings)
    assert not Indexer(store, embedder).run([KOMPAS]).failed
    return Assistant(Settings(store=settings), Searcher(store, embedder))


def test_kompas_page_answers_in_the_askers_language_citing_jenewa(kompas: Assistant) -> None:
    english = kompas.ask("Where will the US and Russia meet?")
    assert english.lang == "en" and not english.abstained
    assert body(english).startswith("According to the Indonesian source (Kompas.com")
    assert any("Jenewa" in c.quote for c in english.citations)
    check_contract(english)
    indonesian = kompas.ask("Di mana AS dan Rusia akan bertemu?")
    assert indonesian.lang == "id" and body(indonesian).startswith("Menurut berita yang terindeks")
    assert any("Jenewa" in c.quote for c in indonesian.citations)
    check_contract(indonesian)


# What a new user met on the bundled samples (issue 13), each reproduced here.
SENSORS_RIVERS = "How many water-level sensors did Pekalongan install, and on which rivers?"
MILLBROOK_VOTES = "By how many votes did Millbrook council pass its budget?"
KERINCI_FARMERS = "How many farmers are in the Kerinci coffee cooperative?"
KERINCI_PRICE = "Berapa harga kopi Kerinci per kilogram?"
PEKALONGAN_COST = "How much did the Pekalongan flood warning system cost?"
EXAMPLE_COST = "Berapa biaya sistem peringatan dini banjir di Pekalongan?"  # the start page's


def article_of(answer: Answer) -> str:
    assert answer.citations, answer.text
    return answer.citations[0].article_id


def test_a_pronoun_does_not_make_a_follow_up(assistant: Assistant) -> None:
    first = assistant.ask(SENSORS_RIVERS)
    answer = assistant.ask(MILLBROOK_VOTES, [(SENSORS_RIVERS, first.text)])
    assert answer.standalone_question == MILLBROOK_VOTES  # "its" is Millbrook's own budget
    assert not answer.abstained and {c.article_id for c in answer.citations} == {
        article_of(assistant.ask(MILLBROOK_VOTES))
    }
    assert "8 to 5" in answer.citations[0].quote
    check_contract(answer)


def test_a_question_that_cannot_stand_alone_follows_the_conversation(
    assistant: Assistant,
) -> None:
    first = assistant.ask(KERINCI_PRICE)
    alone = assistant.ask("Siapa ketuanya?")
    answer = assistant.ask("Siapa ketuanya?", [(KERINCI_PRICE, first.text)])
    assert alone.abstained  # on its own it names nobody's chairman
    assert "Kerinci" in answer.standalone_question
    assert not answer.abstained and article_of(answer) == article_of(first)
    assert "Syafrudin Alamsyah" in answer.citations[0].quote
    check_contract(answer)


@pytest.mark.parametrize("question", ["Berapa harganya?", "Who won it?"])
def test_a_bare_question_without_a_conversation_abstains(
    assistant: Assistant, question: str
) -> None:
    """Whose price? Who won what? The evidence looks answerable (see `subjectless`)."""
    answer = assistant.ask(question)
    assert answer.abstained and not answer.citations, answer.text


def test_a_bare_question_in_a_conversation_is_answered(assistant: Assistant) -> None:
    first = assistant.ask(KERINCI_PRICE)
    answer = assistant.ask("Berapa harganya?", [(KERINCI_PRICE, first.text)])
    assert not answer.abstained and "Kerinci" in answer.standalone_question, answer.text
    assert article_of(answer) == article_of(first)
    check_contract(answer)


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        (SENSORS_RIVERS, "24 sensor"),
        (KERINCI_FARMERS, "318 petani"),
        ("How many sensors did Pekalongan install?", "24 sensor"),
    ],
)
def test_english_questions_about_indonesian_articles_are_answered_in_english(
    assistant: Assistant, question: str, gold: str
) -> None:
    answer = assistant.ask(question)
    assert answer.lang == "en" and not answer.abstained, answer.text
    assert gold in answer.citations[0].quote
    check_contract(answer)


@pytest.mark.parametrize(
    ("question", "gold"),
    [(PEKALONGAN_COST, "Rp 6,8 miliar"), (EXAMPLE_COST, "Rp 6,8 miliar"), (KERINCI_PRICE, "7,40")],
)
def test_the_answer_comes_first(assistant: Assistant, question: str, gold: str) -> None:
    answer = assistant.ask(question)
    assert gold in answer.citations[0].quote  # the sentence that answers leads
    assert body(answer).index(answer.citations[0].quote) < 80  # right after its introduction
    if answer.short is not None:
        # Stated before the evidence, cited with the sentence it comes from.
        assert gold in answer.short
        assert answer.text.index(answer.short) < answer.text.index(answer.citations[0].quote)
    check_contract(answer)


def test_a_clear_short_answer_is_stated_first(assistant: Assistant) -> None:
    answer = assistant.ask(PEKALONGAN_COST)
    assert answer.short == "Rp 6,8 miliar"
    assert answer.text.startswith("Short answer: Rp 6,8 miliar [1].")


def test_supporting_sentences_come_from_the_answers_article(assistant: Assistant) -> None:
    """Another article is quoted only for a fact the question asked for that the answer's own
    article did not give (question words the quotes before it lack), never as filler."""
    words = Tokenizer()
    for q in sample_questions():
        answer = assistant.ask(q["question"])
        if answer.abstained:
            continue
        asked = set(words.tokens(q["question"]))
        first = answer.citations[0].article_id
        quoted: set[str] = set()
        for cited in answer.citations:
            said = set(words.tokens(cited.quote))
            if cited.article_id != first:
                assert (asked & said) - quoted, (q["question"], answer.text)
            quoted |= said


def test_unrelated_articles_do_not_change_the_answer(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> None:
    """Two short unrelated articles indexed next to the samples: the start page's first example
    still gets the cost, first."""
    folder = tmp_path_factory.mktemp("unrelated")
    extra = [
        {"id": "extra-1", "title": "Harga cabai naik", "lang": "id",
         "text": "Harga cabai rawit di Pasar Kramat Jati naik menjadi Rp 80.000 per kilogram "
                 "pada Senin karena hujan deras di sentra produksi."},
        {"id": "extra-2", "title": "Library opens late", "lang": "en",
         "text": "The Eastfield library will open until 9 p.m. on weekdays from September, "
                 "the council said on Friday."},
    ]  # fmt: skip
    (folder / "more.jsonl").write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in extra), "utf-8"
    )
    settings = StoreSettings(store=folder / "store", model_cache=model_cache())
    store = Store.open(settings)
    assert not Indexer(store, embedder).run([SAMPLES, folder / "more.jsonl"]).failed
    assistant = Assistant(Settings(store=settings), Searcher(store, embedder))
    answer = assistant.ask(EXAMPLE_COST)
    assert not answer.abstained and "Rp 6,8 miliar" in answer.citations[0].quote
    assert answer.short == "Rp 6,8 miliar"
