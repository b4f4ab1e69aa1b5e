"""Put user-supplied files and pasted text into Kabar's uploads folder, and nowhere else.

Names from a browser are untrusted: only the final name component survives, cleaned, and the
resolved target must stay inside the folder. Sizes are capped before anything is copied.
Paths from a browser are untrusted too: only files Gradio itself received are read.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from collections.abc import Collection, MutableSet
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

# Defined once, where files are read: an upload is refused exactly when indexing would fail.
from index.ingest.sources import MAX_FILE_BYTES as MAX_UPLOAD_BYTES
from index.ingest.sources import SUFFIXES as ALLOWED_SUFFIXES

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


class UploadError(ValueError):
    """An upload that Kabar refuses, with the reason."""


@dataclass(frozen=True)
class Stored:
    """An accepted upload: the name the user gave and where Kabar keeps it."""

    original: str
    path: Path
    fresh: bool = True  # False when an earlier upload had the same content and name


def received_upload(path: str, received: Collection[str], folder: Path) -> Path:
    """The file behind a browser's upload record, if Gradio's upload route received it.

    A client names its uploads by their path on the server, and Gradio's check that such a
    path was really uploaded is skipped when the app is mounted with `gr.mount_gradio_app`:
    the add tab then copied and indexed any file the server could read. Accepted here: only
    a path the upload route returned in this process (`received`, Gradio's
    `Blocks.upload_file_set`), still inside its upload `folder`, a regular file, no symlink.
    """
    candidate = Path(path)
    try:
        inside = candidate.resolve(strict=True).is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # missing, or a symlink loop
        inside = False
    if path not in received or not inside or candidate.is_symlink() or not candidate.is_file():
        raise UploadError(
            f"{candidate.name or path[:80]}: refused, not a file uploaded to Kabar "
            "(upload it again)"
        )
    return candidate


def discard_received(path: str, received: MutableSet[str], folder: Path) -> None:
    """Delete Gradio's temporary copy of an upload once it is handled (saved or refused), so
    an upload is kept once, in the uploads folder. Paths that were not received are left
    alone: a client must not be able to make the server delete a file either."""
    if path not in received:
        return
    received.discard(path)
    candidate = Path(path)
    try:
        if candidate.resolve().is_relative_to(folder.resolve()) and not candidate.is_symlink():
            candidate.unlink(missing_ok=True)
            parent = candidate.parent
            if parent.resolve() != folder.resolve() and not any(parent.iterdir()):
                parent.rmdir()  # Gradio keeps each upload in a folder named by its hash
    except OSError:  # gone already, or another upload of the same content is in the folder
        pass


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
    fresh = not target.exists()
    shutil.copyfile(source, target)
    return Stored(original_name, target, fresh)


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
    fresh = not target.exists()
    target.write_text(content, "utf-8")
    return Stored(title, target, fresh)
