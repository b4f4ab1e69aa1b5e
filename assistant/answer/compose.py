"""The offline answer: the few retrieved sentences that best answer the question, each cited.

No model writes anything here. The best-scoring sentence (see `assistant.answer.evidence`)
leads; up to
two more join it when they score nearly as well and say something new. The rest follow in
reading order (articles by their best sentence, sentences in article order); neighbouring
sentences of one paragraph share one citation. All is framed in the asker's language.
Evidence in the other language is quoted verbatim and introduced as such, e.g.
"According to the Indonesian source (Kompas.com, 2022-01-21): “…” [1]".
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.citations import Paragraph, citation, paragraphs_of
from assistant.answer.evidence import Evidence, Sentence
from assistant.answer.phrases import lang_name, phrase
from assistant.records import Citation
from index.ingest.language import detect_lang
from index.store.tokenize import Tokenizer

MAX_SENTENCES = 3
MARGIN = 0.12  # a supporting sentence scores at most this much below the best one
MAX_CHARS = 900  # quoted evidence in one answer
REDUNDANT = 0.6  # word overlap (Jaccard) above which a sentence repeats one already chosen
_WORDS = Tokenizer()


@dataclass(frozen=True)
class Composed:
    """The answer as pieces to stream (their concatenation is the text) and its citations."""

    pieces: tuple[str, ...]
    citations: tuple[Citation, ...]

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _jaccard(a: str, b: str) -> float:
    x, y = set(_WORDS.tokens(a)), set(_WORDS.tokens(b))
    return len(x & y) / len(x | y) if x and y else 0.0


def select(evidence: Evidence) -> list[Sentence]:
    """The best sentence and the near-best ones that add something, in reading order."""
    if not evidence.sentences:
        return []
    best = evidence.sentences[0]
    chosen = [best]
    size = len(best.text)
    for sentence in evidence.sentences[1:]:
        if len(chosen) == MAX_SENTENCES or sentence.score < best.score - MARGIN:
            break
        if size + len(sentence.text) > MAX_CHARS:
            continue
        if any(_jaccard(sentence.text, c.text) > REDUNDANT for c in chosen):
            continue
        chosen.append(sentence)
        size += len(sentence.text)
    first_seen: dict[int, int] = {}
    for sentence in chosen:  # chosen is best first: hits keep the order of their best sentence
        first_seen.setdefault(sentence.rank, len(first_seen))
    return sorted(chosen, key=lambda s: (first_seen[s.rank], s.position))


def _lang_of(sentence: Sentence) -> str:
    return sentence.paragraph.hit.lang or detect_lang(sentence.paragraph.text)


def _where(sentence: Sentence) -> str:
    hit = sentence.paragraph.hit
    return ", ".join(x for x in (hit.source, (hit.published or "")[:10]) if x)


def _groups(sentences: list[Sentence]) -> list[list[Sentence]]:
    """Runs of sentences that sit side by side in one paragraph: one citation covers each run,
    so the sources panel does not show the same paragraph twice."""
    groups: list[list[Sentence]] = []
    for sentence in sentences:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and last.paragraph == sentence.paragraph
            and not sentence.paragraph.text[last.end : sentence.start].strip()
        ):
            groups[-1].append(sentence)
        else:
            groups.append([sentence])
    return groups


def compose(evidence: Evidence, lang: str) -> Composed:
    """A short answer in `lang` from the selected sentences, each run followed by its `[n]`:
    every quote is exactly the text the answer shows."""
    pieces: list[str] = []
    citations: list[Citation] = []
    previous_rank: int | None = None
    groups = _groups(select(evidence))
    # The run holding the best sentence leads, so the answer opens with the fact asked for.
    groups.sort(key=lambda g: evidence.sentences[0] not in g)
    for n, group in enumerate(groups, 1):
        first = group[0]
        quote = first.paragraph.text[first.start : group[-1].end]
        citations.append(citation(n, first.paragraph, quote))
        source_lang = _lang_of(first)
        if source_lang == lang:
            if not pieces:
                pieces.append(phrase(lang, "intro"))
            pieces.append(f" {quote} [{n}]")
        else:
            if first.rank != previous_rank:
                where = _where(first)
                intro = phrase(
                    lang,
                    "source_in",
                    lang_name=lang_name(source_lang, lang),
                    where=f" ({where})" if where else "",
                )
                pieces.append(f"{' ' if pieces else ''}{intro}")
            pieces.append(f" “{quote}” [{n}]")
        previous_rank = first.rank
    if pieces:
        pieces[0] = pieces[0].lstrip()
    return Composed(tuple(pieces), tuple(citations))


def related(evidence: Evidence, limit: int = 3) -> list[Citation]:
    """The closest articles, shown when abstaining: one per article, each with its best
    sentence (or its first paragraph when no sentence qualified)."""
    best: dict[str, tuple[Paragraph, str]] = {}
    for sentence in evidence.sentences:
        best.setdefault(sentence.paragraph.hit.article_id, (sentence.paragraph, sentence.text))
    for hit in evidence.hits:
        paragraphs = paragraphs_of(hit)
        if paragraphs:
            best.setdefault(hit.article_id, (paragraphs[0], paragraphs[0].text))
    ranked = sorted(best.values(), key=lambda item: evidence.hits.index(item[0].hit))
    return [citation(n, p, quote) for n, (p, quote) in enumerate(ranked[:limit], 1)]
