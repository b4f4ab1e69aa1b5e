"""The Library tab's listing: an HTML table of the matching articles, the same articles offered
for deletion, and a note when a larger match is cut to `LIBRARY_ROWS`."""

from __future__ import annotations

import pytest

from assistant.answer.pipeline import Assistant
from assistant.settings import Settings
from assistant.web import catalog, ui
from assistant.web.services import Services
from assistant.web.ui_text import TEXT
from index.search.searcher import Searcher
from index.settings import StoreSettings
from tests.fixtures.tables import body_rows


@pytest.fixture(scope="module")
def services(sample_settings: StoreSettings, sample_searcher: Searcher) -> Services:
    return Services.of(
        sample_searcher, Assistant(Settings(store=sample_settings), sample_searcher), None
    )


def test_listing_is_capped_and_offers_the_rows_it_shows(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = TEXT["en"]
    everything = catalog.entries(services.searcher.store)
    assert len(everything) > 3
    monkeypatch.setattr(ui, "LIBRARY_ROWS", 3)
    table, status, chosen, _feeds, _note = ui._lister(services)("", "English")
    rows = body_rows(table)
    assert len(rows) == 3
    assert status == (
        words["lib_count"].format(shown=len(everything), total=len(everything))
        + " "
        + words["lib_capped"].format(rows=3)
    )
    ids = [value for _, value in chosen["choices"]]
    by_id = {e.article_id: e for e in everything}
    assert [by_id[i].title for i in ids] == [row[0] for row in rows]
    assert chosen["value"] is None


def test_a_narrow_search_is_not_capped(services: Services) -> None:
    words = TEXT["id"]
    table, status, chosen, _feeds, _note = ui._lister(services)("Malang", "Bahasa Indonesia")
    rows = body_rows(table)
    assert len(rows) == 1 and "Malang" in rows[0][0]
    total = len(catalog.entries(services.searcher.store))
    assert status == words["lib_count"].format(shown=1, total=total)
    assert len(chosen["choices"]) == 1
