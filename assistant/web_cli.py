"""`kabar feeds add|list|remove` and `kabar watch`: following news sites from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from typing import Any

from index.feeds import FeedList
from index.settings import StoreSettings
from index.watch import Poller, parse_duration

log = logging.getLogger("kabar")


def _settings(args: argparse.Namespace) -> StoreSettings:
    return StoreSettings.from_env(store=args.store)


def cmd_feeds(args: argparse.Namespace) -> int:
    feeds = FeedList.for_settings(_settings(args))
    if args.action != "list" and not args.urls:
        raise ValueError(f"`kabar feeds {args.action}` needs at least one URL")
    if args.action == "add":
        for url in args.urls:
            added = feeds.add(url)
            sys.stderr.write(f"{'following' if added else 'already following'} {url}\n")
    elif args.action == "remove":
        missing = [url for url in args.urls if not feeds.remove(url)]
        for url in missing:
            sys.stderr.write(f"not following {url}\n")
        return 1 if missing else 0
    elif args.json:
        sys.stdout.write(json.dumps(feeds.urls, indent=2) + "\n")
    else:
        sys.stdout.write("".join(f"{url}\n" for url in feeds.urls))
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not FeedList.for_settings(settings).urls:
        raise ValueError("no feeds to watch: add one with `kabar feeds add URL`")
    # The poll log is what `watch` is for: show it without -v.
    logging.getLogger("index.watch").setLevel(logging.INFO)
    poller = Poller(settings, parse_duration(args.every))
    try:
        poller.run(threading.Event(), polls=1 if args.once else None)
    except KeyboardInterrupt:
        return 130
    return 0


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", help="index folder (default: $KABAR_STORE or ~/.local/share/kabar/store)"
    )


def register(subparsers: Any) -> None:
    """Add `kabar feeds` and `kabar watch` to the CLI."""
    feeds = subparsers.add_parser("feeds", help="the RSS/Atom feeds `index --feeds` reads")
    feeds.add_argument("action", choices=["add", "list", "remove"])
    feeds.add_argument("urls", nargs="*", metavar="URL")
    _add_store(feeds)
    feeds.add_argument("--json", action="store_true", help="list as JSON")
    feeds.set_defaults(func=cmd_feeds)

    watch = subparsers.add_parser("watch", help="index new feed entries on a schedule")
    watch.add_argument("--every", default="15m", help="interval, e.g. 30s, 15m, 1h (default 15m)")
    watch.add_argument("--once", action="store_true", help="poll once and exit")
    _add_store(watch)
    watch.set_defaults(func=cmd_watch)
