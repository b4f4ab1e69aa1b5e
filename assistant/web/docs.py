"""The API documentation page, served entirely from installed files (no CDN, works offline).

FastAPI's default `/api/docs` loads Swagger UI from jsDelivr, so without internet it is a blank
page. `fastapi-offline` ships the Swagger UI bundle and stylesheet; Kabar serves those files
itself and points FastAPI's page builder at them.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/api/docs-assets"


def swagger_assets() -> Path:
    """The folder holding swagger-ui-bundle.js and swagger-ui.css in the installed package."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def add_offline_docs(app: FastAPI, docs_url: str = "/api/docs") -> None:
    """Serve Swagger UI at `docs_url` for the app's OpenAPI schema, from local assets only.

    Create the app with `docs_url=None` first, or FastAPI's CDN page answers at the same path.
    """
    app.mount(ASSETS_URL, StaticFiles(directory=swagger_assets()), name="kabar-docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(docs_url, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )
