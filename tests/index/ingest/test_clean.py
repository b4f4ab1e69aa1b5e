"""Text normalisation and the data-driven boilerplate rules, checked on the rules' own examples
and on the real Detik and IndoSum records."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.ingest.clean import RULES_FILE, clean_paragraphs, clean_text, is_boilerplate, load_rules

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
NEWS_ID = SHARED_DATA / "news-id"
# Noise that must not survive cleaning anywhere in the Detik and IndoSum records.
OBVIOUS_NOISE = re.compile(
    r"(?i)SCROLL TO CONTINUE|ADVERTISEMENT|\bbaca[ _]juga\b|\bsimak(?: juga)? video\b|^simak juga\b"
)

RULES: dict[str, Any] = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))


def _source_for(rule: dict[str, Any]) -> str:
    """A source string that selects the rule's portal (general rules must work for any portal)."""
    return "example.org" if rule["portal"] == "general" else RULES["portals"][rule["portal"]][0]


def _cases(key: str) -> Iterator[Any]:
    for rule in RULES["rules"]:
        for i, example in enumerate(rule.get(key, [])):
            yield pytest.param(rule, example, id=f"{rule['name']}-{i}")


@pytest.mark.parametrize(("rule", "example"), list(_cases("examples")))
def test_rule_examples(rule: dict[str, Any], example: Any) -> None:
    if rule["kind"] == "drop":
        assert clean_paragraphs([example], _source_for(rule)) == []
    else:
        before, after = example
        assert clean_paragraphs([before], _source_for(rule)) == ([after] if after else [])


@pytest.mark.parametrize(("rule", "text"), list(_cases("keep")))
def test_rule_keeps_real_text(rule: dict[str, Any], text: str) -> None:
    assert clean_paragraphs([text], _source_for(rule)) == [clean_text(text)]


def test_every_rule_has_examples() -> None:
    assert all(rule.get("examples") for rule in RULES["rules"])


def test_portal_rules_apply_to_their_portal_and_to_unknown_sources() -> None:
    assert clean_paragraphs(["Oke"], "Kompas.com") == []
    assert clean_paragraphs(["Oke"], None) == []
    assert clean_paragraphs(["Oke"], "detik.com") == ["Oke"]
    assert is_boilerplate("Close Ads")
    assert not is_boilerplate("Close Ads", "BBC News")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('kind = "delete"\nportal = "general"', "unknown kind"),
        ('kind = "drop"\nportal = "nowhere"', "not listed in [portals]"),
    ],
)
def test_bad_rules_file_fails_loudly(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        f"[portals]\nkompas = ['kompas']\n\n[[rules]]\nname = 'x'\npattern = 'x'\n{entry}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        load_rules(path)


def test_kompas_page_chrome() -> None:
    chrome = [
        "Baca berita tanpa iklan. Gabung Kompas.com+",
        "Komentar",
        "Close Ads",
        "Bagikan artikel ini melalui",
        "Oke",
        "Login untuk memaksimalkan pengalaman mengakses Kompas.com",
        "Penulis",
        "Sumber Reuters",
        "Baca juga: Menlu AS: Rusia Bisa Serang Ukraina Sebentar Lagi",
    ]
    body = "Rusia memiliki 100.000 tentara di perbatasan, tetapi menyangkal akan menyerang Ukraina."
    assert clean_paragraphs([*chrome, body], "Kompas.com") == [body]


@pytest.mark.parametrize(
    ("raw", "fixed"),
    [
        ("JÃ³hann ViÃ°ar Ã\x8dvarsson", "Jóhann Viðar Ívarsson"),
        (
            "konsep â€œBelajar Bahasa Prancis Sambil Memasakâ€\x9d",
            "konsep “Belajar Bahasa Prancis Sambil Memasak”",
        ),
        ("Nims CafÃ©, Jakarta", "Nims Café, Jakarta"),
        ("3.320Ã\x971.490 mm", "3.320×1.490 mm"),
    ],
)
def test_mojibake_is_repaired(raw: str, fixed: str) -> None:
    assert clean_text(raw) == fixed


def test_curly_quotes_and_real_accents_are_kept() -> None:
    assert clean_text("“berani” — Jóhann") == "“berani” — Jóhann"


def test_invisible_characters_and_whitespace() -> None:
    assert (
        clean_text("\ufeffHarga\u200b naik\u200e\u00a0\u00a010 persen\n\n hari ini\t")
        == "Harga naik 10 persen hari ini"
    )


@pytest.mark.parametrize(
    ("raw", "fixed"),
    [
        ("terjadi bentrokan - bentrokan.", "terjadi bentrokan-bentrokan."),
        ("Sejak tahun 1980 - an di Kota Bau-Bau", "Sejak tahun 1980-an di Kota Bau-Bau"),
        ("dilakukan bersama - sama", "dilakukan bersama-sama"),
        ("teman - temannya datang", "teman-temannya datang"),
        ("Undang - undang Dasar", "Undang-undang Dasar"),
        ("sehari - hari", "sehari-hari"),
        ("Perundang - undangan", "Perundang-undangan"),
        ("musim ke - 12", "musim ke-12"),
        ("timnas U - 16", "timnas U-16"),
        ("layanan e - KTP", "layanan e-KTP"),
        ("se - Indonesia", "se-Indonesia"),
        ("Jakarta, CNN Indonesia - - Komisi", "Jakarta, CNN Indonesia -- Komisi"),
    ],
)
def test_tokenisation_artifacts_are_repaired(raw: str, fixed: str) -> None:
    assert clean_text(raw) == fixed


@pytest.mark.parametrize(
    "text",
    [
        "Jakarta - Pemerintah berencana memperkuat kerja sama",
        "kata dia - yang juga menjabat ketua",
        "laga Persib - Persija berakhir",
        "menang 2 - 0 atas tamunya",
        "periode 2015 - 2017",
        "klan Kardashian - Jenner",
        "Sol - gyu dan Ji - hyun",
        "Tim detikHot - detikHot",
    ],
)
def test_dashes_between_clauses_are_left_alone(text: str) -> None:
    assert clean_text(text) == text


def test_glued_detik_dateline_is_spaced() -> None:
    assert (
        clean_text("Jakarta- Komedian Bedu mengajukan cerai")
        == "Jakarta - Komedian Bedu mengajukan cerai"
    )
    assert clean_text("Jakarta - Komedian") == "Jakarta - Komedian"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_clean_text_never_raises(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned == cleaned.strip() and "  " not in cleaned


# Words, hyphens and odd spacing: what the tokenisation repairs act on.
# (Adversarial mojibake is left out: ftfy itself promises no fixed point on it.)
_TOKENS = st.sampled_from(
    [
        "sama",
        "bersama",
        "Undang",
        "undang",
        "1980",
        "an",
        "ke",
        "12",
        "U",
        "e",
        "KTP",
        "-",
        " - ",
        " - - ",
        "  ",
        "\n",
        "\u200b",
        ".",
        "Jakarta-",
        " ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS).map("".join))
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text()), st.sampled_from([None, "detik.com", "Kompas.com", "kumparan", "BBC News"])
)
def test_clean_paragraphs_never_raises(paragraphs: list[str], source: str | None) -> None:
    cleaned = clean_paragraphs(paragraphs, source)
    assert all(p and p == p.strip() for p in cleaned)


# ---------------------------------------------------------------- real Detik / IndoSum records


def _records(name: str) -> list[dict[str, Any]]:
    path = NEWS_ID / name
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def detik() -> list[dict[str, Any]]:
    return _records("detik-2025.jsonl")


@pytest.fixture(scope="module")
def indosum() -> list[dict[str, Any]]:
    return _records("indosum-dev01.jsonl")


def _paragraphs(record: dict[str, Any]) -> list[str]:
    return record["text"].split("\n\n")


def test_no_obvious_noise_survives(
    detik: list[dict[str, Any]], indosum: list[dict[str, Any]]
) -> None:
    records = detik + indosum
    assert (len(detik), len(indosum)) == (909, 750)
    before = sum(bool(OBVIOUS_NOISE.search(p)) for r in records for p in _paragraphs(r))
    left = [
        p
        for r in records
        for p in clean_paragraphs(_paragraphs(r), r["source"])
        if OBVIOUS_NOISE.search(p)
    ]
    assert before > 1000  # the data does carry the noise this test is about
    assert left == []


def test_real_noise_lines_are_dropped(
    detik: list[dict[str, Any]], indosum: list[dict[str, Any]]
) -> None:
    noise = re.compile(
        r"SCROLL TO CONTINUE WITH CONTENT|ADVERTISEMENT|Simak (?:juga )?Video|Lihat juga Video"
        r"|Saksikan Live|Baca [jJ]uga\b|Baca_Juga"
    )
    lines = {(p, r["source"]) for r in detik + indosum for p in _paragraphs(r) if noise.match(p)}
    assert len(lines) > 100
    assert [p for p, source in lines if clean_paragraphs([p], source)] == []


def test_cleaning_keeps_the_articles(
    detik: list[dict[str, Any]], indosum: list[dict[str, Any]]
) -> None:
    """Rules remove page furniture, not content: almost all characters survive."""
    records = detik + indosum
    before = sum(len(p) for r in records for p in _paragraphs(r))
    after = sum(len(p) for r in records for p in clean_paragraphs(_paragraphs(r), r["source"]))
    assert after / before > 0.96


def test_real_mojibake_and_datelines(detik: list[dict[str, Any]]) -> None:
    by_id = {r["id"]: r for r in detik}
    cleaned = " ".join(clean_paragraphs(_paragraphs(by_id["detik-8165807"]), "detik.com"))
    assert "Jóhann Viðar Ívarsson" in cleaned and "Ã" not in cleaned
    glued = [r for r in detik if re.match(r"Jakarta- ", r["text"])]
    assert glued
    for record in glued:
        assert clean_paragraphs(_paragraphs(record), "detik.com")[0].startswith("Jakarta - ")


def test_real_hyphen_artifacts(indosum: list[dict[str, Any]]) -> None:
    text = " ".join(p for r in indosum for p in clean_paragraphs(_paragraphs(r), r["source"]))
    assert "bentrokan-bentrokan" in text
    assert "bentrokan - bentrokan" not in text
