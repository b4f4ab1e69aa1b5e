"""Reading files and folders into Articles, and turning every kind of bad input into one Failure."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
import trafilatura

from index.ingest.sources import iter_articles
from index.records import Article, Failure

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "index" / "data" / "samples"
SAMPLE_QUESTIONS = REPO / "tests" / "data" / "sample_questions.jsonl"
SHARED_DATA = REPO.parent / "shared" / "data"

ID_TEXT = (
    "Pemerintah Kota Pekalongan mulai menguji coba sistem peringatan dini banjir yang memanfaatkan "
    "sensor ketinggian air di sepanjang sungai, Senin pagi."
)
EN_TEXT = "Millbrook City Council approved a budget of 412 million dollars after a late-night vote."


def _articles(items: list[Article | Failure]) -> list[Article]:
    return [i for i in items if isinstance(i, Article)]


def _failures(items: list[Article | Failure]) -> list[Failure]:
    return [i for i in items if isinstance(i, Failure)]


def _record(**fields: object) -> str:
    return json.dumps(fields, ensure_ascii=False)


# ---------------------------------------------------------------- bundled samples


def test_bundled_samples() -> None:
    articles = _articles(list(iter_articles([SAMPLES])))
    assert len(articles) == 10  # README.md is documentation, not an article
    assert {a.lang for a in articles} == {"id", "en"}
    assert all(a.title and a.paragraphs and a.published and a.path for a in articles)
    questions = [
        json.loads(line)
        for line in SAMPLE_QUESTIONS.read_text(encoding="utf-8").splitlines()
        if line
    ]
    assert {q["article_id"] for q in questions} <= {a.id for a in articles}


def test_html_metadata_comes_from_trafilatura() -> None:
    [article] = _articles(
        list(iter_articles([SAMPLES / "2026-06-20-perpustakaan-banjarmasin-dibuka.html"]))
    )
    assert (
        article.title
        == 'Perpustakaan Kota Banjarmasin "Pustaka Siring" Dibuka, Buka hingga Pukul 22.00'
    )
    assert article.published == "2026-06-20"
    assert article.author == "Nur Aisyah Rahmadani"
    assert article.source == "Harian Nusantara Contoh"
    assert (
        article.id
        == article.url
        == (
            "https://example.org/harian-nusantara/2026/06/20/perpustakaan-kota-banjarmasin-pustaka-siring-dibuka"
        )
    )
    body = "\n".join(article.paragraphs)
    assert article.paragraphs[0].startswith("Banjarmasin, Harian Nusantara Contoh")
    for chrome in [
        "ADVERTISEMENT",
        "SCROLL TO CONTINUE",
        "Baca juga",
        "Bagikan",
        "Komentar",
        "Terpopuler",
        "nar/ed",
    ]:
        assert chrome not in body


def test_folder_order_is_sorted_and_deterministic(tmp_path: Path) -> None:
    for name in ["b.md", "a.txt", "sub/c.txt", "sub/a.txt", "z.txt"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(f"Judul Berita Nomor {name}\n\n{ID_TEXT}\n", encoding="utf-8")
    first = [
        Path(str(a.path)).relative_to(tmp_path.resolve()).as_posix()
        for a in _articles(list(iter_articles([tmp_path])))
    ]
    second = [
        Path(str(a.path)).relative_to(tmp_path.resolve()).as_posix()
        for a in _articles(list(iter_articles([tmp_path])))
    ]
    assert first == second == ["a.txt", "b.md", "sub/a.txt", "sub/c.txt", "z.txt"]


# ---------------------------------------------------------------- ids


def test_ids_are_stable(tmp_path: Path) -> None:
    (tmp_path / "with-url.md").write_text(
        f"---\ntitle: Judul Berita Dengan URL\nurl: https://example.org/a\n---\n\n{ID_TEXT}\n",
        encoding="utf-8",
    )
    (tmp_path / "no-url.txt").write_text(f"Judul Berita Tanpa URL\n\n{ID_TEXT}\n", encoding="utf-8")
    (tmp_path / "records.jsonl").write_text(
        _record(id="rec-1", text=ID_TEXT)
        + "\n"
        + _record(url="https://example.org/b", text=ID_TEXT)
        + "\n"
        + _record(text=ID_TEXT)
        + "\n",
        encoding="utf-8",
    )
    first = [a.id for a in _articles(list(iter_articles([tmp_path])))]
    second = [a.id for a in _articles(list(iter_articles([str(tmp_path)])))]
    resolved = tmp_path.resolve()
    assert first == second
    assert first == [
        f"file:{resolved / 'no-url.txt'}",
        "rec-1",
        "https://example.org/b",
        f"file:{resolved / 'records.jsonl'}#3",
        "https://example.org/a",
    ]


def test_path_based_id_does_not_depend_on_how_the_path_is_spelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "page.txt").write_text(f"Judul Berita Tanpa URL\n\n{ID_TEXT}\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    [relative] = _articles(list(iter_articles(["page.txt"])))
    [absolute] = _articles(list(iter_articles([tmp_path / "sub" / ".." / "page.txt"])))
    assert relative.id == absolute.id == f"file:{(tmp_path / 'page.txt').resolve()}"
    assert relative.path == str((tmp_path / "page.txt").resolve())


# ---------------------------------------------------------------- records


def test_json_records(tmp_path: Path) -> None:
    path = tmp_path / "batch.json"
    path.write_text(
        json.dumps(
            [
                {
                    "id": 17,
                    "url": "https://example.org/x",
                    "published": "2025-10-21T20:43:00+07:00",
                    "source": "detik.com",
                    "lang": "id",
                    "author": "Rini",
                    "category": "news",
                    "text": f"{ID_TEXT}\n\nSCROLL TO CONTINUE WITH CONTENT\n\nBaca juga: Lain",
                },
                {"published": "10/21/2025 20:43", "lang": "xx", "text": EN_TEXT},
                {"title": "   ", "text": "   "},
                "not a record",
            ]
        ),
        encoding="utf-8",
    )
    items = list(iter_articles([path]))
    first, second = _articles(items)
    assert (first.id, first.published, first.author, first.source, first.lang) == (
        "17",
        "2025-10-21",
        "Rini",
        "detik.com",
        "id",
    )
    assert first.extra == {"category": "news"}
    assert first.paragraphs == (ID_TEXT,)
    assert (
        first.title
        == "Pemerintah Kota Pekalongan mulai menguji coba sistem peringatan dini banjir yang…"
    )
    assert (second.published, second.lang) == ("2025-10-21", "en")
    assert [f.error for f in _failures(items)] == [
        "batch.json[2]: record has no text",
        "batch.json[3]: not a JSON object",
    ]


def test_title_falls_back_to_the_first_sentence(tmp_path: Path) -> None:
    path = tmp_path / "facqa.jsonl"
    path.write_text(
        _record(id="p1", text="Warga mengungsi. Banjir setinggi satu meter merendam desa.")
        + "\n"
        + _record(id="p2", text="x" * 200),
        encoding="utf-8",
    )
    short, long = _articles(list(iter_articles([path])))
    assert short.title == "Warga mengungsi."
    assert len(long.title) <= 81 and long.title.endswith("…")


@pytest.mark.skipif(not (SHARED_DATA / "news-id").is_dir(), reason="../shared/data is not present")
def test_shared_records_read_completely() -> None:
    items = list(
        iter_articles(
            [
                SHARED_DATA / "news-id" / "detik-2025.jsonl",
                SHARED_DATA / "news-id" / "indosum-dev01.jsonl",
            ]
        )
    )
    assert _failures(items) == []
    articles = _articles(items)
    assert len(articles) == 909 + 750
    assert len({a.id for a in articles}) == len(articles)
    detik = articles[0]
    assert (
        detik.id.startswith("detik-")
        and detik.published
        and detik.url
        and set(detik.extra) == {"category", "summary"}
    )


# ---------------------------------------------------------------- a bad batch


@pytest.fixture
def bad_batch(tmp_path: Path) -> Path:
    root = tmp_path / "batch"
    (root / "sub").mkdir(parents=True)
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    )
    (root / "latin1.txt").write_bytes(
        f"Harga Tiket Konser Naik di Café Müller\n\n{EN_TEXT} Tickets cost £30.\n".encode("latin-1")
    )
    (root / "utf16.txt").write_text(f"Judul Berita Dalam UTF-16\n\n{ID_TEXT}\n", encoding="utf-16")
    (root / "bom.md").write_bytes(f"Judul Berita Dengan BOM\n\n{ID_TEXT}\n".encode("utf-8-sig"))
    (root / "records.jsonl").write_text(
        "\n".join(
            [
                _record(id="good-1", text=ID_TEXT),
                '{"id": "broken", "text": "unterminated',
                _record(
                    id="good-2",
                    text=EN_TEXT + "\u2028 Line separators are fine inside JSON strings.",
                ),
                _record(id="no-text", title="Tanpa isi"),
                _record(
                    id="chrome-only",
                    text="SCROLL TO CONTINUE WITH CONTENT\n\nBaca juga: Lain\n\nADVERTISEMENT",
                ),
            ]
        ),
        encoding="utf-8",
    )
    (root / "oversized.md").write_text("Judul\n\n" + "kata " * 300_000, encoding="utf-8")
    (root / "unclosed.html").write_text(
        "<html><head><title>Berita Tanpa Tag Penutup</title></head><body><article><p>"
        + ID_TEXT * 3
        + "<p>"
        + EN_TEXT
        + "<div><b>",
        encoding="utf-8",
    )
    (root / "deep.html").write_text(
        "<html><body>" + "<div>" * 20_000 + "<p>dalam</p>" + "</div>" * 20_000, encoding="utf-8"
    )
    (root / "berita café – ü 01.txt").write_text(
        f"Judul Berita Dengan Nama Aneh\n\n{ID_TEXT}\n", encoding="utf-8"
    )
    (root / "notes.docx").write_bytes(b"PK\x03\x04 not read")
    (root / ".hidden.txt").write_text("Judul\n\nIsi tersembunyi.", encoding="utf-8")
    (root / "README.md").write_text("# Batch\n\nA folder of test inputs.", encoding="utf-8")
    os.symlink("..", root / "sub" / "loop")
    return root


def test_bad_batch(bad_batch: Path) -> None:
    items = list(iter_articles([bad_batch], max_bytes=1_000_000))
    failures = {(Path(f.path).name, f.error) for f in _failures(items)}
    assert failures == {
        ("binary.txt", "binary.txt: binary file, not text"),
        ("deep.html", "deep.html: no article text found in the HTML"),
        ("empty.txt", "empty.txt: empty file"),
        ("oversized.md", "oversized.md: file is 1,500,007 bytes, over the 1,000,000-byte limit"),
        (
            "records.jsonl",
            "records.jsonl:2: malformed JSON (Unterminated string starting at, column 26)",
        ),
        ("records.jsonl", "records.jsonl:4: record 'no-text' has no text"),
        ("records.jsonl", "records.jsonl:5: no article text left after removing boilerplate"),
        ("loop", f"loop: symlink loop back to {bad_batch.resolve()}"),
    }
    articles = {
        Path(str(a.path)).name if a.id.startswith("file:") else a.id: a for a in _articles(items)
    }
    assert set(articles) == {
        "berita café – ü 01.txt",
        "bom.md",
        "good-1",
        "good-2",
        "latin1.txt",
        "unclosed.html",
        "utf16.txt",
    }
    assert articles["latin1.txt"].title == "Harga Tiket Konser Naik di Café Müller"
    assert "£30" in articles["latin1.txt"].paragraphs[0]
    assert articles["utf16.txt"].paragraphs == (ID_TEXT,)
    assert articles["bom.md"].title == "Judul Berita Dengan BOM"
    assert articles["berita café – ü 01.txt"].path == str(
        (bad_batch / "berita café – ü 01.txt").resolve()
    )
    assert "Line separators" in articles["good-2"].paragraphs[0]
    assert ID_TEXT in articles["unclosed.html"].paragraphs[0]


def test_bad_batch_logs_nothing_at_info(bad_batch: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        list(iter_articles([bad_batch], max_bytes=1_000_000))
    assert [r for r in caplog.records if r.name.startswith("index")] == []


def test_named_paths(tmp_path: Path) -> None:
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "self").symlink_to(tmp_path / "self")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    items = list(
        iter_articles(
            [
                tmp_path / "notes.docx",
                tmp_path / "missing.txt",
                tmp_path / "self",
                tmp_path / "gone.txt",
            ]
        )
    )
    assert [f.error for f in _failures(items)] == [
        "notes.docx: unsupported file type '.docx'"
        " (expected .htm, .html, .json, .jsonl, .md, .txt)",
        "missing.txt: no such file or directory",
        "self: symlink loop",
        "gone.txt: broken symlink",
    ]


def test_self_symlink_in_a_folder_is_reported_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        f"Judul Berita Yang Biasa Saja\n\n{ID_TEXT}\n", encoding="utf-8"
    )
    (tmp_path / "self").symlink_to(tmp_path / "self")
    items = list(iter_articles([tmp_path]))
    assert len(_articles(items)) == 1
    assert [f.error for f in _failures(items)] == ["self: symlink loop"]


def test_html_parser_crash_is_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(trafilatura, "bare_extraction", explode)
    (tmp_path / "page.html").write_text("<html><body><p>teks</p></body></html>", encoding="utf-8")
    assert list(iter_articles([tmp_path / "page.html"])) == [
        Failure(
            str(tmp_path / "page.html"),
            "page.html: HTML extraction failed (RecursionError: maximum recursion depth exceeded)",
        )
    ]
