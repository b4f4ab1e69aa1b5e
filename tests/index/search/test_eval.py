"""`kabar eval` metrics on hand-made rankings with known ranks, then end to end on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.embed.embedder import Embedder
from index.records import Hit
from index.search.evaluate import (
    Question,
    evaluate,
    groups,
    judge,
    load_questions,
    render,
    summarise,
)
from index.search.searcher import Searcher
from index.store.chroma import Store
from tests.fixtures.paths import model_cache
from tests.fixtures.tiny_news import build_store


def hit(article_id: str, text: str, ordinal: int = 0) -> Hit:
    return Hit(
        chunk_id=f"{article_id}::{ordinal}",
        article_id=article_id,
        title="",
        url=None,
        published=None,
        source=None,
        lang="id",
        paragraphs=(1, 1),
        text=text,
        score=1.0,
    )


def question(qid: str, article_id: str, answer: str, lang: str = "id") -> Question:
    return Question(qid, f"q {qid}", (answer,), article_id, lang)


def test_judge_finds_article_and_paragraph_ranks() -> None:
    q = question("1", "gold", "120  Rumah")
    hits = [
        hit("other", "120 rumah rusak"),  # the answer, but in another article: not counted
        hit("gold", "Banjir melanda Garut.", 0),  # the right article, not the paragraph
        hit("gold", "Sebanyak 120 rumah rusak.", 1),  # article and answer (case, spaces)
        hit("x", "..."),
    ]
    outcome = judge(q, hits, article_lang="id")
    assert (outcome.article_rank, outcome.paragraph_rank) == (2, 3)
    assert outcome.distinct_articles == 3 and not outcome.cross_lingual
    # Any article's hit holding the answer is recorded apart, for --details.
    assert outcome.answer_rank == 1 and outcome.articles == ("other", "gold", "gold", "x")
    missed = judge(question("2", "absent", "x"), hits, article_lang=None)
    assert (missed.article_rank, missed.paragraph_rank, missed.answer_rank) == (None, None, None)


def test_judge_reads_facqa_tokenised_answers() -> None:
    # FacQA's answers put spaces around hyphens and slashes; the articles do not.
    hits = [hit("gold", "Perayaan ulang tahun ke-60 Republik Indonesia dan rute Jakarta/Medan.")]
    for answer in ("ulang tahun ke - 60 Republik Indonesia", "Jakarta / Medan"):
        assert judge(question("1", "gold", answer), hits, "id").paragraph_rank == 1
    assert judge(question("2", "gold", "ke - 61"), hits, "id").paragraph_rank is None


def test_summary_metrics_from_known_ranks() -> None:
    # Paragraph ranks 1, 3, 7, missing -> R@1 1/4, R@5 2/4, R@10 3/4, MRR (1 + 1/3 + 1/7) / 4.
    ranks = [1, 3, 7, None]
    outcomes = []
    for i, rank in enumerate(ranks):
        hits = [hit(f"d{j}", "") for j in range(10)]
        if rank is not None:
            hits[rank - 1] = hit("gold", "jawaban di sini")
        outcomes.append(judge(question(str(i), "gold", "jawaban"), hits, "id"))
    summary = summarise(outcomes, k=10)
    assert summary["n"] == 4
    assert summary["paragraph"] == {
        "R@1": 0.25,
        "R@5": 0.5,
        "R@10": 0.75,
        "MRR@10": round((1 + 1 / 3 + 1 / 7) / 4, 4),
    }
    assert summary["article"] == summary["paragraph"]
    # With k=5 the rank-7 hit no longer counts for MRR.
    assert summarise(outcomes, k=5)["paragraph"]["MRR@5"] == round((1 + 1 / 3) / 4, 4)
    assert summary["articles@5"] == pytest.approx((5 + 5 + 5 + 5) / 4)


def test_groups_split_by_language_and_crossing() -> None:
    hits = [hit("gold", "a")]
    outcomes = [
        judge(question("1", "gold", "a", "id"), hits, "id"),
        judge(question("2", "gold", "a", "en"), hits, "id"),
        judge(question("3", "gold", "a", "en"), hits, "en"),
    ]
    found = groups(outcomes)
    assert {name: len(g) for name, g in found.items()} == {
        "all": 3,
        "lang=en": 2,
        "lang=id": 1,
        "same-language": 2,
        "cross-language": 1,
    }


def test_load_questions_split_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    rows = [
        {"question": "Berapa rumah rusak?", "answers": ["120 rumah"], "article_id": "a"},
        {"question": "Who won?", "answers": ["X"], "article_id": "b", "split": "test"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", "utf-8")
    loaded = load_questions(path)
    assert [q.lang for q in loaded] == ["id", "en"]  # detected when not given
    assert [q.article_id for q in load_questions(path, "test")] == ["b"]
    path.write_text('{"question": "x"}\n', "utf-8")
    with pytest.raises(ValueError, match=r"qa\.jsonl:1"):
        load_questions(path)


def test_evaluate_modes_side_by_side(tmp_path: Path, embedder: Embedder) -> None:
    settings = build_store(tmp_path, model_cache(), embedder)
    questions = [
        Question("1", "Berapa harga cabai rawit di Kramat Jati?", ("Rp 95.000",), "cabai", "id"),
        Question("2", "Berapa penumpang penerbangan QZ7510?", ("164 penumpang",), "qz7510", "id"),
        Question("3", "How many passengers were stranded?", ("2,000",), "ferry-bali", "en"),
        Question(
            "4", "How many houses did the Garut flash flood damage?", ("120",), "garut-1", "en"
        ),
    ]
    searcher = Searcher(Store.open(settings), embedder)
    report = evaluate(searcher, questions, ["dense", "bm25", "hybrid"], k=5)
    assert report["questions"] == 4 and list(report["modes"]) == ["dense", "bm25", "hybrid"]
    for by_group in report["modes"].values():
        assert by_group["all"]["n"] == 4
        assert by_group["cross-language"]["n"] == 1 and by_group["lang=en"]["n"] == 2
    # Each mode's figures are its own: recomputed by hand from that mode's hits.
    for mode in ("dense", "bm25", "hybrid"):
        outcomes = [judge(q, searcher.search(q.question, 5, mode=mode), None) for q in questions]
        expected = summarise(outcomes, 5)
        assert report["modes"][mode]["all"]["paragraph"] == expected["paragraph"]
    assert report["modes"]["hybrid"]["all"]["paragraph"]["R@5"] >= 0.75
    # The vector index against exact search over the stored vectors, for these questions.
    exactness = report["vector_exactness"]
    assert exactness["questions"] == 4 and exactness["recall@10"] == 1.0
    table = render(report)
    assert "cross-language" in table and "hybrid" in table and "par MRR@5" in table
    assert "vector search: recall@10 against exact search 1.0000" in table


def test_kabar_eval_command(
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from assistant.cli.main import main

    settings = build_store(tmp_path, model_cache(), embedder)
    qa = tmp_path / "qa.jsonl"
    rows = [
        {"question": "Berapa harga cabai rawit?", "answers": ["Rp 95.000"], "article_id": "cabai"},
        {
            "question": "Who held the rate at 4.75%?",
            "answers": ["Bank Indonesia"],
            "article_id": "rate",
        },
    ]
    qa.write_text("\n".join(json.dumps(r) for r in rows) + "\n", "utf-8")
    monkeypatch.setenv("KABAR_MODEL_CACHE", str(model_cache()))
    args = ["eval", str(qa), "--store", str(settings.store), "--mode", "bm25", "--k", "5"]
    details = tmp_path / "details.jsonl"
    assert main([*args, "--json", "--per-article", "1", "--details", str(details)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["modes"]) == ["bm25"] and report["per_article"] == 1
    # One line per question, whose ranks give back the summary's figures.
    lines = [json.loads(line) for line in details.read_text("utf-8").splitlines()]
    assert [(d["mode"], d["article_id"]) for d in lines] == [("bm25", "cabai"), ("bm25", "rate")]
    found = sum(1 for d in lines if d["paragraph_rank"] and d["paragraph_rank"] <= 5) / 2
    assert report["modes"]["bm25"]["all"]["paragraph"]["R@5"] == found
    assert all(len(d["articles"]) <= 5 for d in lines)
    # A details file that cannot be written is refused by name.
    unwritable = tmp_path / "absent" / "details.jsonl"
    assert main([*args, "--details", str(unwritable)]) == 2
    assert str(unwritable) in capsys.readouterr().err
    assert "vector_exactness" not in report  # BM25 alone embeds no question
    assert report["modes"]["bm25"]["all"]["n"] == 2
    assert main([*args, "--k", "3"]) == 2  # Recall@5 needs k >= 5: a clear error, not a crash
    capsys.readouterr()
    hybrid = ["eval", str(qa), "--store", str(settings.store), "--mode", "hybrid", "--json"]
    assert main(hybrid) == 0
    learned = json.loads(capsys.readouterr().out)
    assert learned["fusion"] == "learned"
    assert main([*hybrid, "--fusion", "weighted"]) == 0
    weighted = json.loads(capsys.readouterr().out)
    assert weighted["fusion"] == "weighted"
    assert weighted["modes"]["hybrid"]["all"]["n"] == 2


def test_the_cli_offers_every_fusion_method() -> None:
    from typing import get_args

    from assistant.cli.eval import FUSIONS
    from index.search.fusion import Method

    assert sorted(FUSIONS) == sorted(get_args(Method))
