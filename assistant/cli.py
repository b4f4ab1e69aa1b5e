"""`kabar`: index news, search it, and serve the chat, from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assistant import answer_cli, evaluate, serve_cli, web_cli
from assistant.search import MODES, Filters, Searcher
from index.dedupe import Duplicates
from index.embed import Embedder
from index.indexer import Indexer, IndexReport
from index.lock import StoreBusyError, writer_lock
from index.settings import StoreSettings
from index.store import EmptyStoreError, ModelMismatchError, Store
from index.web import index_with_web, is_url

log = logging.getLogger("kabar")
err = Console(stderr=True)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
EXPECTED_ERRORS = (ModelMismatchError, EmptyStoreError, StoreBusyError, ValueError, OSError)


def _out(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def store_settings(args: argparse.Namespace) -> StoreSettings:
    return StoreSettings.from_env(store=getattr(args, "store", None))


def cmd_index(args: argparse.Namespace) -> int:
    if not args.paths and not args.feeds:
        raise ValueError("give files, folders or URLs to index, or --feeds")
    settings = store_settings(args)
    store = Store.open(settings)
    embedder = Embedder(settings.model, settings.model_cache)
    indexer = Indexer(store, embedder, chunk_tokens=settings.chunk_tokens, batch_chunks=args.batch)
    started = time.perf_counter()
    with writer_lock(settings, timeout=args.wait):
        if args.rebuild:
            store.drop()
        if args.json:
            report = _index(settings, indexer, args)
        else:
            report = _index_with_progress(settings, indexer, args)
    elapsed = time.perf_counter() - started
    if args.json:
        _out(report.to_json())
    else:
        _print_report(report, elapsed, store.count())
    return 1 if report.failed else 0


def _index(
    settings: StoreSettings,
    indexer: Indexer,
    args: argparse.Namespace,
    progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Files and folders go to the indexer; http(s) URLs and --feeds to the fetcher first."""
    urls = [p for p in args.paths if is_url(p)]
    paths = [p for p in args.paths if not is_url(p)]
    if not urls and not args.feeds:
        return indexer.run(paths, prune=args.prune, progress=progress)
    report, web = index_with_web(
        settings, indexer, paths, urls, args.feeds, prune=args.prune, progress=progress
    )
    log.info("web: %s", web.summary())
    return report


def _index_with_progress(
    settings: StoreSettings, indexer: Indexer, args: argparse.Namespace
) -> IndexReport:
    columns = (
        TextColumn("[bold]indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("articles"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("index", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return _index(settings, indexer, args, update)


def _print_report(report: IndexReport, elapsed: float, total_chunks: int) -> None:
    err.print(
        f"[green]added {report.added}[/], updated {report.updated}, "
        f"unchanged {report.unchanged}, removed {report.removed}, "
        f"near-duplicates {report.duplicates}; "
        f"{report.chunks} chunks written, {total_chunks} in the store ({elapsed:.1f}s)"
    )
    for failure in report.failed:
        # One line per bad input, however long or odd its name (scripts grep this).
        err.print(
            f"[red]failed[/] {_printable(failure.path)}: {_printable(failure.error)}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )


def _printable(text: str) -> str:
    """A file name or message on one line and not read as markup: control characters escaped."""
    return escape(_CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text))


def cmd_search(args: argparse.Namespace) -> int:
    searcher = Searcher.from_settings(store_settings(args))
    filters = Filters(
        date_from=args.date_from,
        date_to=args.date_to,
        sources=tuple(args.source or ()),
        langs=tuple(args.lang or ()),
        recency_half_life_days=args.recent,
    )
    hits = searcher.search(args.query, k=args.k, filters=filters, mode=args.mode)
    copies = Duplicates.for_store(searcher.store)  # other outlets' copies of each article
    if args.json:
        _out(
            [
                {**hit.to_json(), "alternates": copies.citation_sources(hit.article_id)}
                for hit in hits
            ]
        )
        return 0
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


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", help="index folder (default: $KABAR_STORE or ~/.local/share/kabar/store)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kabar", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="index files, folders or web pages of news articles")
    index.add_argument("paths", nargs="*", metavar="PATH|URL")
    index.add_argument("--feeds", action="store_true", help="also index every followed feed")
    _add_store(index)
    index.add_argument("--prune", action="store_true", help="remove articles whose source is gone")
    index.add_argument("--rebuild", action="store_true", help="drop the store first (model change)")
    index.add_argument("--json", action="store_true", help="print one JSON summary")
    index.add_argument(
        "--wait", type=float, default=600.0, help="seconds to wait for another writer"
    )
    index.add_argument(
        "--batch",
        type=int,
        default=512,
        metavar="CHUNKS",
        help="chunks embedded and written at a time (default 512; smaller uses less memory)",
    )
    index.set_defaults(func=cmd_index)

    search = sub.add_parser("search", help="find the paragraphs that match a question")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    _add_store(search)
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
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(func=cmd_search)

    serve_cli.register(sub)
    evaluate.register(sub)
    answer_cli.register(sub)
    web_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except EXPECTED_ERRORS as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
