"""`kabar ask`: a cited answer from the command line, streamed, or as one JSON object."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from assistant.cli.options import JSON, LANG, STORE, out

if TYPE_CHECKING:
    from assistant.records import Answer, Citation


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
    from assistant.answer.local_llm import local_llm
    from assistant.answer.pipeline import Assistant
    from assistant.records import Answer
    from assistant.settings import Settings

    # KABAR_LLM_GGUF: a local model served for this one question, stopped on the way out.
    with local_llm(Settings.from_env(store=args.store)) as settings:
        assistant = Assistant.from_settings(settings)
        if args.json:
            out(assistant.ask(args.question, lang=args.lang).to_json())
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


def register(sub: Any) -> None:
    ask = sub.add_parser(
        "ask",
        parents=[STORE, LANG, JSON],
        help="answer a question from the indexed news, with sources",
    )
    ask.add_argument("question")
    ask.set_defaults(func=cmd_ask)
