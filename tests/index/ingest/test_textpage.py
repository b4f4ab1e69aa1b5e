"""Pages saved as plain text or Markdown: metadata lines, front matter, chrome, body paragraphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.ingest.textpage import parse_date, parse_text_page

REPO = Path(__file__).resolve().parents[3]
KOMPAS = REPO.parent / "shared" / "data" / "raw" / "kompas-2022-01-21-as-rusia-rapat-darurat.txt"
SAMPLE_MD = REPO / "index" / "data" / "samples" / "2026-02-09-pekalongan-peringatan-dini-banjir.md"


@pytest.fixture(scope="module")
def kompas_text() -> str:
    if not KOMPAS.is_file():
        pytest.skip(f"{KOMPAS} is not present")
    return KOMPAS.read_text(encoding="utf-8")


def test_kompas_page(kompas_text: str) -> None:
    page = parse_text_page(kompas_text)
    assert page.title == "Ketegangan di Ukraina Sangat Panas, AS-Rusia Gelar Rapat Darurat"
    assert page.published == "2022-01-21"
    assert page.author == "Danur Lambang Pristiandaru"
    assert page.source == "Kompas.com"
    assert len(page.paragraphs) == 13
    assert page.paragraphs[0].startswith(
        "LONDON, KOMPAS.com – Amerika Serikat (AS) dan Rusia akan menggelar rapat darurat di Jenewa"
    )
    assert page.paragraphs[-1].startswith("Awal pekan ini, Inggris mengumumkan ")


def test_kompas_page_has_no_boilerplate(kompas_text: str) -> None:
    body = "\n".join(parse_text_page(kompas_text).paragraphs)
    for chrome in [
        "Baca berita tanpa iklan",
        "Baca juga",
        "Kompas.com - 21/01/2022",
        "Danur Lambang",
        "Penulis",
        "Sumber Reuters",
        "WhatsApp",
        "Komentar",
        "Close Ads",
        "Bagikan artikel ini",
        "Login untuk",
    ]:
        assert chrome not in body
    assert "\nOke\n" not in f"\n{body}\n"


def test_front_matter() -> None:
    page = parse_text_page(
        "---\n"
        'title: "Judul: Dengan Titik Dua"\n'
        "date: 2026-02-09T08:30:00+07:00\n"
        "author: Rini Maharani\n"
        "source: Kabar Contoh\n"
        "url: https://example.org/a\n"
        "lang: id\n"
        "id: contoh-1\n"
        "category: daerah\n"
        "---\n\n"
        "# Judul: Dengan Titik Dua\n\n"
        "Paragraf pertama berita ini.\n\n"
        "Paragraf kedua berita ini.\n"
    )
    assert page.title == "Judul: Dengan Titik Dua"
    assert page.published == "2026-02-09"
    assert (page.author, page.source, page.url, page.lang, page.id) == (
        "Rini Maharani",
        "Kabar Contoh",
        "https://example.org/a",
        "id",
        "contoh-1",
    )
    assert page.extra == {"category": "daerah"}
    assert page.paragraphs == ("Paragraf pertama berita ini.", "Paragraf kedua berita ini.")


def test_bundled_sample_uses_front_matter() -> None:
    page = parse_text_page(SAMPLE_MD.read_text(encoding="utf-8"))
    assert page.title == "Pekalongan Uji Coba Sistem Peringatan Dini Banjir Berbasis Sensor Sungai"
    assert page.published == "2026-02-09"
    assert page.author == "Rini Maharani"
    assert (
        page.url
        == "https://example.org/kabar/2026/02/09/pekalongan-uji-coba-peringatan-dini-banjir"
    )
    assert len(page.paragraphs) == 6


def test_markdown_is_stripped() -> None:
    page = parse_text_page(
        "# Banjir Rendam Ratusan Rumah di Pekalongan\n\n"
        "**Pekalongan** - Banjir _merendam_ [ratusan rumah](https://example.org/x) warga"
        " ![foto](a.jpg)\n"
        "di tiga kelurahan pada Senin pagi.\n\n"
        "## Pengungsian\n\n"
        "- Sekolah dasar dijadikan posko.\n"
        "- Dapur umum dibuka.\n\n"
        "> “Air naik cepat sekali,” kata warga.\n\n"
        "---\n"
    )
    assert page.title == "Banjir Rendam Ratusan Rumah di Pekalongan"
    assert page.paragraphs == (
        "Pekalongan - Banjir merendam ratusan rumah warga di tiga kelurahan pada Senin pagi.",
        "Pengungsian",
        "Sekolah dasar dijadikan posko.",
        "Dapur umum dibuka.",
        "“Air naik cepat sekali,” kata warga.",
    )


def test_detik_style_page() -> None:
    page = parse_text_page(
        "detikHot\n\n"
        "Komedian Bedu Ajukan Cerai Talak ke Pengadilan Agama\n\n"
        "Senin, 20 Okt 2025 10:38 WIB\n\n"
        "Jakarta- Komedian Bedu mengajukan cerai talak kepada istrinya.\n\n"
        "SCROLL TO CONTINUE WITH CONTENT\n\n"
        "Sidang perdana dijadwalkan pekan depan.\n\n"
        "Simak Video 'Bedu Buka Suara soal Gugatan Cerai':\n"
    )
    assert page.title == "Komedian Bedu Ajukan Cerai Talak ke Pengadilan Agama"
    assert page.published == "2025-10-20"
    assert page.paragraphs == (
        "Jakarta - Komedian Bedu mengajukan cerai talak kepada istrinya.",
        "Sidang perdana dijadwalkan pekan depan.",
    )


@pytest.mark.parametrize(
    ("byline", "author"),
    [
        ("By Jane Doe", "Jane Doe"),
        ("Oleh: Budi Santoso", "Budi Santoso"),
        ("Penulis:\nSiti Aminah", "Siti Aminah"),
        ("Editor: Hani Anggraini", "Hani Anggraini"),
    ],
)
def test_author_lines(byline: str, author: str) -> None:
    page = parse_text_page(
        f"Harga Beras Naik Lagi di Pasar Induk\n\n{byline}\n\n"
        "Harga beras medium naik Rp 500 per kilogram.\n"
    )
    assert page.author == author
    assert page.paragraphs == ("Harga beras medium naik Rp 500 per kilogram.",)


def test_sentences_that_start_like_bylines_are_body() -> None:
    text = "Oleh karena itu, pemerintah menunda kenaikan harga.\n\nBy 2030, the city wants no cars."
    assert parse_text_page(text).paragraphs == (
        "Oleh karena itu, pemerintah menunda kenaikan harga.",
        "By 2030, the city wants no cars.",
    )


def test_page_without_title_line_keeps_its_first_paragraph() -> None:
    page = parse_text_page(
        "Pemerintah menaikkan harga BBM mulai besok pagi.\n\nKenaikan rata-rata 10 persen.\n"
    )
    assert page.title is None
    assert page.paragraphs == (
        "Pemerintah menaikkan harga BBM mulai besok pagi.",
        "Kenaikan rata-rata 10 persen.",
    )


def test_canonical_url_and_lead_source() -> None:
    page = parse_text_page(
        "Judul Berita Tentang Sesuatu Yang Penting\n\n"
        "URL: https://example.org/berita/1\n\n"
        "JAKARTA, KOMPAS.com - Isi berita pertama.\n"
    )
    assert page.url == "https://example.org/berita/1"
    assert page.source == "Kompas.com"
    assert page.paragraphs == ("JAKARTA, KOMPAS.com - Isi berita pertama.",)


def test_crlf_and_empty_input() -> None:
    assert parse_text_page("Judul Yang Cukup Panjang Sekali\r\n\r\nIsi berita.\r\n").paragraphs == (
        "Isi berita.",
    )
    empty = parse_text_page("")
    assert (empty.title, empty.paragraphs) == (None, ())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Kompas.com - 21/01/2022, 16:01 WIB", None),  # a dateline, not a bare date
        ("21/01/2022, 16:01 WIB", "2022-01-21"),
        ("Senin, 20 Okt 2025 10:38 WIB", "2025-10-20"),
        ("21 January 2022", "2022-01-21"),
        ("21 Januari 2022", "2022-01-21"),
        ("January 21, 2022", "2022-01-21"),
        ("Jan 21st, 2022", "2022-01-21"),
        ("2022-01-21", "2022-01-21"),
        ("2025-10-21T20:43:00+07:00", "2025-10-21"),
        ("2025-10-21 23:59:00Z", "2025-10-21"),
        ("2025/10/21", "2025-10-21"),
        ("10/21/2025 20:43", "2025-10-21"),
        ("3/4/2025", "2025-03-04"),
        ("31/02/2025", None),
        ("kemarin", None),
        ("", None),
    ],
)
def test_parse_date(value: str, expected: str | None) -> None:
    assert parse_date(value) == expected


def test_parse_date_dayfirst() -> None:
    assert parse_date("3/4/2025", dayfirst=True) == "2025-04-03"
    assert parse_date("21/1/2022", dayfirst=False) == "2022-01-21"  # unambiguous either way
