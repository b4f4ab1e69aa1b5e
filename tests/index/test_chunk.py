"""Chunk boundaries and token limits, counted with the real e5 tokenizer."""

from __future__ import annotations

import pytest

from index.chunking import Chunker, embedding_text, split_sentences
from index.embed.embedder import Embedder
from index.records import Article


def article(paragraphs: list[str], title: str = "Judul berita") -> Article:
    return Article(id="a1", title=title, paragraphs=tuple(paragraphs), lang="id")


def counter(embedder: Embedder):
    return lambda texts: embedder.count_tokens(texts, "passage")


def test_packs_consecutive_paragraphs_up_to_target(embedder: Embedder) -> None:
    paragraphs = [f"Paragraf nomor {i} menjelaskan kejadian di kota itu." for i in range(1, 11)]
    chunker = Chunker(counter(embedder), limit=embedder.max_tokens, target=60)
    chunks = chunker.chunk(article(paragraphs))
    assert len(chunks) > 1
    # Ranges are consecutive, 1-based, cover every paragraph exactly once and never overlap.
    covered = [p for c in chunks for p in range(c.first_paragraph, c.last_paragraph + 1)]
    assert covered == list(range(1, 11))
    for c in chunks:
        body = c.text.split("\n\n")
        assert body == paragraphs[c.first_paragraph - 1 : c.last_paragraph]
        assert counter(embedder)([embedding_text(c.title, c.text)])[0] <= 60 + 20
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)


def test_paragraph_units_join_short_paragraphs_to_the_next(embedder: Embedder) -> None:
    def long(n: int) -> str:
        return " ".join(f"warga{n} desa mengungsi" for _ in range(12))  # 36 words

    # A dateline, a long paragraph, a one-line quote, two long ones and a short last line.
    paragraphs = ["Jakarta -", long(1), "Kata dia singkat.", long(2), long(3), "Penutup pendek."]
    chunker = Chunker(counter(embedder), limit=embedder.max_tokens, target=0, min_words=30)
    chunks = chunker.chunk(article(paragraphs))
    # Short ones join the next paragraph; the short last one joins the unit before it.
    assert [(c.first_paragraph, c.last_paragraph) for c in chunks] == [(1, 2), (3, 4), (5, 6)]
    for c in chunks:
        assert c.text.split("\n\n") == paragraphs[c.first_paragraph - 1 : c.last_paragraph]
    # Without the word floor every paragraph is a unit of its own.
    alone = Chunker(counter(embedder), limit=embedder.max_tokens, target=0).chunk(
        article(paragraphs)
    )
    assert [(c.first_paragraph, c.last_paragraph) for c in alone] == [(i, i) for i in range(1, 7)]


def test_long_paragraph_split_at_sentences_within_model_limit(embedder: Embedder) -> None:
    sentence = "Pemerintah kota mengumumkan rencana pembangunan jembatan baru di atas sungai. "
    long_paragraph = sentence * 80  # far over 512 tokens
    paragraphs = ["Pembuka singkat.", long_paragraph, "Penutup singkat."]
    assert counter(embedder)([long_paragraph])[0] > embedder.max_tokens
    chunker = Chunker(counter(embedder), limit=embedder.max_tokens, target=embedder.max_tokens)
    chunks = chunker.chunk(article(paragraphs))
    for c in chunks:
        assert counter(embedder)([embedding_text(c.title, c.text)])[0] <= embedder.max_tokens
    middle = [c for c in chunks if c.first_paragraph <= 2 <= c.last_paragraph]
    assert len(middle) >= 2, "the long paragraph must be spread over several chunks"
    # Split pieces end at sentence boundaries and nothing is lost.
    rebuilt = " ".join(
        c.text.replace("Pembuka singkat.", "").replace("Penutup singkat.", "") for c in chunks
    ).split()
    assert rebuilt == long_paragraph.split()
    for c in middle[:-1]:
        assert c.text.rstrip().endswith(".")


def test_sentence_without_punctuation_split_by_words(embedder: Embedder) -> None:
    words = " ".join(f"kata{i}" for i in range(900))
    chunker = Chunker(counter(embedder), limit=128, target=128)
    chunks = chunker.chunk(article([words]))
    assert len(chunks) > 2
    assert " ".join(c.text for c in chunks).split() == words.split()
    for c in chunks:
        assert counter(embedder)([embedding_text(c.title, c.text)])[0] <= 128
        assert (c.first_paragraph, c.last_paragraph) == (1, 1)


def test_chunks_carry_article_metadata(embedder: Embedder) -> None:
    art = Article(
        id="x",
        title="T",
        paragraphs=("Satu.", "Dua."),
        url="https://example.org/x",
        published="2026-01-02",
        source="Kabar Contoh",
        lang="id",
    )
    (chunk,) = Chunker(counter(embedder), limit=512).chunk(art)
    assert (
        chunk.article_id,
        chunk.title,
        chunk.url,
        chunk.published,
        chunk.source,
        chunk.lang,
    ) == (
        "x",
        "T",
        "https://example.org/x",
        "2026-01-02",
        "Kabar Contoh",
        "id",
    )
    assert (chunk.first_paragraph, chunk.last_paragraph) == (1, 2)


def test_split_sentences() -> None:
    text = 'Dia berkata, "Kami siap." Lalu pergi! Benarkah? Ya… selesai.'
    assert split_sentences(text) == [
        'Dia berkata, "Kami siap."',
        "Lalu pergi!",
        "Benarkah?",
        "Ya…",
        "selesai.",
    ]


def test_invalid_limits_rejected(embedder: Embedder) -> None:
    with pytest.raises(ValueError):
        Chunker(counter(embedder), limit=8)
    with pytest.raises(ValueError):
        Chunker(counter(embedder), limit=100, target=200)
    with pytest.raises(ValueError):
        Chunker(counter(embedder), limit=100, target=0, min_words=-1)
