"""`kabar serve` (and `python app.py`): the web chat and JSON API on one local server."""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.cli.options import STORE, err

if TYPE_CHECKING:
    from assistant.settings import Settings

WARM_UP_AFTER_S = 10.0  # the model's warm-up when no browser has opened the chat by then


def settings_for(args: argparse.Namespace) -> Settings:
    """Flags over `KABAR_*` variables over defaults, resolved once in `assistant.settings`."""
    from assistant.settings import Settings

    return Settings.from_env(
        store=args.store,
        port=args.port,
        auth=args.auth,
        uploads=False if args.no_uploads else None,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.answer.local_llm import local_llm
    from assistant.web.services import Services

    # KABAR_LLM_GGUF: the local model is served while the app runs and stopped when it exits.
    with local_llm(settings_for(args)) as settings:
        from assistant.web.server import parse_auth, serve

        auth = parse_auth(settings.serve.auth)
        # The store opens on first use: with the model, once a browser has loaded the page.
        services = Services.from_settings(settings, uploads=settings.serve.uploads)
        if args.watch:  # index/crawl/watch.py: poll the followed feeds in the background
            from index.crawl.watch import Poller, parse_duration

            every = parse_duration(args.watch)
            Poller(settings.store, every, embedder=services.searcher.embedder).start()
        # The store and the model load when a browser has loaded the chat page (`build_ui`), so
        # they do not compete with Gradio's start or the page's first render; without a
        # browser, a while after the server listens.
        announce_when_ready(
            args.host,
            settings.serve.port,
            then=lambda: warm_up_later(services.warm_up),
        )
        serve(services, args.host, settings.serve.port, auth, settings.serve.allowed_hosts)
    return 0


def warm_up_later(warm_up: Callable[[], object]) -> None:
    """`warm_up` after `WARM_UP_AFTER_S`, on a daemon timer: a stopped server exits at once."""
    timer = threading.Timer(WARM_UP_AFTER_S, warm_up)
    timer.daemon = True
    timer.start()


def announce_when_ready(
    host: str, port: int, timeout: float = 300.0, then: Callable[[], object] | None = None
) -> threading.Thread:
    """Print "Kabar is serving on URL" once, when the server accepts connections, then call
    `then` (the model's warm-up).

    The line comes after pip's and the model's output in `make run`, so it is the last thing a
    new user sees before opening the browser; uvicorn's own banner is silenced (log level).
    """

    def wait() -> None:
        target = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        if not listening(target, port, timeout):
            return
        shown = f"[{host}]" if ":" in host else host
        err.print(f"Kabar is serving on http://{shown}:{port}", highlight=False, soft_wrap=True)
        if then is not None:
            then()

    thread = threading.Thread(target=wait, name="kabar-announce", daemon=True)
    thread.start()
    return thread


def listening(host: str, port: int, timeout: float, every: float = 0.2) -> bool:
    """Whether a server on `host:port` accepts connections within `timeout` seconds, asked
    every `every` seconds (`announce_when_ready`, and bench/app_startup.py's clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(every)
    return False


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", parents=[STORE], help="start the web chat and the JSON API")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: $KABAR_PORT or 7860)")
    serve.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="require a login (default: $KABAR_AUTH); do this before binding beyond 127.0.0.1",
    )
    serve.add_argument(
        "--no-uploads",
        action="store_true",
        help="hide the add-or-reindex tab (default: shown unless KABAR_UPLOADS=0)",
    )
    serve.add_argument(
        "--watch",
        metavar="EVERY",
        help="also index new entries of the followed feeds every EVERY (e.g. 15m)",
    )
    serve.set_defaults(func=cmd_serve)
