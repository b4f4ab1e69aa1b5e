"""Read articles from files and folders: text/Markdown pages, saved HTML pages, JSON/JSONL records.

Every input yields Articles or Failures, never an exception: one bad file in a folder of thousands
must not stop an indexing run, and each Failure says which file and why.
"""

from __future__ import annotations

import codecs
import errno
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from index.ingest.clean import clean_paragraphs, clean_text
from index.ingest.language import detect_lang
from index.ingest.textpage import parse_date, parse_text_page
from index.records import Article, Failure

log = logging.getLogger(__name__)

Item = Article | Failure
Reader = Callable[[Path, str], Iterator[Item]]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Our corpus is Indonesian and English. On short texts charset detection happily picks exotic code
# pages (cp1006 for a Latin-1 "£"), so only Western single-byte guesses are trusted.
_WESTERN = {"cp1252", "latin_1", "iso8859_15"}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SNIFF_CHARS = 65536
_MAX_CONTROL_RATIO = 0.01
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"“‘'(\[A-Z0-9])")
_TITLE_CHARS = 80
_README = re.compile(r"^readme(?:\.|$)", re.I)
_RECORD_FIELDS = {"id", "title", "url", "published", "source", "lang", "text", "author"}
# The largest input file read, here and for uploads (assistant.web.uploads imports it).
MAX_FILE_BYTES = 20_000_000


class _NotText(Exception):
    """The bytes are not text in any encoding we accept."""


def iter_articles(
    paths: Sequence[str | os.PathLike[str]], max_bytes: int = MAX_FILE_BYTES
) -> Iterator[Item]:
    """Articles from files and folders (recursively, sorted by name), with a Failure per bad input.

    In folders, hidden entries, README files and unknown extensions are skipped silently, and each
    directory is entered once (a symlink back to an enclosing folder is reported as a loop).
    """
    for given in paths:
        path = Path(given)
        kind = _kind(path)
        if kind == "dir":
            yield from _walk(path, max_bytes)
        elif kind == "file":
            if _reader(path):
                yield from _read(path, max_bytes)
            else:
                yield _failure(
                    path,
                    f"unsupported file type {path.suffix or '(no extension)'!r} "
                    f"(expected {', '.join(sorted(_READERS))})",
                )
        else:
            yield _failure(path, kind)


def _kind(path: Path) -> str:
    """'dir', 'file', or the reason the path cannot be read."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if path.is_symlink():
            return "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
        return exc.strerror.lower() if exc.strerror else "cannot read"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "not a regular file"


def _walk(top: Path, max_bytes: int) -> Iterator[Item]:
    """Depth-first in name order; an explicit stack so deep trees cannot hit the recursion limit."""
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Path, frozenset[tuple[int, int]]]] = [(top, frozenset())]
    while stack:
        path, ancestors = stack.pop()
        kind = _kind(path)
        if kind == "file":
            if _reader(path) and not _README.match(path.name):
                yield from _read(path, max_bytes)
            else:
                log.debug("skipping %s", path)
        elif kind == "dir":
            st = path.stat()
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                yield _failure(path, f"symlink loop back to {path.resolve()}")
            elif key in seen:
                log.debug("already visited %s through another path", path)
            else:
                seen.add(key)
                yield from _push_children(path, ancestors | {key}, stack)
        elif _reader(path) or kind == "symlink loop":
            yield _failure(path, kind)


def _push_children(
    directory: Path,
    ancestors: frozenset[tuple[int, int]],
    stack: list[tuple[Path, frozenset[tuple[int, int]]]],
) -> Iterator[Item]:
    try:
        names = sorted(entry.name for entry in os.scandir(directory))
    except OSError as exc:
        yield _failure(directory, f"cannot list folder ({exc.strerror or exc})")
        return
    stack.extend(
        (directory / name, ancestors) for name in reversed(names) if not name.startswith(".")
    )


def _reader(path: Path) -> Reader | None:
    return _READERS.get(path.suffix.lower())


def _read(path: Path, max_bytes: int) -> Iterator[Item]:
    try:
        size = path.stat().st_size
        if size == 0:
            yield _failure(path, "empty file")
            return
        if size > max_bytes:
            yield _failure(path, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
            return
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        yield _failure(path, f"cannot read ({exc.strerror or exc})")
        return
    if len(data) > max_bytes:  # grew after the size check
        yield _failure(path, f"file is over the {max_bytes:,}-byte limit")
        return
    try:
        text = _decode(data)
    except _NotText:
        yield _failure(path, "binary file, not text")
        return
    if not text.strip():
        yield _failure(path, "empty file")
        return
    reader = _reader(path)
    assert reader is not None  # callers only read files with a known extension
    yield from reader(path, text)


def _decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (with or without BOM), UTF-16/32 with BOM, else a Western guess.

    Raises _NotText for binary content (NUL bytes, control characters).
    """
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _NotText from exc
            break
    if text is None:
        if b"\x00" in data:
            raise _NotText
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _guess_western(data)
    sample = text[:_SNIFF_CHARS]
    if "\x00" in sample or len(_CONTROL.findall(sample)) > _MAX_CONTROL_RATIO * len(sample):
        raise _NotText
    return text.lstrip("\ufeff")


def _guess_western(data: bytes) -> str:
    import charset_normalizer  # only for files that are not UTF-8

    match = charset_normalizer.from_bytes(data).best()
    if match is not None and match.encoding in _WESTERN:
        return str(match)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# ---------------------------------------------------------------- readers


def _read_text_page(path: Path, text: str) -> Iterator[Item]:
    page = parse_text_page(text)
    yield _article(
        path,
        path.name,
        paragraphs=list(page.paragraphs),
        record_id=page.id,
        title=page.title,
        url=page.url,
        published=page.published,
        author=page.author,
        source=page.source,
        lang=page.lang,
        extra=dict(page.extra),
    )


def _read_html(path: Path, text: str) -> Iterator[Item]:
    yield _html_article(path, path.name, text)


def read_web_page(url: str, text: str) -> Item:
    """A fetched news page -> Article whose id is its canonical URL (else `url`, the final URL
    after redirects). It has no path: it is not a file that `--prune` could find gone."""
    return _html_article(url, url, text)


def _html_article(origin: Path | str, where: str, text: str) -> Item:
    """The HTML reader shared by saved pages (origin: their path) and fetched ones (their URL)."""
    # Imported here: 0.09 s that the chat, `kabar search` and text-only indexing never need.
    import trafilatura
    from trafilatura.settings import Document

    base_url = origin if isinstance(origin, str) else None
    try:
        doc = trafilatura.bare_extraction(
            text,
            url=base_url,
            with_metadata=True,
            favor_precision=True,
            include_comments=False,
            include_images=False,
        )
    except (
        Exception
    ) as exc:  # a third-party parser on arbitrary input: any failure is this file's failure
        log.debug("trafilatura failed on %s", origin, exc_info=True)
        return _failure(origin, f"HTML extraction failed ({type(exc).__name__}: {exc})")
    if not isinstance(doc, Document) or not doc.text:
        return _failure(origin, "no article text found in the HTML")
    title = doc.title
    lines = doc.text.splitlines()
    if title and lines and clean_text(lines[0]) == clean_text(title):
        lines = lines[1:]  # the headline is often repeated as the first line of the body
    return _article(
        origin,
        where,
        paragraphs=clean_paragraphs(lines, doc.sitename),
        title=title,
        url=doc.url or base_url,
        published=parse_date(doc.date) if doc.date else None,
        author=doc.author,
        source=doc.sitename,
    )


def _read_json(path: Path, text: str) -> Iterator[Item]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield _failure(path, f"malformed JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")
        return
    if isinstance(data, dict):
        yield _from_record(path, path.name, data, fallback_id=None)
    elif isinstance(data, list):
        for index, record in enumerate(data):
            yield _from_record(path, f"{path.name}[{index}]", record, fallback_id=f"#{index}")
    else:
        yield _failure(path, "JSON is neither a record nor a list of records")


def _read_jsonl(path: Path, text: str) -> Iterator[Item]:
    # Split on "\n" only: str.splitlines() also breaks at U+2028 etc., which JSON strings may hold.
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Failure(str(path), f"{where}: malformed JSON ({exc.msg}, column {exc.colno})")
            continue
        yield _from_record(path, where, record, fallback_id=f"#{lineno}")


_READERS: dict[str, Reader] = {
    ".txt": _read_text_page,
    ".md": _read_text_page,
    ".html": _read_html,
    ".htm": _read_html,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
}
# The file types Kabar reads, the only ones the chat's add tab accepts.
SUFFIXES = tuple(_READERS)


# ---------------------------------------------------------------- records -> Article


def _from_record(path: Path, where: str, record: Any, *, fallback_id: str | None) -> Item:
    """One JSON record: id, title, url, published, source, lang, author, text; the rest -> extra."""
    if not isinstance(record, dict):
        return Failure(str(path), f"{where}: not a JSON object")
    record_id = _string(record.get("id"))
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        label = f"record {record_id!r}" if record_id else "record"
        return Failure(str(path), f"{where}: {label} has no text")
    source = _string(record.get("source"))
    published = _string(record.get("published"))
    author = record.get("author")
    if isinstance(author, list):
        author = ", ".join(a for a in author if isinstance(a, str))
    return _article(
        path,
        where,
        paragraphs=clean_paragraphs(_PARAGRAPH_BREAK.split(text), source),
        record_id=record_id,
        fallback_id=fallback_id,
        title=_string(record.get("title")),
        url=_string(record.get("url")),
        published=parse_date(published) if published else None,
        author=_string(author),
        source=source,
        lang=_string(record.get("lang")),
        extra={k: v for k, v in record.items() if k not in _RECORD_FIELDS},
    )


def _string(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _article(
    origin: Path | str,
    where: str,
    *,
    paragraphs: list[str],
    record_id: str | None = None,
    fallback_id: str | None = None,
    title: str | None = None,
    url: str | None = None,
    published: str | None = None,
    author: str | None = None,
    source: str | None = None,
    lang: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Item:
    """Apply the rules every Article shares: a stable id, a title, a language, the resolved path."""
    if not paragraphs:
        return Failure(str(origin), f"{where}: no article text left after removing boilerplate")
    resolved = origin.resolve() if isinstance(origin, Path) else None  # a URL has no path
    title = clean_text(title) if title else ""
    lang = lang.lower() if lang else None
    if lang not in ("id", "en"):
        lang = detect_lang(" ".join([title, *paragraphs]))
    return Article(
        id=record_id or url or f"file:{resolved or origin}{fallback_id or ''}",
        title=title or _title_from(paragraphs[0]),
        paragraphs=tuple(paragraphs),
        url=url,
        published=published,
        author=clean_text(author) if author else None,
        source=source,
        lang=lang,
        path=str(resolved) if resolved else None,
        extra=extra or {},
    )


def _title_from(paragraph: str) -> str:
    """Passages without a title (FacQA) get their first sentence, shortened at a word boundary."""
    sentence = _SENTENCE_BREAK.split(paragraph, maxsplit=1)[0]
    if len(sentence) <= _TITLE_CHARS:
        return sentence
    head = sentence[: _TITLE_CHARS + 1]
    head = head.rsplit(" ", 1)[0] if " " in head else head[:_TITLE_CHARS]
    return head.rstrip(",;:-– ") + "…"


def _failure(origin: Path | str, reason: str) -> Failure:
    if isinstance(origin, str):  # a URL: the reason alone, the URL is the Failure's path
        return Failure(origin, reason)
    return Failure(str(origin), f"{origin.name}: {reason}")
