"""`kabar ask`: a cited answer from the command line, streamed, or as one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from assistant.answer import Assistant
from assistant.records import Answer, Citation
from assistant.settings import Settings


def _where(citation: Citation) -> str:
    first, last = citation.paragraphs
    paragraphs = f"¶{first}" if first == last else f"¶{first}–{last}"
    meta = ", ".join(x for x in (citation.source, citation.published, paragraphs) if x)
    return f"[{citation.n}] {citation.title or citation.article_id} ({meta})"


def _print_sources(answer: Answer) -> None:
    listed = answer.related if answer.abstained or answer.unsupported else answer.citations
    if not listed:
        return
    sys.stdout.write("\n")
    for citation in listed:
        sys.stdout.write(f"{_where(citation)}\n")
        if citation.url:
            sys.stdout.write(f"    {citation.url}\n")
        sys.stdout.write(f"    “{citation.quote}”\n")


def cmd_ask(args: argparse.Namespace) -> int:
    assistant = Assistant.from_settings(Settings.from_env(store=args.store))
    if args.json:
        answer = assistant.ask(args.question, lang=args.lang)
        sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=False, indent=2) + "\n")
        return 0
    final: Answer | None = None
    for item in assistant.stream(args.question, lang=args.lang):
        if isinstance(item, Answer):
            final = item
        else:
            sys.stdout.write(item)
            sys.stdout.flush()
    sys.stdout.write("\n")
    if final is not None:
        _print_sources(final)
    return 0


def register(subparsers: Any) -> None:
    ask = subparsers.add_parser("ask", help="answer a question from the indexed news, with sources")
    ask.add_argument("question")
    ask.add_argument(
        "--store", help="index folder (default: $KABAR_STORE or ~/.local/share/kabar/store)"
    )
    ask.add_argument(
        "--lang", choices=["id", "en"], help="answer in this language (default: the question's)"
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.set_defaults(func=cmd_ask)
