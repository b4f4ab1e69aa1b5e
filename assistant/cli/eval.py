"""`kabar eval`: measure retrieval on questions with gold answers (see index/search/evaluate.py)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.cli.options import JSON, STORE
from assistant.cli.search import MODES

PER_ARTICLE = 3  # index.search.searcher.SearchConfig().per_article, shown in --help
# index.search.fusion's methods and its default, shown in --help (the CLI does not import the
# search stack to build its parser).
FUSIONS = ("learned", "weighted", "rrf")


def cmd_eval(args: argparse.Namespace) -> int:
    from index.search.evaluate import evaluate, load_questions, render
    from index.search.searcher import SearchConfig, Searcher
    from index.settings import StoreSettings

    settings = StoreSettings.from_env(store=args.store)
    questions = load_questions(Path(args.questions), args.split)
    if not questions:
        raise ValueError(f"no questions in {args.questions} (split {args.split or 'any'})")
    if args.k < 5:
        raise ValueError("--k must be at least 5 (Recall@5 is reported)")
    modes = list(dict.fromkeys(args.mode or MODES))
    config = SearchConfig()
    if args.per_article is not None:
        config = replace(config, per_article=args.per_article)
    if args.fusion is not None:
        config = replace(config, fusion=replace(config.fusion, method=args.fusion))
    details: list[dict[str, Any]] | None = None
    if args.details:  # an unwritable path fails now, not after minutes of searching
        Path(args.details).write_text("", "utf-8")
        details = []
    searcher = Searcher.from_settings(settings, config)
    report = evaluate(searcher, questions, modes, args.k, details=details)
    if details is not None:
        lines = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in details)
        Path(args.details).write_text(lines, "utf-8")
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(render(report))
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "eval", parents=[STORE, JSON], help="measure retrieval on questions with gold answers"
    )
    parser.add_argument("questions", metavar="QA.jsonl")
    parser.add_argument("--k", type=int, default=10, help="hits per question (default 10)")
    parser.add_argument(
        "--mode",
        action="append",
        choices=MODES,
        help="retrieval mode to measure, repeatable (default: all, side by side)",
    )
    parser.add_argument("--split", help="only records whose `split` field has this value")
    parser.add_argument(
        "--per-article",
        type=int,
        help=f"cap on chunks of one article in the top k (default {PER_ARTICLE})",
    )
    parser.add_argument(
        "--fusion",
        choices=FUSIONS,
        help="how hybrid mode combines dense and BM25 (default learned; weighted and rrf are the "
        "fusions it replaced, kept for comparison)",
    )
    parser.add_argument(
        "--details",
        metavar="FILE",
        help="also write each question's outcome per mode here (JSON lines: the ranks of its "
        "article, its paragraph and of any hit holding a gold answer, and the hits' articles)",
    )
    parser.set_defaults(func=cmd_eval)
