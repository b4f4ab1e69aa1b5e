"""A small JSON API beside the chat: `GET /api/search` and `POST /api/ask`, for other apps."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from assistant.web.limits import LimitError, Limits, check_date
from assistant.web.schemas import AskResponse, SearchHit
from assistant.web.services import Services
from index.search.searcher import Filters
from index.store.protocol import EmptyStoreError


class AskRequest(BaseModel):
    """The shape of a request; its sizes are checked against `Services.limits` (422 if over)."""

    question: str
    lang: str | None = Field(default=None, pattern="^(id|en)$")
    history: list[tuple[str, str]] = Field(default_factory=list)
    date_from: str | None = Field(default=None, description="YYYY-MM-DD")
    date_to: str | None = Field(default=None, description="YYYY-MM-DD")
    sources: list[str] = Field(default_factory=list)
    langs: list[str] = Field(default_factory=list)


def _filters(
    limits: Limits,
    date_from: str | None,
    date_to: str | None,
    sources: list[str],
    langs: list[str],
) -> Filters:
    return Filters(
        check_date(date_from),
        check_date(date_to),
        limits.values(sources, "outlets"),
        limits.values(langs, "languages"),
    )


def api_router(services: Services) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["kabar"])
    limits = services.limits

    @router.get("/search", response_model=list[SearchHit])
    def search(
        q: str = Query(description=f"at most {limits.question_chars} characters"),
        k: int = Query(default=5, description=f"1 to {limits.max_k}"),
        date_from: str | None = Query(default=None, alias="from", description="YYYY-MM-DD"),
        date_to: str | None = Query(default=None, alias="to", description="YYYY-MM-DD"),
        source: list[str] = Query(default=[]),  # noqa: B008 (FastAPI's idiom)
        lang: list[str] = Query(default=[]),  # noqa: B008
    ) -> list[dict[str, Any]]:
        """Ranked paragraph hits, as `kabar search --json` prints them."""
        try:
            query, k = limits.question(q), limits.k(k)
            filters = _filters(limits, date_from, date_to, source, lang)
        except LimitError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        try:
            hits = services.searcher.search(query, k=k, filters=filters)
            return services.searcher.to_json(hits)
        except EmptyStoreError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from exc

    @router.post("/ask", response_model=AskResponse)
    def ask(request: AskRequest) -> dict[str, Any]:
        """An answer with citations, as `kabar ask --json` prints it."""
        try:
            question = limits.question(request.question)
            history = limits.history(request.history)
            filters = _filters(
                limits, request.date_from, request.date_to, request.sources, request.langs
            )
        except LimitError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        try:
            answer = services.assistant.ask(question, history, lang=request.lang, filters=filters)
        except EmptyStoreError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from exc
        return answer.to_json()

    return router
