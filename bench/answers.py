"""Answers that are right: is a gold answer inside the first cited quote, was the question
abstained on, and in which language was it answered (offline composer unless an LLM is set).

    .venv/bin/python bench/answers.py --store /work/stores/all              # every set
    .venv/bin/python bench/answers.py --store S --sets facqa_test,xling_en_over_id --limit 50
    .venv/bin/python bench/answers.py --store S --details /tmp/answers.jsonl  # one row a question

Sets (see `SETS`): answerable ones, where the right answer cites the gold string first and does
not abstain: FacQA `test` (reporting only; FacQA train/valid are for tuning), its English
translations (tests/data/facqa_valid_en.jsonl), both directions of the cross-lingual dev set
(tests/data/xling_*.jsonl) and QuAIL's answerable news questions (multiple choice, so their gold
string is often not in the text; context, not a target); and unanswerable ones, where Kabar must
abstain: tests/data/offcorpus_heldout.jsonl (events in no indexed article; the calibration
questions are set `offcorpus_calibration`) and QuAIL's unanswerable questions (on an indexed
article that lacks the fact). The store must hold the articles the sets ask about.

Also a test helper: `load_set`, `judge` and `summarise` work on any `Assistant`.
Prints one JSON object: per-set summaries (and the per-question rows with `--details`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from assistant.answer.pipeline import Assistant  # noqa: E402
from assistant.records import Answer  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from index.search.evaluate import contains_answer as contains  # noqa: E402 (as kabar eval judges)
from index.search.evaluate import normalise as normal  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "qa"
TESTS = REPO / "tests" / "data"
Row = dict[str, Any]


def read_jsonl(path: Path, **match: Any) -> list[Row]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def sample(rows: list[Row], n: int | None, seed: int = 13) -> list[Row]:
    """A seeded sample in the original order (the same questions every run)."""
    if n is None or n >= len(rows):
        return rows
    keep = set(random.Random(seed).sample(range(len(rows)), n))
    return [r for i, r in enumerate(rows) if i in keep]


@dataclass(frozen=True)
class QuestionSet:
    load: Callable[[], list[Row]]
    answerable: bool
    default: bool = True  # part of a run without --sets


SETS: dict[str, QuestionSet] = {
    "facqa_test": QuestionSet(lambda: read_jsonl(SHARED / "facqa.jsonl", split="test"), True),
    "facqa_valid_en": QuestionSet(lambda: read_jsonl(TESTS / "facqa_valid_en.jsonl"), True),
    "xling_en_over_id": QuestionSet(lambda: read_jsonl(TESTS / "xling_en_over_id.jsonl"), True),
    "xling_id_over_en": QuestionSet(lambda: read_jsonl(TESTS / "xling_id_over_en.jsonl"), True),
    "quail_answerable": QuestionSet(
        lambda: sample(read_jsonl(SHARED / "quail-news-dev.jsonl", answerable=True), 120), True
    ),
    "offcorpus_heldout": QuestionSet(lambda: read_jsonl(TESTS / "offcorpus_heldout.jsonl"), False),
    "quail_unanswerable": QuestionSet(
        lambda: read_jsonl(SHARED / "quail-news-dev.jsonl", answerable=False), False
    ),
    # Dev data, for tuning: not part of a default run.
    "facqa_valid": QuestionSet(
        lambda: read_jsonl(SHARED / "facqa.jsonl", split="valid"), True, default=False
    ),
    "facqa_train": QuestionSet(
        lambda: sample(read_jsonl(SHARED / "facqa.jsonl", split="train"), 300), True, False
    ),
    "offcorpus_calibration": QuestionSet(
        lambda: read_jsonl(TESTS / "offcorpus_questions.jsonl"), False, default=False
    ),
    # Off-corpus questions closer to what users ask (see bench/abstention.py): dev, not fitted.
    "offcorpus_varied": QuestionSet(
        lambda: read_jsonl(TESTS / "offcorpus_varied.jsonl"), False, default=False
    ),
}


def load_set(name: str, limit: int | None = None) -> list[Row]:
    return SETS[name].load()[:limit]


_ARTICLES = re.compile(r"\b(a|an|the)\b")


def answer_tokens(text: str) -> list[str]:
    """SQuAD-style normalisation: no punctuation, no English articles."""
    text = normal(text)
    text = "".join(" " if c in string.punctuation else c for c in text)
    return _ARTICLES.sub(" ", text).split()


def exact(short: str, answers: Sequence[str]) -> bool:
    return any(answer_tokens(short) == answer_tokens(a) for a in answers)


def f1(short: str, answers: Sequence[str]) -> float:
    """Best token F1 of the short answer against the gold strings."""
    best = 0.0
    mine = answer_tokens(short)
    for gold in answers:
        theirs = answer_tokens(gold)
        common = sum(min(mine.count(t), theirs.count(t)) for t in set(mine))
        if common:
            p, r = common / len(mine), common / len(theirs)
            best = max(best, 2 * p * r / (p + r))
    return best


# A short answer counts as right (for its precision gate) when its token F1 against a gold
# string reaches this: "84" for "84 penumpang" (0.67) is right, "2005" for "Agustus 2005" too.
RIGHT_F1 = 0.5


def judge(answer: Answer, row: Row, seconds: float = 0.0) -> Row:
    """One question's outcome; `row` needs `question`, and `answers`/`article_id` if any."""
    answers = row.get("answers") or []
    first = answer.citations[0] if answer.citations else None
    short = answer.short
    return {
        "id": row.get("id"),
        "question": row["question"],
        "lang": row.get("lang"),
        "answer_lang": answer.lang,
        "abstained": answer.abstained,
        "gold_in_first_quote": bool(first and answers and contains(first.quote, answers)),
        "gold_in_a_quote": any(contains(c.quote, answers) for c in answer.citations),
        "first_article": first.article_id if first else None,
        "right_article": bool(first and first.article_id == row.get("article_id")),
        "short": short,
        "short_exact": bool(short and exact(short, answers)),
        "short_f1": round(f1(short, answers), 3) if short else 0.0,
        "seconds": round(seconds, 3),
    }


def share(part: float, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def summarise(results: Sequence[Row], answerable: bool) -> Row:
    n = len(results)
    abstained = sum(r["abstained"] for r in results)
    summary: Row = {"n": n, "abstained": share(abstained, n)}
    langs = [r for r in results if r["lang"]]
    summary["answer_lang_matches"] = share(
        sum(r["answer_lang"] == r["lang"] for r in langs), len(langs)
    )
    if not answerable:
        return summary
    shown = [r for r in results if r["short"]]
    summary.update(
        gold_in_first_quote=share(sum(r["gold_in_first_quote"] for r in results), n),
        gold_in_a_quote=share(sum(r["gold_in_a_quote"] for r in results), n),
        right_article_first=share(sum(r["right_article"] for r in results), n),
        short_shown=share(len(shown), n),
        short_precision=share(sum(r["short_f1"] >= RIGHT_F1 for r in shown), len(shown)),
        short_exact_match_shown=share(sum(r["short_exact"] for r in shown), len(shown)),
        short_exact_match_all=share(sum(r["short_exact"] for r in results), n),
    )
    summary["wrongly_abstained"] = summary.pop("abstained")
    return summary


def run_set(assistant: Assistant, rows: Sequence[Row]) -> list[Row]:
    results = []
    for row in rows:
        started = time.perf_counter()
        answer = assistant.ask(row["question"], [(q, "") for q in row.get("history") or []])
        results.append(judge(answer, row, time.perf_counter() - started))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    defaults = ",".join(name for name, s in SETS.items() if s.default)
    parser.add_argument("--sets", default=defaults, help=f"comma-separated, of {', '.join(SETS)}")
    parser.add_argument("--limit", type=int, help="only the first N questions of each set")
    parser.add_argument("--details", type=Path, help="write the per-question rows here (JSONL)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        parser.error(f"unknown sets: {', '.join(unknown)}")
    assistant = Assistant.from_settings(Settings.from_env(store=args.store))
    started = time.perf_counter()
    report: Row = {"store": args.store, "llm": assistant.llm is not None, "sets": {}}
    details = []
    for name in names:
        results = run_set(assistant, load_set(name, args.limit))
        report["sets"][name] = summarise(results, SETS[name].answerable)
        details += [{"set": name, **r} for r in results]
    report["seconds_per_question"] = share(time.perf_counter() - started, len(details))
    emit(report, details, args.details)
    return 0


def emit(report: Row, rows: Sequence[Row], details: Path | None) -> None:
    """Print the report as JSON, and write the per-question rows to `details` if given."""
    if details:
        details.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
