"""`kabar serve` (and `python app.py`): the web chat and JSON API on one local server."""

from __future__ import annotations

import argparse
import os
from typing import Any


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.server import parse_auth, serve
    from assistant.services import Services
    from assistant.settings import Settings

    settings = Settings.from_env(store=args.store)
    auth = parse_auth(args.auth)
    services = Services.from_settings(settings, uploads=not args.no_uploads)
    services.warm_up()
    if args.watch:  # index/watch.py: poll the followed feeds in the background
        from index.watch import Poller, parse_duration

        every = parse_duration(args.watch)
        Poller(settings.store, every, embedder=services.searcher.embedder).start()
    serve(services, args.host, args.port, auth)
    return 0


def register(sub: Any) -> None:
    env = os.environ
    serve = sub.add_parser("serve", help="start the web chat and the JSON API")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=int(env.get("KABAR_PORT", "7860")))
    serve.add_argument(
        "--store", help="index folder (default: $KABAR_STORE or ~/.local/share/kabar/store)"
    )
    serve.add_argument(
        "--auth",
        default=env.get("KABAR_AUTH"),
        metavar="USER:PASSWORD",
        help="require a login (default: $KABAR_AUTH); do this before binding beyond 127.0.0.1",
    )
    serve.add_argument(
        "--no-uploads",
        action="store_true",
        default=env.get("KABAR_UPLOADS", "1") == "0",
        help="hide the add-or-reindex tab (default: shown unless KABAR_UPLOADS=0)",
    )
    serve.add_argument(
        "--watch",
        metavar="EVERY",
        help="also index new entries of the followed feeds every EVERY (e.g. 15m)",
    )
    serve.set_defaults(func=cmd_serve)
