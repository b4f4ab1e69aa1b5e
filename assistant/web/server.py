"""One web server for the chat and the JSON API: FastAPI with the Gradio app mounted at `/`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from gradio.routes import App as GradioApp
from starlette.routing import Mount

from assistant.web.api import api_router
from assistant.web.docs import add_offline_docs
from assistant.web.guard import Guard, SessionCheck, allowed_hosts_for, is_loopback
from assistant.web.services import Services
from assistant.web.ui import build_ui

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


async def _terse_422(request: Request, exc: Exception) -> JSONResponse:
    """Validation errors without the offending input: FastAPI's default echoed a 10 MB body."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(part)[:100] for part in error.get("loc", ())][:10],
            "msg": str(error.get("msg", ""))[:300],
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()[:20]
    ]
    return JSONResponse({"detail": errors}, status_code=422)


def _mounted_chat(app: FastAPI) -> GradioApp:
    return next(r.app for r in app.routes if isinstance(r, Mount) and isinstance(r.app, GradioApp))


def _gradio_session(mounted: GradioApp) -> SessionCheck:
    """Whether a request's cookies hold a login to the mounted chat (Gradio keeps the tokens
    it hands out at login in `tokens`, and names its cookies after `cookie_id`)."""
    names = [f"access-token-{mounted.cookie_id}", f"access-token-unsecure-{mounted.cookie_id}"]

    def logged_in(cookies: Mapping[str, str]) -> bool:
        return any(cookies.get(name) in mounted.tokens for name in names if cookies.get(name))

    return logged_in


def create_app(
    services: Services,
    auth: tuple[str, str] | None = None,
    allowed_hosts: frozenset[str] | None = None,
) -> FastAPI:
    """The app; `allowed_hosts` None serves any `Host` (see `guard.allowed_hosts_for`)."""
    app = FastAPI(title="Kabar", docs_url=None, openapi_url="/api/openapi.json")
    add_offline_docs(app, "/api/docs")  # Swagger UI from installed files, not a CDN
    app.include_router(api_router(services))  # its login is checked in `Guard`, before bodies
    app.add_exception_handler(RequestValidationError, _terse_422)
    blocks = build_ui(services)
    app = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        auth=auth,
        max_file_size=services.limits.upload_bytes,
        css=(STATIC / "kabar.css").read_text("utf-8"),
        js=(STATIC / "kabar.js").read_text("utf-8"),
        footer_links=["api"],
        ssr_mode=False,
        run_history=False,
    )
    # Gradio checks that a file a client names was uploaded (and copies nothing else into its
    # cache) only in an app it "launched"; mounted, it copied any server file a request named.
    # The add handler checks again itself (`uploads.received_upload`).
    blocks.has_launched = True
    chat = _mounted_chat(app)
    chat.add_exception_handler(RequestValidationError, _terse_422)
    app.add_middleware(
        Guard,
        limits=services.limits,
        auth=auth,
        allowed_hosts=allowed_hosts,
        session=_gradio_session(chat) if auth else None,
    )
    return app


def serve(
    services: Services,
    host: str,
    port: int,
    auth: tuple[str, str] | None = None,
    allowed_hosts: Iterable[str] = (),
) -> None:
    """Serve until stopped; on a loopback address only loopback `Host` names (and
    `allowed_hosts`, KABAR_ALLOWED_HOSTS) are answered."""
    import uvicorn

    if not is_loopback(host) and auth is None:
        log.warning("serving on %s without KABAR_AUTH: anyone who can reach it can use it", host)
    # Open streams (a browser tab, a queue) would otherwise hold a SIGTERM'd server up for good.
    uvicorn.run(
        create_app(services, auth, allowed_hosts_for(host, allowed_hosts)),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
