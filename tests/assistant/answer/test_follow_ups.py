"""Follow-ups end to end on real BBC articles (the shared data, indexed in a temp store): the
conversations of tests/data/followups.jsonl that went to the wrong article before the
previous question's articles were searched one by one (for continuations too) and a bare
pronoun question was taken as a follow-up whatever the evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer.pipeline import Assistant
from assistant.settings import Settings
from index.embed.embedder import Embedder
from index.indexing import Indexer
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store.chroma import Store
from tests.fixtures.paths import model_cache

# Each conversation's article and a neighbour about the same story or the same body.
ARTICLES = (
    "bbc-sport-090",  # relay squad made MBEs
    "bbc-sport-034",  # British athletics, the same relay
    "bbc-sport-022",  # Kelly Holmes wins the 1500m in Glasgow
    "bbc-sport-069",  # Kelly Holmes wins the 1,000m
    "bbc-politics-167",  # MPs' committee on a million homes in the south-east
    "bbc-politics-123",  # another Commons story
    "bbc-politics-020",  # the Tomlinson report: the Commons committee's and the QCA's views
)
# An Indonesian passage the question "And who chairs the QCA?" alone finds over all the news
# (about "the CIA").
PASSAGES = ("facqa-p0560",)
MBES = "Which four British sprinters from the Olympic 4x100m relay team were made MBEs?"
HOLMES = "Di kota mana Kelly Holmes memenangi nomor 1500m di Norwich Union International?"
HOMES = (
    "Which committee of MPs warned that building a million homes in south-east England would "
    "cause irreversible environmental damage?"
)


@pytest.fixture(scope="module")
def bbc(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, shared_data: Path
) -> Assistant:
    folder = tmp_path_factory.mktemp("bbc")
    lines = (shared_data / "news-en" / "bbc-news-2005.jsonl").read_text("utf-8").splitlines()
    chosen = [line for line in lines if json.loads(line)["id"] in ARTICLES]
    assert len(chosen) == len(ARTICLES)
    lines = (shared_data / "news-id" / "facqa-passages.jsonl").read_text("utf-8").splitlines()
    chosen += [line for line in lines if json.loads(line)["id"] in PASSAGES]
    (folder / "bbc.jsonl").write_text("\n".join(chosen) + "\n", "utf-8")
    settings = StoreSettings(store=folder / "store", model_cache=model_cache())
    store = Store.open(settings)
    assert not Indexer(store, embedder).run([folder / "bbc.jsonl"]).failed
    return Assistant(Settings(store=settings), Searcher(store, embedder))


@pytest.mark.parametrize(
    ("previous", "follow_up", "article"),
    [
        (MBES, "What was their winning time in the final?", "bbc-sport-090"),
        (HOLMES, "Berapa catatan waktunya?", "bbc-sport-022"),
    ],
)
def test_a_follow_up_is_answered_from_the_conversations_article(
    bbc: Assistant, previous: str, follow_up: str, article: str
) -> None:
    # Both stories are among the previous question's articles; searched together, the other
    # one's sentences outranked the conversation's.
    first = bbc.ask(previous)
    assert first.citations[0].article_id == article
    answer = bbc.ask(follow_up, [(previous, first.text)])
    assert answer.standalone_question != follow_up and not answer.abstained
    assert {c.article_id for c in answer.citations} == {article}, answer.text


def test_a_bare_pronoun_question_follows_the_conversation(bbc: Assistant) -> None:
    first = bbc.ask(HOMES)
    assert first.citations[0].article_id == "bbc-politics-167"
    answer = bbc.ask("Who chairs it?", [(HOMES, first.text)])
    assert "million" in answer.standalone_question  # the previous question's words carried
    assert not answer.abstained and answer.citations[0].article_id == "bbc-politics-167"


def test_a_continuation_is_answered_from_the_conversations_article(bbc: Assistant) -> None:
    # Searched with the previous question's terms carried, "QCA" drowned and the evidence
    # abstained; searched alone everywhere, it went to another article. Within the
    # conversation's article, as any follow-up is, it finds the QCA's chairman.
    previous = (
        "Who chairs the Commons education select committee that warned against a "
        "half-hearted response to the Tomlinson report?"
    )
    first = bbc.ask(previous)
    assert first.citations[0].article_id == "bbc-politics-020"
    answer = bbc.ask("And who chairs the QCA?", [(previous, first.text)])
    assert not answer.abstained and answer.citations[0].article_id == "bbc-politics-020"
    assert any("Greener" in c.quote for c in answer.citations), answer.text


def test_the_follow_up_cuts_judge_the_evidence_within_the_previous_articles(bbc: Assistant) -> None:
    # What `bench/abstention.py --calibrate` chooses the cuts from is what `resolve` judges by:
    # the question within the previous question's articles. There a follow-up is far more
    # answerable than a question about another story, which stays below the shipped cut.
    first = bbc.ask(MBES)
    history = [(MBES, first.text)]
    follow_up = "What was their winning time in the final?"
    assert bbc.evidence_in_previous(follow_up, []) is None
    within = bbc.evidence_in_previous(follow_up, history)
    elsewhere = bbc.evidence_in_previous(HOMES, history)
    assert within is not None and within.hits and elsewhere is not None
    previous = {h.article_id for h in bbc.searcher.search(MBES, k=2)}
    assert {h.article_id for h in within.hits} <= previous
    assert bbc.abstention.answerable(within) > 2 * bbc.abstention.answerable(elsewhere)
    assert bbc.abstention.answerable(elsewhere) < bbc.abstention.follow_up.plain
    assert bbc.ask(HOMES, history).standalone_question == HOMES
