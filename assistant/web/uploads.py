"""Put user-supplied files and pasted text into Kabar's uploads folder, and nowhere else.

Names from a browser are untrusted: only the final name component survives, cleaned, and the
resolved target must stay inside the folder. Sizes are capped before anything is copied.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

ALLOWED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl")
MAX_UPLOAD_BYTES = 20_000_000
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


class UploadError(ValueError):
    """An upload that Kabar refuses, with the reason."""


@dataclass(frozen=True)
class Stored:
    """An accepted upload: the name the user gave and where Kabar keeps it."""

    original: str
    path: Path


def safe_name(name: str) -> str:
    """A file name with no directories, no leading dots and no characters a shell would mind."""
    base = PureWindowsPath(PurePosixPath(name).name).name  # drop both kinds of directories
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:100] or "upload"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _inside(folder: Path, name: str) -> Path:
    target = (folder / name).resolve()
    if folder.resolve() not in target.parents:
        raise UploadError(f"{name}: refused, it would be written outside the uploads folder")
    return target


def store_upload(source: Path, original_name: str, folder: Path) -> Stored:
    """Copy one uploaded file into `folder` under a safe, unique name."""
    name = safe_name(original_name)
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise UploadError(f"{original_name}: unsupported type (use {', '.join(ALLOWED_SUFFIXES)})")
    size = source.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"{original_name}: {size / 1e6:.1f} MB is over the "
            f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB limit"
        )
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:10]
    target = _inside(folder, f"{digest}-{name}")
    shutil.copyfile(source, target)
    return Stored(original_name, target)


def store_pasted(title: str, text: str, lang: str | None, folder: Path) -> Stored:
    """Save pasted text as Markdown with front matter, so it reindexes like any file."""
    title = " ".join(title.split())
    if not title or not text.strip():
        raise UploadError("pasted article: a title and some text are needed")
    body = text.strip()
    if len(body.encode("utf-8")) > MAX_UPLOAD_BYTES:
        raise UploadError("pasted article: text is over the size limit")
    front = [f"title: {title}", "source: pasted"]
    if lang in ("id", "en"):
        front.append(f"lang: {lang}")
    content = "---\n" + "\n".join(front) + "\n---\n\n" + body + "\n"
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:10]
    folder.mkdir(parents=True, exist_ok=True)
    target = _inside(folder, f"pasted-{digest}.md")
    target.write_text(content, "utf-8")
    return Stored(title, target)
