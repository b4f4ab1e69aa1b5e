"""`kabar search`: the ranked paragraphs for a question, as text or JSON."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from assistant.cli.options import JSON, STORE, out

MODES = ("dense", "bm25", "hybrid")  # index.search.searcher.MODES, without importing the encoder


def cmd_search(args: argparse.Namespace) -> int:
    from index.search.searcher import Filters, Searcher
    from index.settings import StoreSettings
    from index.store.dedupe import Duplicates

    searcher = Searcher.from_settings(StoreSettings.from_env(store=args.store))
    filters = Filters(
        date_from=args.date_from,
        date_to=args.date_to,
        sources=tuple(args.source or ()),
        langs=tuple(args.lang or ()),
        recency_half_life_days=args.recent,
    )
    hits = searcher.search(args.query, k=args.k, filters=filters, mode=args.mode)
    if args.json:
        out(searcher.to_json(hits))
        return 0
    copies = Duplicates.for_store(searcher.store)  # other outlets' copies of each article
    for rank, hit in enumerate(hits, 1):
        first, last = hit.paragraphs
        where = f"¶{first}" if first == last else f"¶{first}–{last}"
        meta = ", ".join(x for x in (hit.source, hit.published) if x)
        sys.stdout.write(f"{rank}. [{hit.score:.3f}] {hit.title} ({meta}) {where}\n")
        sys.stdout.write(f"   {hit.text[:300]}\n")
        also = [a.source or a.url or a.article_id for a in copies.alternates_of(hit.article_id)]
        if also:
            sys.stdout.write(f"   also in: {', '.join(also)}\n")
    return 0


def register(sub: Any) -> None:
    search = sub.add_parser(
        "search", parents=[STORE, JSON], help="find the paragraphs that match a question"
    )
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    search.add_argument(
        "--from", dest="date_from", help="only articles published on/after (YYYY-MM-DD)"
    )
    search.add_argument(
        "--to", dest="date_to", help="only articles published on/before (YYYY-MM-DD)"
    )
    search.add_argument("--source", action="append", help="only this source (repeatable)")
    search.add_argument("--lang", action="append", choices=["id", "en"], help="only this language")
    search.add_argument("--mode", choices=MODES, help="dense, bm25 or hybrid (default hybrid)")
    search.add_argument(
        "--recent", type=float, metavar="DAYS", help="favour newer articles (half-life in days)"
    )
    search.set_defaults(func=cmd_search)
