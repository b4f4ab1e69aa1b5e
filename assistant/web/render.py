"""HTML for answers and source cards. Article text is untrusted: everything is escaped here.

Only markup built in this module reaches the page; titles, quotes and URLs from articles are
escaped, and links are kept only for http(s) addresses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
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


def card_id(n: int) -> str:
    return f"kabar-src-{n}"


def answer_html(text: str, known: Sequence[int] = ()) -> str:
    """Escape the answer, then turn each `[n]` that names a source into a link to its card."""
    escaped = html.escape(text, quote=False)
    allowed = set(known)

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if allowed and n not in allowed:
            return match.group(0)
        return f'<a class="kabar-cite" href="#{card_id(n)}">[{n}]</a>'

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


def source_card(citation: Citation, words: dict[str, str]) -> str:
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
        f'<div class="kabar-card" id="{card_id(citation.n)}" data-n="{citation.n}">'
        f'<div class="kabar-card-head"><span class="kabar-n">[{citation.n}]</span> {heading}</div>'
        f'<div class="kabar-meta">{meta}</div>'
        f'<details class="kabar-passage"><summary>{html.escape(words["show_paragraph"])}</summary>'
        f"<p>{passage}</p></details></div>"
    )


def sources_html(
    citations: Sequence[Citation], words: dict[str, str], heading_key: str = "sources"
) -> str:
    if not citations:
        return f'<div class="kabar-sources kabar-empty">{html.escape(words["no_sources"])}</div>'
    cards = "".join(source_card(c, words) for c in citations)
    return f'<div class="kabar-sources"><h3>{html.escape(words[heading_key])}</h3>{cards}</div>'
