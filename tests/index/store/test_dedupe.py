"""Near-duplicate wire copies: detected at index time, one canonical copy searchable, the others
kept as its alternative sources, promoted when the canonical one goes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main as cli
from index.embed.embedder import Embedder
from index.indexing import Indexer
from index.ingest.sources import read_web_page
from index.records import Article, Failure
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store.chroma import Store
from index.store.dedupe import MIN_SHINGLES, THRESHOLD, Duplicates, signature, similarity
from tests.fixtures.webserver import WEB

OUTLETS = {
    "kabar-timur-pabrik-baterai.html": "Kabar Timur",
    "warta-maluku-baterai.html": "Warta Maluku",
    "suara-ternate-baterai.html": "Suara Ternate",
}


def page(name: str) -> Article:
    article = read_web_page(f"http://127.0.0.1/news/{name}", (WEB / "news" / name).read_text())
    assert isinstance(article, Article)
    return article


def test_wire_copies_are_similar_and_other_stories_are_not() -> None:
    sigs = [signature(page(name).paragraphs) for name in OUTLETS]
    assert all(s is not None for s in sigs)
    pairs = [(0, 1), (0, 2), (1, 2)]
    scores = [similarity(sigs[i], sigs[j]) for i, j in pairs]  # type: ignore[arg-type]
    assert min(scores) >= THRESHOLD, scores
    for other in ("festival-layang-layang.html", "jembatan-sungai-kapuas.html"):
        sig = signature(page(other).paragraphs)
        assert sig is None or similarity(sigs[0], sig) < 0.1  # type: ignore[arg-type]


def test_short_passages_are_never_collapsed() -> None:
    sentence = "Banjir merendam tiga kecamatan di Pekalongan pada Senin pagi."
    assert signature([sentence]) is None
    assert signature([sentence * 2]) is None  # repeated, still under MIN_SHINGLES distinct
    assert MIN_SHINGLES >= 20


@pytest.fixture
def outlets(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    for name in [*OUTLETS, "jembatan-sungai-kapuas.html"]:
        shutil.copy(WEB / "news" / name, folder / name)
    return folder


def test_index_keeps_one_copy_and_promotes_on_delete(
    outlets: Path,
    settings: StoreSettings,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store.open(settings)
    first = Indexer(store, embedder).run([outlets])
    assert (first.added, first.duplicates, first.failed) == (2, 2, [])
    canonical = page("kabar-timur-pabrik-baterai.html").id
    assert set(store.articles()) == {canonical, page("jembatan-sungai-kapuas.html").id}

    hits = Searcher(store, embedder).search("Berapa orang dipekerjakan pabrik baterai Weda?", k=5)
    assert hits[0].article_id == canonical
    assert {h.article_id for h in hits} <= set(store.articles())
    alternates = Duplicates.for_store(store).alternates_of(canonical)
    assert [a.source for a in alternates] == ["Warta Maluku", "Suara Ternate"]
    assert all(a.url and a.similarity >= THRESHOLD for a in alternates)

    again = Indexer(store, embedder).run([outlets])
    assert (again.added, again.unchanged, again.duplicates, again.chunks) == (0, 4, 0, 0)

    # `kabar search --json` shows the copies with the hit.
    monkeypatch.setattr("index.search.searcher.Embedder", lambda *args: embedder)
    store_flag = ["--store", str(settings.store)]
    code = cli.main(["search", "pabrik baterai Weda", "-k", "1", "--json", *store_flag])
    [hit] = json.loads(capsys.readouterr().out)
    assert code == 0 and hit["article_id"] == canonical
    assert [a["source"] for a in hit["alternates"]] == ["Warta Maluku", "Suara Ternate"]

    # The canonical copy is deleted: the most similar remaining copy takes its place.
    (outlets / "kabar-timur-pabrik-baterai.html").unlink()
    pruned = Indexer(store, embedder).run([outlets], prune=True)
    assert (pruned.removed, pruned.added, pruned.duplicates) == (1, 1, 1)
    ids = set(store.articles())
    assert canonical not in ids and len(ids) == 2
    successor = next(a for a in ids if "pontianak" not in a)
    assert len(Duplicates.for_store(store).alternates_of(successor)) == 1


def test_lost_sidecar_is_rebuilt(
    outlets: Path, settings: StoreSettings, embedder: Embedder
) -> None:
    store = Store.open(settings)
    Indexer(store, embedder).run([outlets])
    sidecar = settings.store / "kabar-chunks-duplicates.json"
    assert sidecar.exists()
    sidecar.unlink()
    again = Indexer(Store.open(settings), embedder).run([outlets])
    # Canonical signatures come back from the chunks; the copies are screened again, not embedded.
    assert (again.added, again.duplicates, again.chunks) == (0, 2, 0)
    assert len(json.loads(sidecar.read_text())["alternates"]) == 2


def test_copies_within_one_outlet_are_kept() -> None:
    original = page("kabar-timur-pabrik-baterai.html")
    dupes = Duplicates(None)
    assert dupes.screen(original) is None
    for source in ("Kabar Timur", None):
        copy = Article(
            id=f"again-{source}", title="", paragraphs=original.paragraphs, source=source
        )
        assert dupes.screen(copy) is None
    other = Article(id="elsewhere", title="", paragraphs=original.paragraphs, source="Lain")
    alt = dupes.screen(other)
    assert alt is not None and alt.similarity == 1.0
    assert alt.of in (original.id, "again-Kabar Timur")  # both are Kabar Timur's


def test_facqa_passages_stay_searchable(shared_data: Path) -> None:
    """FacQA is the evaluation set and repeats 53 passages under new ids (one outlet): dedupe
    must hide none of them, or questions about the repeats would lose their gold article."""
    lines = (shared_data / "news-id" / "facqa-passages.jsonl").read_text("utf-8").splitlines()
    dupes = Duplicates(None)
    hidden = 0
    for line in lines:
        record = json.loads(line)
        article = Article(
            id=record["id"], title="", paragraphs=(record["text"],), source=record["source"]
        )
        hidden += dupes.screen(article) is not None
    assert len(lines) > 1000 and hidden == 0
    assert not isinstance(page("festival-layang-layang.html"), Failure)
