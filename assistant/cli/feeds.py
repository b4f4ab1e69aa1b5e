"""`kabar feeds add|list|remove`: the RSS/Atom feeds that `kabar index --feeds` reads."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from assistant.cli.options import STORE


def cmd_feeds(args: argparse.Namespace) -> int:
    from index.crawl.feeds import FeedList
    from index.settings import StoreSettings

    feeds = FeedList.for_settings(StoreSettings.from_env(store=args.store))
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


def register(sub: Any) -> None:
    feeds = sub.add_parser(
        "feeds", parents=[STORE], help="the RSS/Atom feeds `index --feeds` reads"
    )
    feeds.add_argument("action", choices=["add", "list", "remove"])
    feeds.add_argument("urls", nargs="*", metavar="URL")
    feeds.add_argument("--json", action="store_true", help="list as JSON")
    feeds.set_defaults(func=cmd_feeds)
