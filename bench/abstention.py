"""Abstention: calibrate when Kabar says "the indexed news does not answer this", and measure it.

    .venv/bin/python bench/abstention.py --store /work/stores/all              # measure
    .venv/bin/python bench/abstention.py --store /work/stores/all --calibrate  # refit, then measure

Calibration (answerable: a seeded sample of FacQA train, all of FacQA valid and its English
translations in tests/data/facqa_valid_en.jsonl, and the odd-numbered half of each direction of
the cross-lingual dev set, tests/data/xling_*.jsonl, English questions over Indonesian articles
and the reverse; unanswerable: tests/data/offcorpus_questions.jsonl) writes
assistant/answer/data/abstention.json, with the follow-up cuts of the fitted model chosen on
tests/data/followups.jsonl (see `follow_cuts`): they are probabilities of that model, so a
refit moves them. The measurement uses questions calibration never saw
(the even-numbered cross-lingual halves are reported too):
FacQA test (answerable: wrong abstentions should be at most 3%), tests/data/offcorpus_heldout.jsonl
(about events in no indexed article: abstentions should be at least 90%), the dev set
tests/data/offcorpus_varied.jsonl (150 off-corpus questions in more varied forms, a fifth of them
near misses: an indexed story, a fact it lacks; written after the calibration set, which it
abstained on 0.99 of, and not fitted on), and QuAIL's news
questions, where the unanswerable ones are on an indexed article that lacks the fact (the hard
case). The store must hold Kompas, news-id (with the FacQA passages) and news-en (with QuAIL).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.answer.abstain import (  # noqa: E402
    FEATURES,
    Abstention,
    default_path,
    fit,
    highest_cut,
    ruled_out,
)
from assistant.answer.conversation import (  # noqa: E402
    FollowCuts,
    Standalone,
    by_evidence,
    choose_cut,
    is_follow_up,
)
from assistant.answer.pipeline import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "qa"
TESTS = REPO / "tests" / "data"
# On each set of answerable calibration questions. Issue 13 allows 3% wrong abstentions on each
# answerable set (FacQA test, English FacQA, both cross-lingual directions) and asks for 90%
# abstentions on held-out off-corpus questions. Refitted on the full store (12,643 chunks), 4%
# here gave 4% wrong on English FacQA (a set bench/answers.py reports); 3%, with the cut counted
# (see `highest_cut`), gives at most 3% on each calibration set, 1.0% FacQA test, 2.7% / 2.0%
# cross-lingual and 85% held-out off-corpus abstentions (77% with the dev store's calibration at
# 4%): the stored one.
# Adding 24 bare pronoun questions ("Berapa harganya?", "Who won it?") to the off-corpus dev set
# made it worse: they look answerable to every feature, and the refit cut fell to 0.09 (48%
# held-out abstentions). Asked with no conversation, they abstain by rule instead
# (`assistant.answer.pipeline.subjectless`).
MAX_FALSE_ABSTENTION = 0.03
# tests/data/offcorpus_varied.jsonl was abstained on 0.70 (en 0.60, id 0.80) by the stop-24
# model; with the word list's retrieval and lexical evidence across languages (`coverage_x`),
# refitted, 0.70 (en 0.64, id 0.76), while the held-out set rose from 0.82 to 0.83.
# Fitting on the calibration questions plus one half of it and measuring the other (odd/even
# ids) gave 0.78 / 0.63, no better; adding any one of 14 more evidence features (the best
# sentence's sentence terms and score, the score and cosine gaps to the second article, the
# number of articles, the best sentence coverage) or cross-language interactions did not
# raise the mean of the two halves above 0.71. What the features cannot see is whether the
# article *says* the fact asked for, not just what it is about: a reader model's job.
L2S = (0.0, 0.01, 0.1, 0.3)  # L2 strengths tried by --calibrate (unless --l2 says)


def load(path: Path, **match: Any) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def half(rows: list[dict[str, Any]], odd: bool) -> list[dict[str, Any]]:
    """The odd- or even-numbered questions ("xling-en-001" is odd)."""
    return [r for r in rows if int("".join(c for c in r["id"] if c.isdigit()) or 0) % 2 == odd]


def sample(rows: list[dict[str, Any]], n: int | None, seed: int = 4) -> list[dict[str, Any]]:
    if n is None or n >= len(rows):
        return rows
    return random.Random(seed).sample(rows, n)


Found = list[dict[str, float] | None]  # None: no usable sentence at all, always abstained


CACHE: dict[str, dict[str, float] | None] = {}  # question -> features, see --cache
CACHE_PATH: list[Path] = []  # where to keep CACHE, written as it grows


def features(assistant: Assistant, rows: Sequence[dict[str, Any]]) -> Found:
    found: Found = []
    for row in rows:
        question = row["question"]
        if question not in CACHE:
            evidence = assistant.evidence(Standalone(question))
            CACHE[question] = None if ruled_out(evidence) else evidence.features()
            if CACHE_PATH and len(CACHE) % 50 == 0:
                CACHE_PATH[0].write_text(json.dumps(CACHE), "utf-8")
        found.append(CACHE[question])
    return found


def in_previous(assistant: Assistant, rows: Sequence[dict[str, Any]]) -> Found:
    """The evidence features of each question within its history's articles (what
    `Assistant.resolve` judges a follow-up by), cached like `features`."""
    found: Found = []
    for row in rows:
        key = "\n".join([row["question"], "in the articles of:", *row["history"]])
        if key not in CACHE:
            history = [(q, "") for q in row["history"]]
            evidence = assistant.evidence_in_previous(row["question"], history)
            CACHE[key] = None if evidence is None or ruled_out(evidence) else evidence.features()
        found.append(CACHE[key])
    return found


def follow_cuts(assistant: Assistant, model: Abstention) -> tuple[FollowCuts, dict[str, Any]]:
    """The follow-up cuts of `model` (see `FollowCuts`), each chosen on the questions of
    tests/data/followups.jsonl its wording puts in that group, and what they do there."""
    rows = [r for r in load(TESTS / "followups.jsonl") if by_evidence(r["question"])]
    found = in_previous(assistant, rows)
    groups: dict[str, dict[bool, list[float]]] = {"cued": {}, "plain": {}}
    for row, f in zip(rows, found, strict=True):
        group = groups["cued" if is_follow_up(row["question"]) else "plain"]
        group.setdefault(bool(row["followup"]), []).append(model.probability(f) if f else 0.0)
    cuts = {
        name: choose_cut(group.get(False, []), group.get(True, []))
        for name, group in groups.items()
    }
    # Wording that leans on the conversation lowers the bar, never raises it: fitted on one half
    # of the set, the cued cut came out 0.446 and the plain one 0.441.
    cuts["plain"] = max(cuts["plain"], cuts["cued"])
    report = {
        name: {
            "standalone_taken": sum(p >= cuts[name] for p in group.get(False, [])),
            "standalone": len(group.get(False, [])),
            "followups_missed": sum(p < cuts[name] for p in group.get(True, [])),
            "followups": len(group.get(True, [])),
        }
        for name, group in groups.items()
    }
    return FollowCuts(**cuts), report


def rate(model: Abstention, rows: Found) -> float:
    abstained = sum(1 for f in rows if f is None or model.probability(f) < model.threshold)
    return round(abstained / len(rows), 4) if rows else 0.0


def by_lang(model: Abstention, rows: Sequence[dict[str, Any]], found: Found) -> dict[str, Any]:
    report: dict[str, Any] = {"n": len(rows), "abstained": rate(model, found)}
    for lang in sorted({r.get("lang", "") for r in rows}):
        subset = [f for r, f in zip(rows, found, strict=True) if r.get("lang") == lang]
        report[f"abstained_{lang}"] = rate(model, subset)
    return report


def calibrate(
    assistant: Assistant, train_sample: int, store: str, l2s: Sequence[float] = L2S
) -> Abstention:
    facqa = DATA / "facqa.jsonl"
    answerable = {
        "facqa_train_sample": sample(load(facqa, split="train"), train_sample),
        "facqa_valid": load(facqa, split="valid"),
        "facqa_valid_en": load(TESTS / "facqa_valid_en.jsonl"),
        "xling_en_over_id_odd": half(load(TESTS / "xling_en_over_id.jsonl"), odd=True),
        "xling_id_over_en_odd": half(load(TESTS / "xling_id_over_en.jsonl"), odd=True),
    }
    unanswerable = {"offcorpus": load(TESTS / "offcorpus_questions.jsonl")}
    yes = {name: features(assistant, rows) for name, rows in answerable.items()}
    no = {name: features(assistant, rows) for name, rows in unanswerable.items()}

    def cut(model: Abstention) -> Abstention:
        # The cut must hold for every answerable set, not on average: the cross-lingual ones,
        # few and harder, would otherwise take most of the wrong abstentions. A question with
        # no usable sentence is always abstained on: it counts, at probability 0.
        cuts = [
            highest_cut([model.probability(f) if f else 0.0 for f in rows], MAX_FALSE_ABSTENTION)
            for rows in yes.values()
        ]
        return replace(model, threshold=min(cuts))

    # The L2 strength is chosen on the calibration questions too: the one whose cut abstains on
    # the most unanswerable ones (ties: the stronger). After the learned re-ranking the default
    # 0.01 abstained on 66 of the 70, 0 on 69, each within 3% of every answerable set.
    answered = [f for rows in yes.values() for f in rows if f is not None]
    unanswered = [f for rows in no.values() for f in rows if f is not None]
    fits = [
        (l2, cut(fit(answered, unanswered, MAX_FALSE_ABSTENTION, FEATURES, l2=l2))) for l2 in l2s
    ]
    l2, model = max(
        fits, key=lambda pair: (sum(rate(pair[1], found) for found in no.values()), pair[0])
    )
    cuts, on_follow_ups = follow_cuts(assistant, model)
    calibration = {
        "how": "bench/abstention.py --calibrate: logistic regression on evidence features "
        f"(classes weighted equally, L2 {l2} of {list(l2s)}: the one abstaining most on the "
        "unanswerable calibration questions), threshold = highest P(answerable) cut that "
        f"abstains on at most {MAX_FALSE_ABSTENTION:.0%} of each set of answerable calibration "
        "questions; follow-up cuts = the least costly on tests/data/followups.jsonl "
        "(assistant.answer.conversation.choose_cut)",
        "date": date.today().isoformat(),
        "store": store,
        "k": assistant.settings.k,
        "answerable": {name: len(rows) for name, rows in answerable.items()},
        "unanswerable": {name: len(rows) for name, rows in unanswerable.items()},
        "abstained_on_calibration": {
            name: rate(model, found) for name, found in {**yes, **no}.items()
        },
        "follow_ups_by_evidence": on_follow_ups,
    }
    return replace(model, follow_up=cuts, calibration=calibration)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="store with Kompas, news-id and news-en")
    parser.add_argument("--calibrate", action="store_true", help="refit the threshold first")
    parser.add_argument(
        "--store-label", help="what the store holds, recorded with the calibration (default: path)"
    )
    parser.add_argument("--train-sample", type=int, default=200, help="FacQA train questions")
    parser.add_argument(
        "--l2", type=float, nargs="+", default=list(L2S), help="L2 strengths --calibrate tries"
    )
    parser.add_argument("--quail-answerable", type=int, default=60, help="sample size (context)")
    parser.add_argument(
        "--cache", type=Path, help="keep the questions' features here (JSON) to refit quickly"
    )
    args = parser.parse_args(argv)
    if args.cache:
        CACHE_PATH.append(args.cache)
        if args.cache.exists():
            CACHE.update(json.loads(args.cache.read_text("utf-8")))
    started = time.perf_counter()
    settings = Settings.from_env(store=args.store)
    assistant = Assistant.from_settings(settings)
    if args.calibrate:
        model = calibrate(assistant, args.train_sample, args.store_label or args.store, args.l2)
        model.save(default_path())
    model = Abstention.load()
    facqa_test = load(DATA / "facqa.jsonl", split="test")
    heldout = load(TESTS / "offcorpus_heldout.jsonl")
    offcorpus = load(TESTS / "offcorpus_questions.jsonl")
    varied = load(TESTS / "offcorpus_varied.jsonl")
    quail_no = load(DATA / "quail-news-dev.jsonl", answerable=False)
    quail_yes = sample(load(DATA / "quail-news-dev.jsonl", answerable=True), args.quail_answerable)
    xling_en = half(load(TESTS / "xling_en_over_id.jsonl"), odd=False)
    xling_id = half(load(TESTS / "xling_id_over_en.jsonl"), odd=False)
    report = {
        "store": args.store,
        "threshold": model.threshold,
        "facqa_test_wrongly_abstained": by_lang(model, facqa_test, features(assistant, facqa_test)),
        "xling_en_over_id_even_wrongly_abstained": by_lang(
            model, xling_en, features(assistant, xling_en)
        ),
        "xling_id_over_en_even_wrongly_abstained": by_lang(
            model, xling_id, features(assistant, xling_id)
        ),
        "offcorpus_heldout_abstained": by_lang(model, heldout, features(assistant, heldout)),
        "offcorpus_calibration_abstained": by_lang(
            model, offcorpus, features(assistant, offcorpus)
        ),
        "offcorpus_varied_abstained": by_lang(model, varied, features(assistant, varied)),
        "quail_unanswerable_abstained": by_lang(model, quail_no, features(assistant, quail_no)),
        "quail_answerable_abstained": by_lang(model, quail_yes, features(assistant, quail_yes)),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.cache:
        args.cache.write_text(json.dumps(CACHE), "utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
