"""`kabar eval`: how often the right article and the right paragraph come back, per search mode.

A question is answered at article level by the first hit from its gold article, and at paragraph
level by the first hit from that article whose text contains a gold answer. Results are broken
down by question language and by same- vs cross-language (question vs gold article).

Per question (`kabar eval --details F`), the first hit of any article that holds a gold answer is
recorded too: FacQA repeats facts across its passages ("Wakil Presiden Jusuf Kalla" is in
several), and a question whose gold passage is missed can still be answered by another one. Of
the 27 FacQA `test` questions whose gold paragraph is not in the top 5 (hybrid, all of
../shared/data), 13 have such a hit there; it is not counted as a paragraph hit, since a short
gold string ("April", "1999") can also occur by chance.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.ingest.language import detect_lang
from index.records import Hit
from index.search.searcher import Filters, Mode, Searcher
from index.store.exactness import Exactness, measure
from index.store.protocol import VectorStore

DIVERSITY_DEPTH = 5
EXACT_K = 10  # depth at which the vector index is compared with exact search


@dataclass(frozen=True)
class Question:
    """One evaluation question with its gold article and answer strings."""

    id: str
    question: str
    answers: tuple[str, ...]
    article_id: str
    lang: str


@dataclass(frozen=True)
class Outcome:
    """Where one question's gold article and gold paragraph came back (1-based), if at all."""

    question: Question
    article_rank: int | None
    paragraph_rank: int | None
    distinct_articles: int  # among the first DIVERSITY_DEPTH hits
    cross_lingual: bool
    answer_rank: int | None = None  # the first hit of any article holding a gold answer
    articles: tuple[str, ...] = ()  # the hits' articles, in rank order

    def to_json(self, mode: str) -> dict[str, Any]:
        """One line of `kabar eval --details`."""
        q = self.question
        return {
            "mode": mode,
            "id": q.id,
            "question": q.question,
            "lang": q.lang,
            "article_id": q.article_id,
            "cross_lingual": self.cross_lingual,
            "article_rank": self.article_rank,
            "paragraph_rank": self.paragraph_rank,
            "answer_rank": self.answer_rank,
            "articles": list(self.articles),
        }


def load_questions(path: Path, split: str | None = None) -> list[Question]:
    """Questions from JSONL: `question`, `answers`, `article_id`; optional `lang`, `id`, `split`."""
    questions = []
    for lineno, line in enumerate(path.read_text("utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not record["answers"] or not record["article_id"]:
                raise KeyError("answers")
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{path.name}:{lineno}: not a question record (need question, answers, article_id)"
            ) from exc
        if split is not None and record.get("split") != split:
            continue
        text = str(record["question"])
        questions.append(
            Question(
                id=str(record.get("id") or f"{path.name}:{lineno}"),
                question=text,
                answers=tuple(str(a) for a in record["answers"]),
                article_id=str(record["article_id"]),
                lang=str(record.get("lang") or detect_lang(text)),
            )
        )
    return questions


def normalise(text: str) -> str:
    """Lower case, NFKC, one space, and no space around "-" and "/": FacQA's answers are
    tokenised ("ulang tahun ke - 60"), the articles are not ("ke-60"); 18 of its 3,117 answers
    were in no paragraph of their article only for that (as `bench/answers.py` judges)."""
    text = re.sub(r"\s*([-/])\s*", r"\1", unicodedata.normalize("NFKC", text).lower())
    return " ".join(text.split())


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """Whether the text holds one of the answers, both `normalise`d."""
    normal = normalise(text)
    return any(normalise(a) and normalise(a) in normal for a in answers)


def judge(question: Question, hits: Sequence[Hit], article_lang: str | None) -> Outcome:
    article_rank = paragraph_rank = answer_rank = None
    for rank, hit in enumerate(hits, 1):
        holds = contains_answer(hit.text, question.answers)
        answer_rank = answer_rank or (rank if holds else None)
        if hit.article_id != question.article_id:
            continue
        article_rank = article_rank or rank
        if paragraph_rank is None and holds:
            paragraph_rank = rank
    return Outcome(
        question=question,
        article_rank=article_rank,
        paragraph_rank=paragraph_rank,
        distinct_articles=len({h.article_id for h in hits[:DIVERSITY_DEPTH]}),
        cross_lingual=article_lang is not None and article_lang != question.lang,
        answer_rank=answer_rank,
        articles=tuple(h.article_id for h in hits),
    )


def _level(ranks: Sequence[int | None], k: int) -> dict[str, float]:
    n = len(ranks) or 1
    cuts = sorted({cut for cut in (1, 5, k) if cut <= k})
    metrics = {f"R@{cut}": sum(1 for r in ranks if r and r <= cut) / n for cut in cuts}
    metrics[f"MRR@{k}"] = sum(1 / r for r in ranks if r and r <= k) / n
    return {name: round(value, 4) for name, value in metrics.items()}


def summarise(outcomes: Sequence[Outcome], k: int) -> dict[str, Any]:
    """Metrics at both levels plus mean distinct articles in the top 5."""
    n = len(outcomes)
    return {
        "n": n,
        "article": _level([o.article_rank for o in outcomes], k),
        "paragraph": _level([o.paragraph_rank for o in outcomes], k),
        f"articles@{DIVERSITY_DEPTH}": round(sum(o.distinct_articles for o in outcomes) / n, 3)
        if n
        else 0.0,
    }


def groups(outcomes: Sequence[Outcome]) -> dict[str, list[Outcome]]:
    """All questions, then each question language, then same- and cross-language."""
    found: dict[str, list[Outcome]] = {"all": list(outcomes)}
    for lang in sorted({o.question.lang for o in outcomes}):
        found[f"lang={lang}"] = [o for o in outcomes if o.question.lang == lang]
    found["same-language"] = [o for o in outcomes if not o.cross_lingual]
    found["cross-language"] = [o for o in outcomes if o.cross_lingual]
    return {name: group for name, group in found.items() if group}


def evaluate(
    searcher: Searcher,
    questions: Sequence[Question],
    modes: Sequence[Mode],
    k: int = 10,
    filters: Filters | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run every question in every mode (each question embedded once) and summarise; each
    question's outcome per mode is appended to `details` when given."""
    lexical = searcher.lexical
    article_langs = {row.article_id: row.lang for row in lexical.rows}
    need_vectors = any(mode != "bm25" for mode in modes)
    prepared = searcher.prepare(
        [q.question for q in questions], "hybrid" if need_vectors else "bm25"
    )
    report: dict[str, Any] = {
        "questions": len(questions),
        "k": k,
        "per_article": searcher.config.per_article,
        "fusion": searcher.config.fusion.method,
        "modes": {},
    }
    if need_vectors:
        vectors = [p.vector for p in prepared if p.vector is not None]
        report["vector_exactness"] = vector_exactness(searcher.store, vectors).to_json()
    for mode in modes:
        outcomes = [
            judge(q, searcher.run(p, k, filters, mode), article_langs.get(q.article_id))
            for q, p in zip(questions, prepared, strict=True)
        ]
        if details is not None:
            details.extend(o.to_json(mode) for o in outcomes)
        report["modes"][mode] = {
            name: summarise(group, k) for name, group in groups(outcomes).items()
        }
    return report


def vector_exactness(store: VectorStore, vectors: Sequence[np.ndarray]) -> Exactness:
    """How much of the exact top 10 (brute force over every stored vector) the store's vector
    index returns for these questions: what it misses, dense and hybrid search never see."""
    ids, matrix = store.vectors()
    questions = np.vstack(vectors) if vectors else np.zeros((0, matrix.shape[1]), np.float32)
    return measure(ids, matrix, questions, store.nearest, EXACT_K)


def render(report: dict[str, Any]) -> str:
    """A plain-text table: one row per group and mode."""
    k = report["k"]
    names = list(dict.fromkeys(["R@1", "R@5", f"R@{k}", f"MRR@{k}"]))
    header = (
        f"{'group':<16}{'mode':<8}{'n':>5}  "
        + "  ".join(f"{'art ' + m:>10}" for m in names)
        + "  "
        + "  ".join(f"{'par ' + m:>10}" for m in names)
        + f"  {'art@' + str(DIVERSITY_DEPTH):>7}"
    )
    lines = [
        f"{report['questions']} questions, k={k}, per article {report['per_article']}, "
        f"fusion {report['fusion']}"
    ]
    exactness = report.get("vector_exactness")
    if exactness:
        lines.append(
            f"vector search: recall@{EXACT_K} against exact search "
            f"{exactness[f'recall@{EXACT_K}']:.4f}, whole top {EXACT_K} for "
            f"{exactness['complete']}/{exactness['questions']} questions"
        )
    lines.append(header)
    first_mode: dict[str, Any] = next(iter(report["modes"].values()), {})
    for group in first_mode:
        for mode, by_group in report["modes"].items():
            row = by_group[group]
            cells = [f"{row['article'][m]:>10.4f}" for m in names]
            cells += [f"{row['paragraph'][m]:>10.4f}" for m in names]
            diversity = row[f"articles@{DIVERSITY_DEPTH}"]
            lines.append(
                f"{group:<16}{mode:<8}{row['n']:>5}  "
                + "  ".join(cells[: len(names)])
                + "  "
                + "  ".join(cells[len(names) :])
                + f"  {diversity:>7.3f}"
            )
    return "\n".join(lines) + "\n"
