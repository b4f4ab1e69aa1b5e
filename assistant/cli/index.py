"""`kabar index`: bring the index in step with files, folders, web pages and followed feeds."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.cli.options import JSON, STORE, err, out, printable

if TYPE_CHECKING:
    from index.indexing import Indexer, IndexReport
    from index.settings import StoreSettings

log = logging.getLogger("kabar")


def cmd_index(args: argparse.Namespace) -> int:
    from index.indexing import index_locked
    from index.settings import StoreSettings

    if not args.paths and not args.feeds:
        raise ValueError("give files, folders or URLs to index, or --feeds")
    settings = StoreSettings.from_env(store=args.store)
    started = time.perf_counter()
    with index_locked(
        settings, timeout=args.wait, batch_chunks=args.batch, rebuild=args.rebuild
    ) as indexer:
        report = (
            _index(settings, indexer, args)
            if args.json
            else _with_progress(settings, indexer, args)
        )
    elapsed = time.perf_counter() - started
    if args.json:
        out(report.to_json())
    else:
        _print_report(report, elapsed, indexer.store.count())
    return 1 if report.failed else 0


def _index(
    settings: StoreSettings,
    indexer: Indexer,
    args: argparse.Namespace,
    progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Files and folders go to the indexer; http(s) URLs and --feeds to the fetcher first."""
    from index.crawl.web import index_with_web, is_url

    urls = [p for p in args.paths if is_url(p)]
    paths = [p for p in args.paths if not is_url(p)]
    if not urls and not args.feeds:
        return indexer.run(paths, prune=args.prune, progress=progress)
    report, web = index_with_web(
        settings, indexer, paths, urls, args.feeds, prune=args.prune, progress=progress
    )
    log.info("web: %s", web.summary())
    return report


def _with_progress(
    settings: StoreSettings, indexer: Indexer, args: argparse.Namespace
) -> IndexReport:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

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
            f"[red]failed[/] {printable(failure.path)}: {printable(failure.error)}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )


def register(sub: Any) -> None:
    index = sub.add_parser(
        "index", parents=[STORE, JSON], help="index files, folders or web pages of news articles"
    )
    index.add_argument("paths", nargs="*", metavar="PATH|URL")
    index.add_argument("--feeds", action="store_true", help="also index every followed feed")
    index.add_argument("--prune", action="store_true", help="remove articles whose source is gone")
    index.add_argument("--rebuild", action="store_true", help="drop the store first (model change)")
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
