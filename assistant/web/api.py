"""A small JSON API beside the chat: `GET /api/search` and `POST /api/ask`, for other apps."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from assistant.web.services import Services
from index.search.searcher import Filters
from index.store.chroma import EmptyStoreError


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    lang: str | None = Field(default=None, pattern="^(id|en)$")
    history: list[tuple[str, str]] = Field(default_factory=list, max_length=20)
    date_from: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    date_to: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    sources: list[str] = Field(default_factory=list)
    langs: list[str] = Field(default_factory=list)


def api_router(services: Services) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["kabar"])

    @router.get("/search")
    def search(
        q: str = Query(min_length=1, max_length=2000),
        k: int = Query(default=5, ge=1, le=50),
        date_from: str | None = Query(default=None, alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$"),
        date_to: str | None = Query(default=None, alias="to", pattern=r"^\d{4}-\d{2}-\d{2}$"),
        source: list[str] = Query(default=[]),  # noqa: B008 (FastAPI's idiom)
        lang: list[str] = Query(default=[]),  # noqa: B008
    ) -> list[dict[str, Any]]:
        """Ranked paragraph hits, as `kabar search --json` prints them."""
        filters = Filters(date_from, date_to, tuple(source), tuple(lang))
        try:
            hits = services.searcher.search(q, k=k, filters=filters)
            return services.searcher.to_json(hits)
        except EmptyStoreError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from exc

    @router.post("/ask")
    def ask(request: AskRequest) -> dict[str, Any]:
        """An answer with citations, as `kabar ask --json` prints it."""
        filters = Filters(
            request.date_from, request.date_to, tuple(request.sources), tuple(request.langs)
        )
        try:
            answer = services.assistant.ask(
                request.question, request.history, lang=request.lang, filters=filters
            )
        except EmptyStoreError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from exc
        return answer.to_json()

    return router
