"""The learned re-ranking of the hybrid pool, on a real store: its features, the weights file and
the ranking the searcher returns with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from index.embed.embedder import Embedder
from index.indexing import Indexer
from index.search.config import Filters, SearchConfig
from index.search.fusion import FusionParams
from index.search.learned import (
    FEATURES,
    WEIGHTS,
    LinearRanker,
    Pool,
    asks_number,
    features,
)
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store.chroma import Store
from tests.fixtures.paths import model_cache
from tests.fixtures.tiny_news import build_store, write_corpus

FESTIVAL_VISITORS = "Berapa pengunjung yang diperkirakan datang ke festival Danau Toba?"


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Searcher:
    settings = build_store(tmp_path_factory.mktemp("tiny"), model_cache(), embedder)
    return Searcher(Store.open(settings), embedder)


def pool_of(searcher: Searcher, question: str) -> Pool:
    query = searcher.prepare_one(question, "hybrid")
    found = searcher.candidates(query, 50, Filters(), "hybrid")
    return features(
        found.dense,
        found.lexical,
        found.feedback,
        found.info,
        query.terms,
        query.lang,
        query.vector,
        searcher.lexical,
        searcher.config.fusion,
        question,
    )


def column(pool: Pool, name: str) -> dict[str, float]:
    return dict(zip(pool.ids, pool.matrix[:, FEATURES.index(name)].tolist(), strict=True))


def test_learned_is_the_default_hybrid_ranking() -> None:
    assert SearchConfig().fusion.method == "learned"


def test_weights_file_ranks_as_its_linear_formula(searcher: Searcher) -> None:
    weights = json.loads(WEIGHTS.read_text("utf-8"))["weights"]
    assert set(weights) <= set(FEATURES) and weights
    pool = pool_of(searcher, FESTIVAL_VISITORS)
    by_hand = {
        cid: sum(w * column(pool, name)[cid] for name, w in weights.items()) for cid in pool.ids
    }
    expected = sorted(pool.ids, key=lambda cid: -by_hand[cid])
    ranked = LinearRanker.load().rank(pool)
    assert [cid for cid, _ in ranked] == expected
    assert all(0 < score <= 1 for _, score in ranked)
    # The searcher returns that ranking (no cap or recency at play for the top 3 here).
    hits = searcher.search(FESTIVAL_VISITORS, 3)
    assert [h.chunk_id for h in hits] == expected[:3]


@pytest.mark.parametrize(
    "question",
    [
        FESTIVAL_VISITORS,
        "How many visitors do the organisers expect at the Lake Toba festival?",
    ],
)
def test_answer_paragraph_comes_above_its_article_s_other_paragraphs(
    searcher: Searcher, question: str
) -> None:
    # Every unit of the festival story names the festival and Danau Toba: only one has the figure.
    hits = searcher.search(question, 3)
    assert hits[0].article_id == "festival"
    assert "50.000" in hits[0].text


def test_features_mark_language_and_coverage(searcher: Searcher) -> None:
    pool = pool_of(searcher, "Harga cabai rawit di Pasar Kramat Jati")
    cross = column(pool, "cross")
    langs = {r.chunk_id: r.lang for r in searcher.lexical.rows}
    assert cross and all(cross[cid] == (langs[cid] == "en") for cid in pool.ids)
    assert column(pool, "cover")["cabai::0"] == pytest.approx(1.0)
    # An article's aggregates are shared by its chunks; the pool's best gap is 0.
    assert max(column(pool, "art_cos_gap").values()) == pytest.approx(0.0)
    assert max(column(pool, "cos_gap").values()) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (FESTIVAL_VISITORS, True),
        ("Berapakah harga cabai rawit?", True),
        ("How many passengers were stranded at Padang Bai?", True),
        ("How much did chili prices rise?", True),
        ("Tahun berapa festival Danau Toba pertama digelar?", False),
        ("Pada tanggal berapa banjir melanda Garut?", False),
        ("In what year was the rate last cut?", False),
        ("When were the ferries suspended?", False),
        ("Siapa kapten tim nasional?", False),
        ("Which port were passengers stranded at?", False),
    ],
)
def test_asks_number(question: str, expected: bool) -> None:
    assert asks_number(question) is expected


def test_numbers_counts_digit_terms_not_in_the_question(searcher: Searcher) -> None:
    lexical = searcher.lexical
    ids = [r.chunk_id for r in lexical.rows]
    texts = searcher.store.documents(ids)
    positions = [lexical.position[c] for c in ids]
    for exclude in ((), ("qz7510", "164")):
        expected = [
            sum(1 for w in lexical.tokenizer.tokens(texts[c]) if re.search(r"\d", w))
            - sum(lexical.terms[lexical.position[c]].count(t) for t in exclude)
            for c in ids
        ]
        assert lexical.numbers(positions, exclude).tolist() == expected
    qz = [c for c in ids if c.startswith("qz7510::")]
    assert sum(lexical.numbers([lexical.position[c] for c in qz], ["qz7510", "164"])) == 0


def test_number_answer_marks_chunks_with_a_new_number(searcher: Searcher) -> None:
    # The festival story's units all name the festival; only the last holds a figure.
    pool = pool_of(searcher, FESTIVAL_VISITORS)
    texts = searcher.store.documents(pool.ids)
    marked = column(pool, "number_answer")
    festival = [c for c in pool.ids if c.startswith("festival::")]
    assert len(festival) > 1
    for cid in festival:
        assert marked[cid] == (1.0 if re.search(r"\d", texts[cid]) else 0.0)
    assert any(marked[c] for c in festival) and not all(marked[c] for c in festival)
    # The question's own number is no answer; a question that asks for no number marks none.
    pool = pool_of(searcher, "Berapa penumpang penerbangan QZ7510 yang dipindahkan?")
    texts = searcher.store.documents(pool.ids)
    marked = column(pool, "number_answer")
    qz = [c for c in pool.ids if c.startswith("qz7510::")]
    assert qz and all(marked[c] == ("164" in texts[c]) for c in qz)
    pool = pool_of(searcher, "Mengapa penerbangan QZ7510 kembali ke Bandara Juanda?")
    assert not any(column(pool, "number_answer").values())


def test_weighted_fusion_is_still_available(searcher: Searcher) -> None:
    weighted = Searcher(
        searcher.store,
        searcher.embedder,
        SearchConfig(fusion=FusionParams(method="weighted")),
    )
    assert weighted.search("QZ7510", 1)[0].article_id == "qz7510"


def test_unknown_feature_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"weights": {"cos": 1.0, "clicks": 2.0}}), "utf-8")
    with pytest.raises(ValueError, match="clicks"):
        LinearRanker.load(path)
    path.write_text(json.dumps({"weights": {"cos": 2.0}}), "utf-8")
    ranker = LinearRanker.load(path)
    assert np.count_nonzero(ranker.weights) == 1


def test_translated_cover_counts_the_question_s_words_in_the_other_language(
    searcher: Searcher,
) -> None:
    # "passengers" is "penumpang" in the Indonesian story's second paragraph, which holds none
    # of the question's words as written; the English ferry story holds "passengers" itself.
    pool = pool_of(searcher, "How many passengers of flight QZ7510 were moved to another plane?")
    translated, plain = column(pool, "cross_cover_x"), column(pool, "cover")
    texts = searcher.store.documents(pool.ids)
    second = next(c for c in pool.ids if c.startswith("qz7510::") and "penumpang" in texts[c])
    assert translated[second] > plain[second]
    langs = {r.chunk_id: r.lang for r in searcher.lexical.rows}
    assert all(translated[c] == 0 for c in pool.ids if langs[c] == "en")
    assert any(plain[c] > 0 for c in pool.ids if langs[c] == "en")


def test_feedback_searches_the_question_s_words_translated(searcher: Searcher) -> None:
    # With no feedback terms taken from dense hits, an English question without names shares
    # no word with an Indonesian story: only the translated terms can find it.
    bare = Searcher(searcher.store, searcher.embedder, SearchConfig(feedback_terms=0))
    query = bare.prepare_one("How much did chili prices rise?", "hybrid")
    found = bare.candidates(query, 10, Filters(), "hybrid")
    assert found.feedback and found.feedback[0][0] == "cabai::0"


def test_translated_cover_weighs_words_the_store_holds_only_translated(
    tmp_path: Path, embedder: Embedder
) -> None:
    # Over Indonesian news alone "russia" and "meet" occur in no chunk, so by their own idf
    # they weigh nothing and "us" (which "US$" holds) would be the whole question: the rupiah
    # story would cover it fully and the Jenewa paragraph not at all. Weighed by their
    # translations' idf ("rusia", "bertemu"), the paragraph that answers covers more.
    articles = [
        {
            "id": "jenewa",
            "title": "Ketegangan di Ukraina",
            "lang": "id",
            "text": "Menteri luar negeri AS dan Rusia akan bertemu di Jenewa pada Jumat.",
        },
        {
            "id": "rupiah",
            "title": "Rupiah melemah",
            "lang": "id",
            "text": "Rupiah ditutup melemah ke Rp 16.239/US$ pada perdagangan Senin sore.",
        },
        {
            "id": "panen",
            "title": "Panen raya padi",
            "lang": "id",
            "text": "Petani di Karawang memulai panen raya padi pekan ini.",
        },
    ]
    settings = StoreSettings(store=tmp_path / "store", model_cache=model_cache())
    report = Indexer(Store.open(settings), embedder).run([write_corpus(tmp_path, articles)])
    assert report.added == 3 and not report.failed
    searcher = Searcher(Store.open(settings), embedder)
    pool = pool_of(searcher, "Where will the US and Russia meet?")
    translated = column(pool, "cross_cover_x")
    assert translated["jenewa::0"] > translated["rupiah::0"] > 0
