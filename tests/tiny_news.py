"""A tiny hand-made bilingual news corpus with dates and sources, for retrieval and eval tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from index.embed import Embedder
from index.indexer import Indexer
from index.settings import StoreSettings
from index.store import Store

ARTICLES: list[dict[str, Any]] = [
    {
        "id": "garut-1",
        "title": "Banjir bandang melanda Garut",
        "published": "2025-10-01",
        "source": "Detik",
        "lang": "id",
        "text": "Banjir bandang melanda Kabupaten Garut pada Selasa malam setelah hujan deras.\n\n"
        "Sebanyak 120 rumah rusak dan 300 warga mengungsi ke masjid terdekat.",
    },
    {
        "id": "garut-2",
        "title": "Banjir kembali melanda Garut",
        "published": "2025-10-20",
        "source": "Kompas",
        "lang": "id",
        "text": "Banjir kembali melanda Kabupaten Garut, Senin, setelah Sungai Cimanuk meluap.\n\n"
        "Sebanyak 45 rumah terendam dan jalan provinsi ditutup sementara.",
    },
    {
        "id": "ferry-bali",
        "title": "Bali-Lombok ferries suspended",
        "published": "2025-09-05",
        "source": "BBC",
        "lang": "en",
        "text": "Ferry services between Bali and Lombok were suspended on Friday because of waves "
        "up to four metres high.\n\nAbout 2,000 passengers were stranded at Padang Bai port.",
    },
    {
        "id": "cabai",
        "title": "Harga cabai rawit naik",
        "published": "2025-08-01",
        "source": "Antara",
        "lang": "id",
        "text": "Harga cabai rawit di Pasar Kramat Jati naik menjadi Rp 95.000 per kilogram.\n\n"
        "Pedagang menyebut pasokan dari Jawa Tengah berkurang karena gagal panen.",
    },
    {
        "id": "rate",
        "title": "Bank Indonesia holds rate",
        "published": "2025-10-15",
        "source": "Reuters",
        "lang": "en",
        "text": "Bank Indonesia held its benchmark interest rate at 4.75% on Wednesday.\n\n"
        "The governor said inflation stayed within the central bank's target range.",
    },
    {
        "id": "timnas",
        "title": "Timnas menang atas Vietnam",
        "source": "Kompas",
        "lang": "id",
        "text": "Tim nasional Indonesia menang 2-1 atas Vietnam di Stadion Gelora Bung Karno.\n\n"
        "Gol kemenangan dicetak pada menit ke-88 lewat sundulan kapten tim.",
    },
    {
        "id": "qz7510",
        "title": "Pesawat kembali ke bandara asal",
        "published": "2025-07-12",
        "source": "Detik",
        "lang": "id",
        "text": "Penerbangan QZ7510 tujuan Makassar kembali ke Bandara Juanda karena gangguan "
        "mesin.\n\nSeluruh 164 penumpang dipindahkan ke pesawat lain.",
    },
    {
        "id": "festival",
        "title": "Festival Danau Toba digelar sepekan",
        "published": "2025-06-01",
        "source": "Antara",
        "lang": "id",
        "text": "Festival Danau Toba dibuka di Parapat dengan pawai budaya Batak.\n\n"
        "Hari kedua festival menampilkan lomba solu bolon di Danau Toba.\n\n"
        "Hari ketiga festival diisi pameran ulos dan kuliner khas Toba.\n\n"
        "Panitia festival memperkirakan 50.000 pengunjung datang ke Danau Toba.",
    },
]


def write_corpus(folder: Path, articles: list[dict[str, Any]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "news.jsonl"
    lines = [json.dumps(a, ensure_ascii=False) for a in (articles or ARTICLES)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def build_store(folder: Path, model_cache: Path, embedder: Embedder) -> StoreSettings:
    """Index the corpus with small chunks, so the four-paragraph festival story spans several."""
    settings = StoreSettings(store=folder / "store", model_cache=model_cache)
    corpus = write_corpus(folder / "news")
    report = Indexer(Store.open(settings), embedder, chunk_tokens=40).run([corpus])
    assert report.added == len(ARTICLES) and not report.failed
    return settings
