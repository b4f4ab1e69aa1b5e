"""HTML for answers and source cards. Article text is untrusted: everything is escaped here.

Only markup built in this module reaches the page; titles, quotes and URLs from articles are
escaped, and links are kept only for http(s) addresses. The chat shows its messages as HTML
with Markdown (and LaTeX) rendering off, so a Markdown link or image that an article, a
question or a model writes stays text: `[x](https://…)` once became a live link, and
`![t](http://…)` an image the browser fetched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from assistant.records import Citation

_MARKER = re.compile(r"\[(\d{1,3})\]")


def safe_url(url: str | None) -> str | None:
    """An http(s) URL, or None: `javascript:` and friends never become links."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None
    return url.strip()


@dataclass(frozen=True)
class SourceGroup:
    """One answer's sources in the panel, shown under the question it answered.

    The panel keeps every answer's group: when it held only the latest answer's cards, `[1]` in
    an earlier answer opened the latest answer's card 1, an unrelated article (issue 13).
    """

    turn: int  # the answer's number in the conversation, from 1; it scopes the card ids
    question: str  # as the user wrote it
    citations: tuple[Citation, ...]
    closest: bool = False  # an abstention: the closest articles, which do not answer


def card_id(turn: int, n: int) -> str:
    """Source `[n]` of answer `turn`: each answer's `[n]` opens a card of its own."""
    return f"kabar-src-{turn}-{n}"


def text_html(text: str) -> str:
    """Any text as inert HTML for the chat: escaped, line breaks kept."""
    return html.escape(text, quote=False).replace("\n", "<br>")


def answer_html(text: str, turn: int, known: Sequence[int] = ()) -> str:
    """Escape answer `turn`, then turn each `[n]` that names a source into a link to its card."""
    escaped = text_html(text)
    allowed = set(known)

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if allowed and n not in allowed:
            return match.group(0)
        return f'<a class="kabar-cite" href="#{card_id(turn, n)}">[{n}]</a>'

    return _MARKER.sub(link, escaped)


def highlight(passage: str, quote: str) -> str:
    """The escaped passage with the cited text marked, when it occurs verbatim."""
    if quote and quote in passage:
        before, _, after = passage.partition(quote)
        return f"{html.escape(before)}<mark>{html.escape(quote)}</mark>{html.escape(after)}"
    return html.escape(passage)


def _paragraphs(citation: Citation, words: dict[str, str]) -> str:
    first, last = citation.paragraphs
    label = words["paragraph"]
    return f"{label} {first}" if first == last else f"{label} {first}–{last}"


def source_card(citation: Citation, turn: int, words: dict[str, str]) -> str:
    url = safe_url(citation.url)
    title = html.escape(citation.title or citation.article_id)
    rel = 'target="_blank" rel="noopener noreferrer nofollow"'
    heading = f'<a href="{html.escape(url)}" {rel}>{title}</a>' if url else title
    meta = " · ".join(
        html.escape(x)
        for x in (citation.source, citation.published, _paragraphs(citation, words))
        if x
    )
    passage = highlight(citation.text, citation.quote).replace("\n\n", "</p><p>")
    return (
        f'<div class="kabar-card" id="{card_id(turn, citation.n)}" data-n="{citation.n}">'
        f'<div class="kabar-card-head"><span class="kabar-n">[{citation.n}]</span> {heading}</div>'
        f'<div class="kabar-meta">{meta}</div>'
        f'<details class="kabar-passage"><summary>{html.escape(words["show_paragraph"])}</summary>'
        f"<p>{passage}</p></details></div>"
    )


def group_html(group: SourceGroup, words: dict[str, str], latest: bool) -> str:
    """An answer's cards under its number and question; only the latest group starts open, so
    older ones stay one line each until a citation of theirs is clicked (kabar.js opens it)."""
    label = html.escape(words["answer_n"].format(n=group.turn))
    head = (
        f'<summary class="kabar-answer-head"><span class="kabar-answer-n">{label}</span> '
        f'<span class="kabar-answer-q">{html.escape(group.question)}</span></summary>'
    )
    note = f'<p class="kabar-note">{html.escape(words["closest"])}</p>' if group.closest else ""
    cards = "".join(source_card(c, group.turn, words) for c in group.citations)
    if not cards:
        cards = f'<p class="kabar-note">{html.escape(words["answer_none"])}</p>'
    is_open = " open" if latest else ""
    return (
        f'<details class="kabar-answer" id="kabar-answer-{group.turn}"{is_open}>'
        f"{head}{note}{cards}</details>"
    )


def sources_html(groups: Sequence[SourceGroup], words: dict[str, str]) -> str:
    """Every answer's sources, newest first: on a phone the panel comes right after the
    question box, so the latest answer's cards are the ones seen first."""
    if not groups:
        return f'<div class="kabar-sources kabar-empty">{html.escape(words["no_sources"])}</div>'
    newest = max(g.turn for g in groups)
    shown = sorted(groups, key=lambda g: g.turn, reverse=True)
    body = "".join(group_html(g, words, latest=g.turn == newest) for g in shown)
    return f'<div class="kabar-sources"><h3>{html.escape(words["sources"])}</h3>{body}</div>'


def table_html(caption: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table as escaped HTML; the app's tables (library, feeds, indexing results) only show.

    They were `gr.Dataframe`s: those made Gradio import pandas while building the page (0.35 s)
    and the browser load the grid's code before the chat showed. With the three tables as HTML
    (and pandas left unimported, `gradio_import`), the page was ready in 4.2-4.8 s instead of
    5.2-5.5 s (`bench/app_startup.py`, median of 5 starts, two rounds each).
    """
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    # A scrolling region must take the keyboard focus (axe: scrollable-region-focusable).
    label = html.escape(caption)
    return (
        f'<div class="kabar-table" tabindex="0" role="region" aria-label="{label}">'
        f"<table><caption>{label}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )
