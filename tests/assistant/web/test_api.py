"""The JSON API sends what the CLI prints, in the shape its OpenAPI page documents.

`Searcher.to_json` and `Answer.to_json` write the JSON; the API's pydantic models
(`assistant.web.schemas`) only declare it. FastAPI drops fields a response model does not name,
so comparing the API's responses with the serializers' output catches a field added on one side
only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.answer.pipeline import Assistant
from assistant.settings import Settings
from assistant.web.server import create_app
from assistant.web.services import Opened, Services
from index.search.searcher import Searcher
from index.settings import StoreSettings

QUESTION = "How much did Pekalongan's flood early-warning system cost to build?"


@pytest.fixture(scope="module")
def services(sample_settings: StoreSettings, sample_searcher: Searcher) -> Services:
    settings = Settings(store=sample_settings)
    return Services.of(sample_searcher, Assistant(settings, sample_searcher), None)


@pytest.fixture(scope="module")
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as client:
        yield client


def test_search_sends_what_kabar_search_json_prints(client: TestClient, services: Services) -> None:
    response = client.get("/api/search", params={"q": QUESTION, "k": 3})
    assert response.status_code == 200, response.text
    printed = services.searcher.to_json(services.searcher.search(QUESTION, k=3))
    assert response.json() == printed
    assert printed and set(printed[0]) >= {"article_id", "paragraphs", "alternates"}


def test_ask_sends_what_kabar_ask_json_prints(client: TestClient, services: Services) -> None:
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    assert response.json() == services.assistant.ask(QUESTION, []).to_json()
    assert response.json()["citations"], "the samples answer this question"


def properties(schema: dict[str, Any], name: str) -> set[str]:
    return set(schema["components"]["schemas"][name]["properties"])


def test_the_openapi_page_documents_every_field(client: TestClient, services: Services) -> None:
    schema = client.get("/api/openapi.json").json()
    hit = services.searcher.to_json(services.searcher.search(QUESTION, k=1))[0]
    assert properties(schema, "SearchHit") == set(hit)
    answer = services.assistant.ask(QUESTION, []).to_json()
    assert properties(schema, "AskResponse") == set(answer)
    assert properties(schema, "Citation") == set(answer["citations"][0])
    search = schema["paths"]["/api/search"]["get"]["responses"]["200"]["content"]
    assert search["application/json"]["schema"]["items"]["$ref"].endswith("/SearchHit")


def test_the_page_load_opens_the_store_and_warms_the_model_once(
    sample_settings: StoreSettings,
) -> None:
    """The store opens and the model loads when a browser has loaded the chat page, not before
    the server listens (where they slowed its start and the page's first render), and once
    however many pages load; the filters then get the store's outlets."""
    from assistant.web.ui import build_ui

    opened: list[Searcher] = []

    def opener() -> Opened:
        searcher = Searcher.from_settings(sample_settings)  # its own model, not loaded yet
        opened.append(searcher)
        return Opened(searcher, Assistant(Settings(store=sample_settings), searcher), None)

    services = Services(opener, uploads=False)
    blocks = build_ui(services)
    create_app(services)
    assert opened == []  # building the page and the app opens nothing
    loads = {
        f.fn.__name__: f.fn
        for f in blocks.fns.values()
        if any(t[1] == "load" for t in f.targets)
        if f.fn
    }
    assert set(loads) == {"warm_up", "refreshed_facets"}
    loads["warm_up"]()
    loads["warm_up"]()  # a second tab
    thread = services.warm_up()
    thread.join(120)
    assert len(opened) == 1 and opened[0].embedder.loaded and services.warm_up() is thread
    outlets, langs = loads["refreshed_facets"]("English")
    assert [value for _, value in outlets["choices"]] == services.facets()["sources"]
    assert outlets["choices"] and set(langs["choices"]) == {"id", "en"}
    assert len(opened) == 1
