"""Parse a news page saved as plain text or Markdown into metadata and body paragraphs.

Pages copied from a portal carry their metadata as loose lines (a dateline, a byline, a
"Penulis" label) among page chrome; our own sample articles carry it as YAML-ish front matter.
Both end up as one TextPage.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from index.ingest.clean import clean_paragraphs, clean_text, is_boilerplate

_MONTHS = {
    **dict.fromkeys(("jan", "januari", "january"), 1),
    **dict.fromkeys(("feb", "peb", "februari", "pebruari", "february"), 2),
    **dict.fromkeys(("mar", "maret", "march"), 3),
    **dict.fromkeys(("apr", "april"), 4),
    **dict.fromkeys(("mei", "may"), 5),
    **dict.fromkeys(("jun", "juni", "june"), 6),
    **dict.fromkeys(("jul", "juli", "july"), 7),
    **dict.fromkeys(("agu", "agt", "ags", "agus", "agustus", "aug", "august"), 8),
    **dict.fromkeys(("sep", "sept", "september"), 9),
    **dict.fromkeys(("okt", "oct", "oktober", "october"), 10),
    **dict.fromkeys(("nov", "nop", "november", "nopember"), 11),
    **dict.fromkeys(("des", "dec", "desember", "december"), 12),
}
_WEEKDAY = (
    r"(?:(?:senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu|ahad|monday|tuesday|wednesday|thursday"
    r"|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\.?,?\s+)?"
)
_TIME = (
    r"(?:(?:,|\s)\s*(?:pukul\s+|at\s+)?\d{1,2}[:.]\d{2}(?::\d{2}(?:\.\d+)?)?\s*"
    r"(?:[ap]\.?m\.?|wib|wita|wit|gmt|utc|z)?\s*(?:[+-]\d{2}:?\d{2})?)?"
)
_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    re.I,
)
_NUMERIC = re.compile(_WEEKDAY + r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})" + _TIME, re.I)
_YMD_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})" + _TIME, re.I)
_DAY_MONTH = re.compile(_WEEKDAY + r"(\d{1,2})\s+([a-z]+)\.?,?\s+(\d{4})" + _TIME, re.I)
_MONTH_DAY = re.compile(
    _WEEKDAY + r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})" + _TIME, re.I
)

_DATE_LABEL = re.compile(
    r"^(?:published|posted|date|diterbitkan|dipublikasikan|tanggal)(?:\s+(?:on|pada))?\s*:?\s*",
    re.I,
)
_DOMAIN = r"[A-Za-z][\w-]*\.(?:com|co\.id|id|net|org|co\.uk)"
_DATELINE_SOURCE = re.compile(rf"^(?P<source>{_DOMAIN})\s*[-–—|,]\s*")
# "LONDON, KOMPAS.com – ...", "Suara.com - ..." at the start of the lead paragraph.
_LEAD_SOURCE = re.compile(rf"^(?:[A-Z][A-Za-z .'-]{{1,40}},\s+)?(?P<source>{_DOMAIN})\s*[-–—]+\s")
_LABELS = r"penulis|reporter|author|writer|editor|penyunting|oleh|by"
# "Penulis: X", "By X", or a bare "Penulis" label whose name is on the line before or after.
_BYLINE = re.compile(
    rf"^(?:(?P<label>{_LABELS})\s*:\s*(?P<name>.+)|(?P<by>by|oleh)\s+(?P<byname>.+)|(?P<bare>{_LABELS})\s*:?)$",
    re.I,
)
_NAME = re.compile(
    r"^[A-Z][\w'’.-]*(?:,?\s+(?:[A-Z][\w'’.-]*|bin|binti|van|von|de|der|da|al|el|dan|and|&))*$"
)
_URL_LINE = re.compile(r"^(?:canonical|url|link|permalink)\s*:\s*<?(https?://[^\s>]+)>?$", re.I)

_FRONT_MATTER = re.compile(r"\A\ufeff?\s*---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FIELD = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")
_FIELD_ALIASES = {"date": "published", "canonical": "url", "link": "url", "language": "lang"}

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_RULE_LINE = re.compile(r"^(?:[-*_]\s*){3,}$|^```.*$|^\[[^\]]+\]:\s*\S+.*$")
_LIST_ITEM = re.compile(r"^(?:[-*+]\s+|\d{1,3}[.)]\s+)")
_MD_SUBS = (
    (re.compile(r"^(?:>\s?)+"), ""),
    (re.compile(r"^[-*+]\s+"), ""),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),
    (re.compile(r"\[([^\]]+)\]\((?:[^()\s]+|\([^)]*\))*(?:\s+\"[^\"]*\")?\)"), r"\1"),
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),
    (re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_]+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
)
_SENTENCE_END = re.compile(r"[.!?:\"”’)]$")
_TITLE_MAX = 200


@dataclass(frozen=True)
class TextPage:
    """What a text/Markdown page says about itself; fields it does not give are None."""

    title: str | None
    paragraphs: tuple[str, ...]
    published: str | None = None
    author: str | None = None
    source: str | None = None
    url: str | None = None
    lang: str | None = None
    id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class _Unit:
    text: str
    heading: int = 0  # Markdown heading level, 0 for ordinary text
    used: bool = False  # consumed as metadata


def parse_date(value: str, *, dayfirst: bool = False) -> str | None:
    """A date or datetime string in a common news format -> "YYYY-MM-DD", or None.

    The calendar date is kept as written (no timezone conversion): it is the local publication day.
    For ambiguous numeric dates like 03/04/2025, dayfirst picks D/M (Indonesian pages) over M/D.
    """
    s = " ".join(value.split()).strip(" ,")
    if m := _ISO.fullmatch(s):
        return _iso(int(m[1]), int(m[2]), int(m[3]))
    if m := _YMD_SLASH.fullmatch(s):
        return _iso(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC.fullmatch(s):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        day_first = first > 12 or (dayfirst and second <= 12)
        return _iso(year, second, first) if day_first else _iso(year, first, second)
    if (m := _DAY_MONTH.fullmatch(s)) and m[2].lower() in _MONTHS:
        return _iso(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
    if (m := _MONTH_DAY.fullmatch(s)) and m[1].lower() in _MONTHS:
        return _iso(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
    return None


def parse_text_page(text: str) -> TextPage:
    """Split a page into metadata and body paragraphs, dropping page chrome and boilerplate."""
    fields, body = _split_front_matter(text)
    units = _units(body)
    page: dict[str, str | None] = {
        "title": fields.pop("title", None),
        "published": parse_date(fields.pop("published", ""), dayfirst=True),
        "author": fields.pop("author", None),
        "source": fields.pop("source", None),
        "url": fields.pop("url", None),
        "lang": fields.pop("lang", None),
        "id": fields.pop("id", None),
    }
    _take_metadata(units, page)
    paragraphs = _take_title_and_body(units, page)
    title = page["title"]
    return TextPage(
        title=(clean_text(title) or None) if title else None,
        paragraphs=tuple(clean_paragraphs(paragraphs, page["source"])),
        published=page["published"],
        author=page["author"],
        source=page["source"],
        url=page["url"],
        lang=page["lang"],
        id=page["id"],
        extra=fields,
    )


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    fields: dict[str, str] = {}
    for line in m[1].splitlines():
        if (f := _FIELD.match(line)) and f[2]:
            key = f[1].lower()
            fields[_FIELD_ALIASES.get(key, key)] = _unquote(f[2])
    return fields, text[m.end() :]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _units(body: str) -> list[_Unit]:
    """Blocks separated by blank lines become paragraphs; a block whose lines are separate items
    (chrome, metadata, list items, one paragraph per line) is split into its lines."""
    units: list[_Unit] = []
    for block in _BLANK_LINE.split(body):
        lines = [
            _Unit(*_strip_markdown(line))
            for line in block.splitlines()
            if not _RULE_LINE.match(line.strip())
        ]
        lines = [u for u in lines if u.text]
        if not lines:
            continue
        raw = [line.strip() for line in block.splitlines()]
        if len(lines) == 1 or _separate_lines(lines, raw):
            units.extend(lines)
        else:
            units.append(_Unit(" ".join(u.text for u in lines)))
    return units


def _separate_lines(lines: list[_Unit], raw: list[str]) -> bool:
    if any(_LIST_ITEM.match(r) for r in raw):
        return True
    if any(u.heading or _is_metadata_line(u.text) or is_boilerplate(u.text) for u in lines):
        return True
    # Hard-wrapped prose breaks lines mid-sentence; one-paragraph-per-line text ends them at a stop.
    inner = lines[:-1]
    return sum(bool(_SENTENCE_END.search(u.text)) for u in inner) * 2 >= len(inner)


def _strip_markdown(line: str) -> tuple[str, int]:
    line = line.strip()
    if m := _HEADING.match(line):
        return m[2], len(m[1])
    for pattern, repl in _MD_SUBS:
        line = pattern.sub(repl, line)
    return line.strip(), 0


def _is_metadata_line(text: str) -> bool:
    return bool(_dateline(text) or _URL_LINE.match(text) or _byline(text))


def _dateline(text: str) -> tuple[str, str | None] | None:
    """("YYYY-MM-DD", portal or None) if the whole line is a dateline."""
    rest = _DATE_LABEL.sub("", text.strip())
    source = None
    if m := _DATELINE_SOURCE.match(rest):
        source, rest = _portal_name(m["source"]), rest[m.end() :]
    date = parse_date(rest, dayfirst=True)
    return (date, source) if date else None


def _byline(text: str) -> tuple[str, str] | None:
    """(label, name) for "Penulis: X" / "By X"; name is "" for a bare label line."""
    m = _BYLINE.match(text.strip())
    if not m:
        return None
    if m["bare"]:
        return m["bare"].lower(), ""
    label, name = (m["label"], m["name"]) if m["label"] else (m["by"], m["byname"])
    return (label.lower(), name.strip()) if _is_name(name.strip()) else None


def _is_name(text: str) -> bool:
    return len(text) <= 80 and bool(_NAME.match(text)) and not _dateline(text)


def _portal_name(name: str) -> str:
    """'KOMPAS.com' -> 'Kompas.com': leads shout the name that datelines write plainly."""
    base, dot, rest = name.partition(".")
    return base.capitalize() + dot + rest if base.isupper() and len(base) > 3 else name


def _take_metadata(units: list[_Unit], page: dict[str, str | None]) -> None:
    editor = None
    for i, unit in enumerate(units):
        if unit.used:
            continue
        if date := _dateline(unit.text):
            unit.used = True
            page["published"] = page["published"] or date[0]
            page["source"] = page["source"] or date[1]
        elif m := _URL_LINE.match(unit.text):
            unit.used = True
            page["url"] = page["url"] or m[1]
        elif by := _byline(unit.text):
            unit.used = True
            label, name = by
            if not name and (
                neighbour := _name_next_to(units, i, prefer_next=unit.text.rstrip().endswith(":"))
            ):
                neighbour.used = True
                name = neighbour.text
            if label in ("editor", "penyunting"):
                editor = editor or name or None
            elif name:
                page["author"] = page["author"] or name
    page["author"] = page["author"] or editor
    if not page["source"]:
        leads = (m for u in units if not u.used and (m := _LEAD_SOURCE.match(u.text)))
        page["source"] = next((_portal_name(m["source"]) for m in leads), None)


def _name_next_to(units: list[_Unit], i: int, *, prefer_next: bool) -> _Unit | None:
    """Kompas prints the name above its 'Penulis' label; other sites put it after 'Penulis:'."""
    order = (i + 1, i - 1) if prefer_next else (i - 1, i + 1)
    for j in order:
        if 0 <= j < len(units) and not units[j].used and not units[j].heading:
            text = units[j].text
            if len(text.split()) >= 2 and _is_name(text) and not is_boilerplate(text):
                return units[j]
    return None


def _take_title_and_body(units: list[_Unit], page: dict[str, str | None]) -> list[str]:
    """Title: a '# ' heading or the first substantial line, if it comes before any body text.
    Short lines ahead of it (section names, breadcrumbs) are navigation, not body."""
    source = page["source"]
    body: list[str] = []
    before_title: list[str] = []
    looking = not page["title"]
    for unit in units:
        if unit.used or is_boilerplate(unit.text, source):
            continue
        if (
            unit.heading == 1
            and page["title"]
            and clean_text(unit.text) == clean_text(page["title"])
        ):
            continue
        if looking:
            if unit.heading == 1 or _is_title_like(unit.text):
                page["title"], looking, before_title = unit.text, False, []
                continue
            if len(unit.text.split()) < 3:
                before_title.append(unit.text)
                continue
            looking = False
        body.append(unit.text)
    return before_title + body


def _is_title_like(text: str) -> bool:
    words = text.split()
    return (
        len(words) >= 3 and len(text) <= _TITLE_MAX and not text.rstrip().endswith((".", ":", ","))
    )
