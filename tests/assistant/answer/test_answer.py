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
from tests.fixtures.paths import KOMPAS, model_cache
from tests.fixtures.sample_store import sample_store

SENSORS_ID = "Berapa sensor banjir yang dipasang di Pekalongan?"
COST_EN = "How much did Pekalongan's flood early-warning system cost to build?"
PEKALONGAN = "pekalongan"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> StoreSettings:
    return sample_store(tmp_path_factory, embedder)


@pytest.fixture(scope="module")
def assistant(store: StoreSettings, embedder: Embedder) -> Assistant:
    return Assistant(Settings(store=store), Searcher(Store.open(store), embedder))


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
    assert indonesian.lang == "id" and indonesian.text.startswith("Menurut")
    english = assistant.ask(SENSORS_ID, lang="en")
    assert english.lang == "en"
    assert english.text.startswith("According to the Indonesian source (Kabar Contoh")
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


def kabar_ask(store: StoreSettings, *args: str) -> dict:  # type: ignore[type-arg]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env["KABAR_MODEL_CACHE"] = str(store.model_cache)
    kabar = str(Path(sys.executable).parent / "kabar")
    done = subprocess.run(
        [kabar, "ask", *args, "--store", str(store.store), "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_kabar_ask_json(store: StoreSettings) -> None:
    result = kabar_ask(store, COST_EN)
    assert set(result) == {"answer", "lang", "abstained", "citations", "related"}
    assert result["lang"] == "en" and result["abstained"] is False
    numbers = {c["n"] for c in result["citations"]}
    assert numbers and set(markers(result["answer"])) == numbers
    for cited in result["citations"]:
        assert set(cited) >= {"n", "article_id", "title", "url", "published", "paragraphs", "quote"}
        first, last = cited["paragraphs"]
        assert 1 <= first <= last
        assert cited["quote"] in result["answer"]  # quoted verbatim in the answer
    assert kabar_ask(store, COST_EN, "--lang", "id")["lang"] == "id"


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
    assert english.text.startswith("According to the Indonesian source (Kompas.com")
    assert any("Jenewa" in c.quote for c in english.citations)
    check_contract(english)
    indonesian = kompas.ask("Di mana AS dan Rusia akan bertemu?")
    assert indonesian.lang == "id" and indonesian.text.startswith("Menurut berita yang terindeks")
    assert any("Jenewa" in c.quote for c in indonesian.citations)
    check_contract(indonesian)
