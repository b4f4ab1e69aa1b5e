"""Citation faithfulness of Kabar's answers over FacQA questions (offline composer by default).

    .venv/bin/python bench/citations.py --store /work/stores/all [--split test] [--limit N]

For each question Kabar answers (or abstains), this measures:
- `gold_in_cited`: among the answers given, the share whose cited paragraphs contain a gold
  answer string (the cited paragraph is the one of the citation's passage holding its quote);
- `gold_in_quote`: the same, counting only the quoted sentences themselves;
- `markers_resolve`: the share of `[n]` markers in answer texts that name a citation;
- `quotes_verbatim`: the share of citations whose quote occurs verbatim in their passage.
The store must hold the FacQA passages (news-id/facqa-passages.jsonl). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.answer.citations import markers  # noqa: E402
from assistant.answer.pipeline import Assistant  # noqa: E402
from assistant.records import Answer, Citation  # noqa: E402
from assistant.settings import Settings  # noqa: E402

FACQA = REPO.parent / "shared" / "data" / "qa" / "facqa.jsonl"


def normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def contains(text: str, answers: list[str]) -> bool:
    return any(normal(a) and normal(a) in normal(text) for a in answers)


def cited_paragraph(citation: Citation) -> str:
    """The paragraph of the citation's passage that holds its quote."""
    for paragraph in citation.text.split("\n\n"):
        if citation.quote in paragraph:
            return paragraph
    return ""


def judge(answer: Answer, answers: list[str]) -> dict[str, Any]:
    numbers = {c.n for c in answer.citations}
    used = markers(answer.text)
    return {
        "abstained": answer.abstained,
        "gold_in_cited": any(contains(cited_paragraph(c), answers) for c in answer.citations),
        "gold_in_quote": any(contains(c.quote, answers) for c in answer.citations),
        "markers": len(used),
        "resolved": sum(1 for n in used if n in numbers),
        "citations": len(answer.citations),
        "verbatim": sum(1 for c in answer.citations if c.quote and c.quote in c.text),
    }


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a store holding the FacQA passages")
    parser.add_argument("--split", default="test", choices=["train", "valid", "test"])
    parser.add_argument("--limit", type=int, help="only the first N questions")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in FACQA.read_text("utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["split"] == args.split][: args.limit]
    assistant = Assistant.from_settings(Settings.from_env(store=args.store))
    started = time.perf_counter()
    results = [judge(assistant.ask(r["question"]), r["answers"]) for r in rows]
    answered = [r for r in results if not r["abstained"]]
    report = {
        "store": args.store,
        "split": args.split,
        "questions": len(results),
        "answered": len(answered),
        "llm": assistant.llm is not None,
        "gold_in_cited": share(sum(r["gold_in_cited"] for r in answered), len(answered)),
        "gold_in_quote": share(sum(r["gold_in_quote"] for r in answered), len(answered)),
        "gold_in_cited_all_questions": share(
            sum(r["gold_in_cited"] for r in answered), len(results)
        ),
        "markers_resolve": share(
            sum(r["resolved"] for r in results), sum(r["markers"] for r in results)
        ),
        "quotes_verbatim": share(
            sum(r["verbatim"] for r in results), sum(r["citations"] for r in results)
        ),
        "citations_per_answer": share(sum(r["citations"] for r in answered), len(answered)),
        "seconds_per_question": round((time.perf_counter() - started) / max(len(rows), 1), 2),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
