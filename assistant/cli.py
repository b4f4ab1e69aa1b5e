"""`kabar`: index news, search it, and serve the chat, from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assistant.search import Filters, Searcher
from index.embed import Embedder
from index.indexer import Indexer, IndexReport
from index.lock import StoreBusyError, writer_lock
from index.settings import StoreSettings
from index.store import EmptyStoreError, ModelMismatchError, Store

log = logging.getLogger("kabar")
err = Console(stderr=True)

EXPECTED_ERRORS = (ModelMismatchError, EmptyStoreError, StoreBusyError, ValueError, OSError)


def _out(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def store_settings(args: argparse.Namespace) -> StoreSettings:
    return StoreSettings.from_env(store=getattr(args, "store", None))


def cmd_index(args: argparse.Namespace) -> int:
    settings = store_settings(args)
    store = Store.open(settings)
    embedder = Embedder(settings.model, settings.model_cache)
    indexer = Indexer(store, embedder, chunk_tokens=settings.chunk_tokens)
    started = time.perf_counter()
    with writer_lock(settings, timeout=args.wait):
        if args.rebuild:
            store.drop()
        if args.json:
            report = indexer.run(args.paths, prune=args.prune)
        else:
            report = _index_with_progress(indexer, args)
    elapsed = time.perf_counter() - started
    if args.json:
        _out(report.to_json())
    else:
        _print_report(report, elapsed, store.count())
    return 1 if report.failed else 0


def _index_with_progress(indexer: Indexer, args: argparse.Namespace) -> IndexReport:
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

        return indexer.run(args.paths, prune=args.prune, progress=update)


def _print_report(report: IndexReport, elapsed: float, total_chunks: int) -> None:
    err.print(
        f"[green]added {report.added}[/], updated {report.updated}, "
        f"unchanged {report.unchanged}, removed {report.removed}; "
        f"{report.chunks} chunks written, {total_chunks} in the store ({elapsed:.1f}s)"
    )
    for failure in report.failed:
        err.print(f"[red]failed[/] {failure.path}: {failure.error}", markup=True, highlight=False)


def cmd_search(args: argparse.Namespace) -> int:
    searcher = Searcher.from_settings(store_settings(args))
    filters = Filters(
        date_from=args.date_from,
        date_to=args.date_to,
        sources=tuple(args.source or ()),
        langs=tuple(args.lang or ()),
    )
    hits = searcher.search(args.query, k=args.k, filters=filters)
    if args.json:
        _out([hit.to_json() for hit in hits])
        return 0
    for rank, hit in enumerate(hits, 1):
        first, last = hit.paragraphs
        where = f"¶{first}" if first == last else f"¶{first}–{last}"
        meta = ", ".join(x for x in (hit.source, hit.published) if x)
        sys.stdout.write(f"{rank}. [{hit.score:.3f}] {hit.title} ({meta}) {where}\n")
        sys.stdout.write(f"   {hit.text[:300]}\n")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.ui import build_app

    app = build_app(Searcher.from_settings(store_settings(args)))
    app.queue().launch(server_name=args.host, server_port=args.port, show_error=True)
    return 0


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", help="index folder (default: $KABAR_STORE or ~/.local/share/kabar/store)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kabar", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="index files or folders of news articles")
    index.add_argument("paths", nargs="+", metavar="PATH")
    _add_store(index)
    index.add_argument("--prune", action="store_true", help="remove articles whose source is gone")
    index.add_argument("--rebuild", action="store_true", help="drop the store first (model change)")
    index.add_argument("--json", action="store_true", help="print one JSON summary")
    index.add_argument(
        "--wait", type=float, default=600.0, help="seconds to wait for another writer"
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
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(func=cmd_search)

    serve = sub.add_parser("serve", help="start the web chat")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7860)
    _add_store(serve)
    serve.set_defaults(func=cmd_serve)
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
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
