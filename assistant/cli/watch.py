"""`kabar watch`: index new entries of the followed feeds on a schedule."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from assistant.cli.options import STORE


def cmd_watch(args: argparse.Namespace) -> int:
    from index.crawl.feeds import FeedList
    from index.crawl.watch import Poller, parse_duration
    from index.settings import StoreSettings

    settings = StoreSettings.from_env(store=args.store)
    if not FeedList.for_settings(settings).urls:
        raise ValueError("no feeds to watch: add one with `kabar feeds add URL`")
    # The poll log is what `watch` is for: show it without -v.
    logging.getLogger("index.crawl.watch").setLevel(logging.INFO)
    poller = Poller(settings, parse_duration(args.every))
    try:
        poller.run(threading.Event(), polls=1 if args.once else None)
    except KeyboardInterrupt:
        return 130
    return 0


def register(sub: Any) -> None:
    watch = sub.add_parser("watch", parents=[STORE], help="index new feed entries on a schedule")
    watch.add_argument("--every", default="15m", help="interval, e.g. 30s, 15m, 1h (default 15m)")
    watch.add_argument("--once", action="store_true", help="poll once and exit")
    watch.set_defaults(func=cmd_watch)
