"""The offline answer: the few retrieved sentences that best answer the question, each cited.

No model writes anything here. The sentence that answers leads: the one holding the short
answer when a number, date or name clearly wins (see `assistant.answer.short`; it is then stated
first, "Short answer: Rp 6,8 miliar [1]."), else the best-scoring sentence (see
`assistant.answer.evidence`). Up to two more join it when they score nearly as well and say
something new, from the same article, unless another article's sentence holds question words the
chosen ones lack and something of the kind asked for (a cited fact the question asked for, not a
stray quote). They follow in reading order (sentences in article order); neighbouring sentences
of one paragraph share one citation. All is framed in the asker's language. Evidence in the
other language is quoted verbatim and introduced as such, e.g.
"According to the Indonesian source (Kompas.com, 2022-01-21): “…” [1]".
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.citations import Paragraph, citation, paragraphs_of
from assistant.answer.evidence import Evidence, Sentence, answers_kind, expected_kind
from assistant.answer.phrases import lang_name, phrase
from assistant.answer.short import Short, short_answer
from assistant.records import Citation
from index.ingest.language import detect_lang
from index.store.tokenize import Tokenizer

MAX_SENTENCES = 3
MARGIN = 0.2  # a supporting sentence scores at most this much below the best one
MAX_CHARS = 900  # quoted evidence in one answer
REDUNDANT = 0.6  # word overlap (Jaccard) above which a sentence repeats one already chosen
_WORDS = Tokenizer()


@dataclass(frozen=True)
class Composed:
    """The answer as pieces to stream (their concatenation is the text) and its citations."""

    pieces: tuple[str, ...]
    citations: tuple[Citation, ...]
    short: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def _jaccard(a: str, b: str) -> float:
    x, y = set(_WORDS.tokens(a)), set(_WORDS.tokens(b))
    return len(x & y) / len(x | y) if x and y else 0.0


def _adds_asked_fact(sentence: Sentence, chosen: list[Sentence], question: str) -> bool:
    """Does a sentence of another article hold what the question asks for that the chosen
    sentences lack: question words of its own and something of the asked kind?"""
    asked = set(_WORDS.tokens(question))
    have = {w for c in chosen for w in _WORDS.tokens(c.text)}
    new = (asked & set(_WORDS.tokens(sentence.text))) - have
    kind = expected_kind(question)
    words = {w.lower() for w in question.split()}
    return bool(new) and (kind is None or answers_kind(kind, sentence.text, words))


def select(evidence: Evidence, lead: Sentence | None = None) -> list[Sentence]:
    """The lead sentence (the best one unless given), then the near-best ones that add
    something in reading order, the lead's article first."""
    if not evidence.sentences:
        return []
    best = evidence.sentences[0]
    lead = lead or best
    chosen = [lead]
    size = len(lead.text)
    article = lead.paragraph.hit.article_id
    for sentence in evidence.sentences:
        if len(chosen) == MAX_SENTENCES or sentence.score < best.score - MARGIN:
            break
        if sentence == lead or size + len(sentence.text) > MAX_CHARS:
            continue
        if any(_jaccard(sentence.text, c.text) > REDUNDANT for c in chosen):
            continue
        other = sentence.paragraph.hit.article_id != article
        if other and not _adds_asked_fact(sentence, chosen, evidence.question):
            continue
        chosen.append(sentence)
        size += len(sentence.text)
    first_seen: dict[str, int] = {}
    for sentence in chosen:  # lead first, then articles in the order of their best sentence
        first_seen.setdefault(sentence.paragraph.hit.article_id, len(first_seen))
    return sorted(
        chosen,
        key=lambda s: (s != lead, first_seen[s.paragraph.hit.article_id], s.rank, s.position),
    )


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
    previous_article: str | None = None
    short: Short | None = short_answer(evidence)
    lead = short.sentence if short else (evidence.sentences[0] if evidence.sentences else None)
    chosen = select(evidence, lead)
    articles = list(dict.fromkeys(s.paragraph.hit.article_id for s in chosen))
    groups = _groups(
        sorted(
            chosen, key=lambda s: (articles.index(s.paragraph.hit.article_id), s.rank, s.position)
        )
    )
    # The run holding the lead sentence comes first, so the answer opens with the fact asked for.
    groups.sort(key=lambda g: lead not in g)
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
            if first.paragraph.hit.article_id != previous_article:
                where = _where(first)
                intro = phrase(
                    lang,
                    "source_in",
                    lang_name=lang_name(source_lang, lang),
                    where=f" ({where})" if where else "",
                )
                pieces.append(f"{' ' if pieces else ''}{intro}")
            pieces.append(f" “{quote}” [{n}]")
        previous_article = first.paragraph.hit.article_id
    if pieces:
        pieces[0] = pieces[0].lstrip()
    if short is None or not pieces:
        return Composed(tuple(pieces), tuple(citations))
    # The short answer is a verbatim span of the lead sentence, quoted under [1].
    stated = f"{phrase(lang, 'short')} {short.text} [1].\n\n"
    return Composed((stated, *pieces), tuple(citations), short.text)


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
