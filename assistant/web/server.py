"""One web server for the chat and the JSON API: FastAPI with the Gradio app mounted at `/`."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import gradio as gr
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from assistant.web.api import api_router
from assistant.web.services import Services
from assistant.web.ui import build_ui
from assistant.web.uploads import MAX_UPLOAD_BYTES

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`user:password` from KABAR_AUTH, or None when the app is open (bound to localhost)."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("KABAR_AUTH must look like user:password")
    return user, password


def _api_guard(auth: tuple[str, str] | None):  # type: ignore[no-untyped-def]
    """HTTP Basic auth for the JSON API when the chat has a login too."""
    basic = HTTPBasic(auto_error=False)

    def check(credentials: HTTPBasicCredentials | None = Depends(basic)) -> None:  # noqa: B008
        if auth is None:
            return
        ok = credentials is not None and (
            secrets.compare_digest(credentials.username, auth[0])
            and secrets.compare_digest(credentials.password, auth[1])
        )
        if not ok:
            raise HTTPException(401, "login required", headers={"WWW-Authenticate": "Basic"})

    return check


def create_app(services: Services, auth: tuple[str, str] | None = None) -> FastAPI:
    app = FastAPI(title="Kabar", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.include_router(api_router(services), dependencies=[Depends(_api_guard(auth))])
    blocks = build_ui(services)
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=auth,
        max_file_size=MAX_UPLOAD_BYTES,
        css=(STATIC / "kabar.css").read_text("utf-8"),
        js=(STATIC / "kabar.js").read_text("utf-8"),
        footer_links=["api"],
        ssr_mode=False,
        run_history=False,
    )


def serve(services: Services, host: str, port: int, auth: tuple[str, str] | None = None) -> None:
    import uvicorn

    if host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        log.warning("serving on %s without KABAR_AUTH: anyone who can reach it can use it", host)
    # Open streams (a browser tab, a queue) would otherwise hold a SIGTERM'd server up for good.
    uvicorn.run(
        create_app(services, auth),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
