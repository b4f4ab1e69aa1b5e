"""The short answer: candidates of the asked kind, verbatim and new to the question, and the
shipped model that decides when one clearly wins."""

from __future__ import annotations

import json

import pytest

from assistant.answer.asked import candidates, expected_kind, mentions
from assistant.answer.short import FEATURES, default_model_path, gate, model

PEKALONGAN = (
    "Pemerintah Kota Pekalongan, Jawa Tengah, mulai menguji coba sistem peringatan dini banjir "
    "yang memanfaatkan 24 sensor ketinggian air di sepanjang Sungai Loji dan Sungai Bremi, "
    "Senin (9/2/2026)."
)
MILLBROOK = (
    "Millbrook City Council approved a $412 million budget for the 2026–27 financial year just "
    "after 11 p.m. on Monday, 29 June 2026, by a vote of 8 to 5."
)


def spans(kind: str, text: str, question: str) -> list[str]:
    found = [text[start:end] for start, end in candidates(kind, text, question)]
    assert all(f in text for f in found)  # verbatim slices
    return found


def test_amounts_keep_their_unit_and_leave_dates_alone() -> None:
    found = spans("number", PEKALONGAN, "Berapa sensor yang dipasang di Pekalongan?")
    assert found == ["24 sensor"]  # not "9", "2" or "2026" from the date
    price = "Harga disepakati 7,40 dolar AS per kilogram, sekitar 30 persen lebih tinggi."
    assert spans("number", price, "Berapa harga kopi?") == [
        "7,40 dolar AS per kilogram",
        "30 persen",
    ]
    assert "8 to 5" in spans("number", MILLBROOK, "By how many votes did the council pass it?")
    assert "Rp 6,8 miliar" in spans("number", "Biayanya Rp 6,8 miliar pada 2025.", "Berapa biaya?")
    assert spans("number", "Harganya Rp500 ribu.", "Berapa harganya?") == ["Rp500 ribu"]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many Shiite civilians were injured when the bridge collapsed?", "number"),
        ("Which province had the highest inflation in the month when rice prices rose?", "name"),
        ("When did the council meet?", "time"),
        ("Tahun berapa dia lahir?", "time"),
        ("Dia lahir tahun berapa?", "time"),
        ("Berapa tahun dia dipenjara?", "number"),
        ("Siapakah yang menang?", "name"),
        ("Mengapa jembatan itu ambruk?", None),
    ],
)
def test_the_first_question_word_says_what_is_asked(question: str, kind: str | None) -> None:
    assert expected_kind(question) == kind


def test_a_number_naming_a_floor_or_a_round_counts_nothing() -> None:
    fall = "Mahasiswa itu jatuh dari lantai empat gedung FISIP."
    assert spans("number", fall, "How many witnesses did the police question?") == []


def test_an_age_after_a_name_answers_only_how_old() -> None:
    arrest = "Polisi menangkap Riky Saputra (31) dan memeriksa 19 saksi."
    assert spans("number", arrest, "Berapa saksi yang diperiksa polisi?") == ["19 saksi"]
    assert "31" in spans("number", arrest, "Berapa usia Riky Saputra?")


def test_digits_inside_a_code_are_no_amount() -> None:
    # "How much marijuana …?" led with "… di terminal 1A Bandara Soekarno-Hatta …", whose "1"
    # counted as an amount, over "… membawa ganja seberat 1,4 gram …".
    airport = "Iwa K membawa ganja di terminal 1A Bandara Soekarno-Hatta saat KTT G20."
    assert spans("number", airport, "How much marijuana was Iwa K carrying?") == []
    weight = "Ia terbukti membawa ganja seberat 1,4 gram."
    assert spans("number", weight, "How much marijuana was Iwa K carrying?") == ["1,4 gram"]
    # A unit written onto the number is no code.
    laser = "The laser bridges can link offices up to 4km apart."
    assert spans("number", laser, "Sampai jarak berapa jauh jembatan laser itu?") == ["4km"]


def test_dates_are_joined_with_their_weekday() -> None:
    assert spans("time", PEKALONGAN, "Kapan uji coba dimulai?") == ["Senin (9/2/2026)"]
    assert "Monday, 29 June 2026" in spans("time", MILLBROOK, "When was the budget passed?")


def test_names_leave_out_what_the_question_says() -> None:
    found = spans("name", PEKALONGAN, "Sungai apa saja yang dipasangi sensor di Kota Pekalongan?")
    assert "Loji" in found and "Bremi" in found  # "Sungai" is the question's own word
    assert not any("Pekalongan" in f for f in found)
    chair = "Ketua koperasi, Syafrudin Alamsyah, mengatakan harga disepakati 7,40 dolar AS."
    assert spans("name", chair, "Siapa ketua koperasi kopi Kerinci?")[0] == "Syafrudin Alamsyah"


def test_nothing_new_is_no_candidate() -> None:
    assert (
        spans("number", "Pada 2025 banjir merendam rumah.", "Berapa rumah terendam pada 2025?")
        == []
    )
    assert spans("name", "Warga Pekalongan senang.", "Apa kata warga Pekalongan?") == []


def test_the_shipped_model_says_how_it_was_fitted() -> None:
    shipped = model()
    assert shipped.features == FEATURES
    calibration = json.loads(default_model_path().read_text("utf-8"))["calibration"]
    assert "bench/short_answers.py --fit" in calibration["how"]
    assert set(calibration["gates"]) == {"number", "time", "name", "cross"}
    for name in ("number", "time", "name"):
        assert gate(shipped, name) == tuple(calibration["gates"][name])
        # Shown short answers of each kind were right at least 90% of the time on dev data.
        assert calibration["dev"][name]["precision"] >= 0.9
    assert calibration["dev"]["all"]["shown"] > 0.1


@pytest.mark.parametrize("kind", ["number", "time", "name"])
def test_no_candidate_in_an_empty_sentence(kind: str) -> None:
    assert candidates(kind, "", "Berapa?") == []


def test_the_thing_asked_about_is_found_across_languages() -> None:
    assert mentions("Koperasi beranggotakan 318 petani.", "farmers")  # the glossary
    assert mentions("Koordinator Gabdem, Guntur Harahap, menyebut", "coordinated")  # a cognate
    assert mentions("by a vote of 8 to 5", "votes")
    assert not mentions("Air sungai naik.", "airport")  # a short word is not a prefix
    assert not mentions("Harga kopi naik.", "farmers")
