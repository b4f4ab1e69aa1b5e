"""Follow-ups by evidence, not by pronoun: which questions are rewritten with the conversation's
context, and does a real follow-up reach the right article?

    .venv/bin/python bench/followups.py --store /work/stores/all [--limit N] [--details F]

tests/data/followups.jsonl holds 100 real follow-ups (their history is the question(s) before
them, about the same article) and 200 standalone questions in both languages, many with
it/its/this/itu/ini/-nya used normally, asked after a distracting history about another
article. Targets: at most 2% of the standalone questions rewritten (`standalone_rewritten`),
at least 90% of the follow-ups answered from the right article first (`followups_resolved`).
Rows are also summarised by half (odd/even id number), so a margin tuned on one half can be
checked on the other. The store must hold the articles the questions are about.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from assistant.answer.pipeline import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bench.answers import TESTS, emit, judge, read_jsonl, share  # noqa: E402

Row = dict[str, Any]


def run(assistant: Assistant, rows: Sequence[Row]) -> list[Row]:
    results = []
    for row in rows:
        started = time.perf_counter()
        answer = assistant.ask(row["question"], [(q, "") for q in row["history"]])
        result = judge(answer, row, time.perf_counter() - started)
        result["followup"] = row["followup"]
        result["rewritten"] = answer.standalone_question != row["question"]
        result["searched"] = answer.standalone_question
        results.append(result)
    return results


def summarise(results: Sequence[Row]) -> Row:
    follow = [r for r in results if r["followup"]]
    alone = [r for r in results if not r["followup"]]
    return {
        "followups": len(follow),
        "followups_rewritten": share(sum(r["rewritten"] for r in follow), len(follow)),
        "followups_resolved": share(
            sum(r["right_article"] and not r["abstained"] for r in follow), len(follow)
        ),
        "followups_gold_in_first_quote": share(
            sum(r["gold_in_first_quote"] for r in follow), len(follow)
        ),
        "standalone": len(alone),
        "standalone_rewritten": share(sum(r["rewritten"] for r in alone), len(alone)),
        "standalone_right_article": share(
            sum(r["right_article"] and not r["abstained"] for r in alone), len(alone)
        ),
    }


def half(row: Row) -> str:
    digits = "".join(c for c in str(row["id"]) if c.isdigit())
    return "odd" if int(digits or 0) % 2 else "even"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--limit", type=int, help="only the first N of each kind")
    parser.add_argument("--details", type=Path, help="write the per-question rows here (JSONL)")
    args = parser.parse_args(argv)
    rows = read_jsonl(TESTS / "followups.jsonl")
    rows = [r for r in rows if r["followup"]][: args.limit] + [
        r for r in rows if not r["followup"]
    ][: args.limit]
    assistant = Assistant.from_settings(Settings.from_env(store=args.store))
    started = time.perf_counter()
    results = run(assistant, rows)
    report = {
        "store": args.store,
        "questions": len(results),
        **summarise(results),
        "by_half": {
            name: summarise([r for r in results if half(r) == name]) for name in ("odd", "even")
        },
        "seconds_per_question": share(time.perf_counter() - started, len(results)),
    }
    emit(report, results, args.details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
