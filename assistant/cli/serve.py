"""`kabar serve` (and `python app.py`): the web chat and JSON API on one local server."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from assistant.cli.options import STORE

if TYPE_CHECKING:
    from assistant.settings import Settings


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
    from assistant.web.server import parse_auth, serve
    from assistant.web.services import Services

    settings = settings_for(args)
    auth = parse_auth(settings.serve.auth)
    services = Services.from_settings(settings, uploads=settings.serve.uploads)
    services.warm_up()
    if args.watch:  # index/crawl/watch.py: poll the followed feeds in the background
        from index.crawl.watch import Poller, parse_duration

        every = parse_duration(args.watch)
        Poller(settings.store, every, embedder=services.searcher.embedder).start()
    serve(services, args.host, settings.serve.port, auth)
    return 0


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
