"""Property tests of cleaning and chunking: arbitrary text never raises, and chunks cover every
paragraph exactly once, in order, within the model's limit (with the real e5 tokenizer)."""

from __future__ import annotations

import itertools
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunking import Chunker, embedding_text
from index.embed.embedder import Embedder
from index.ingest.clean import clean_paragraphs, clean_text
from index.ingest.textpage import parse_text_page
from index.records import Article

# Text that looks like news some of the time and like garbage the rest: words, punctuation,
# boilerplate phrases, control and invisible characters, mojibake, CJK without spaces.
WORDS = st.sampled_from(
    [
        "Banjir",
        "Jakarta",
        "Baca juga:",
        "ADVERTISEMENT",
        "Dr.",
        "3.5",
        "Rp 1.000",
        "“kata”",
        "è",
        "Ã©",
        "\u200b",
        "\x00",
        "\r\n",
        "\n\n",
        "---",
        "title:",
        "#",
        "http://x.y/z?q=1",
        "日本語のテキスト",
        "ไทย",
        "A" * 40,
    ]
)
TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(WORDS, st.text(string.printable, max_size=12)), max_size=60).map(" ".join),
)
LONG_TOKEN = st.text(alphabet=string.ascii_letters + string.digits + "+/=", min_size=1).map(
    lambda s: s * 1500  # over the model's 512 tokens even when it is one repeated letter
)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def chunker(embedder: Embedder) -> Chunker:
    # A small target, so ordinary examples already make several chunks.
    return Chunker(lambda texts: embedder.count_tokens(texts), limit=embedder.max_tokens, target=24)


@pytest.fixture(scope="module")
def unit_chunker(embedder: Embedder) -> Chunker:
    # Paragraph units: no packing by size, short paragraphs join the next.
    return Chunker(
        lambda texts: embedder.count_tokens(texts), limit=embedder.max_tokens, target=0, min_words=5
    )


@SETTINGS
@given(TEXT)
def test_clean_text_never_raises(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned == cleaned.strip() and "\n" not in cleaned


@SETTINGS
@given(st.lists(TEXT, max_size=8), st.sampled_from([None, "detik", "kompas", "x"]))
def test_clean_paragraphs_never_raises(paragraphs: list[str], source: str | None) -> None:
    assert all(p.strip() for p in clean_paragraphs(paragraphs, source))


@SETTINGS
@given(TEXT)
def test_parse_text_page_never_raises(text: str) -> None:
    page = parse_text_page(text)
    assert all(p.strip() for p in page.paragraphs)


def assert_chunks_cover(chunker: Chunker, article: Article) -> None:
    chunks = chunker.chunk(article)
    if not article.paragraphs:
        assert chunks == []
        return
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert chunks[0].first_paragraph == 1
    assert chunks[-1].last_paragraph == len(article.paragraphs)
    for before, after in itertools.pairwise(chunks):
        assert before.first_paragraph <= before.last_paragraph
        # The next chunk starts at the next paragraph, or continues one cut at sentences.
        assert after.first_paragraph in (before.last_paragraph, before.last_paragraph + 1)
    # Every character of every paragraph is in exactly one chunk, in order (cuts are at spaces,
    # or inside a "word" longer than the model's limit).
    assert "".join("".join(c.text.split()) for c in chunks) == "".join(
        "".join(p.split()) for p in article.paragraphs
    )
    counts = chunker.count_tokens([embedding_text(c.title, c.text) for c in chunks])
    assert max(counts) <= chunker.limit


@SETTINGS
@given(st.lists(TEXT, max_size=6), TEXT)
def test_chunks_cover_cleaned_paragraphs_exactly_once(
    chunker: Chunker, raw: list[str], title: str
) -> None:
    article = Article(id="a", title=clean_text(title), paragraphs=tuple(clean_paragraphs(raw)))
    assert_chunks_cover(chunker, article)


@SETTINGS
@given(st.lists(TEXT, max_size=6), TEXT)
def test_paragraph_units_cover_cleaned_paragraphs_exactly_once(
    unit_chunker: Chunker, raw: list[str], title: str
) -> None:
    article = Article(id="a", title=clean_text(title), paragraphs=tuple(clean_paragraphs(raw)))
    assert_chunks_cover(unit_chunker, article)
    chunks = unit_chunker.chunk(article)
    # A unit takes in the next paragraph only while it is short (the last unit may also take
    # in a short final paragraph).
    for c in chunks[:-1]:
        pieces = c.text.split("\n\n")
        assert len(pieces) == 1 or sum(len(p.split()) for p in pieces[:-1]) < 5


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(TEXT, LONG_TOKEN), min_size=1, max_size=4))
def test_chunks_of_unbreakable_text_stay_under_the_limit(
    chunker: Chunker, paragraphs: list[str]
) -> None:
    """Base64 blobs, long URLs, text without spaces: cut inside the word, never truncated."""
    kept = tuple(p for p in paragraphs if p.strip())
    assert_chunks_cover(chunker, Article(id="a", title="Judul", paragraphs=kept))
