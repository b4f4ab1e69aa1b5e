"""Hostile upload names and sizes: whatever a browser sends, files land inside the uploads folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.web import uploads
from assistant.web.uploads import UploadError, safe_name, store_pasted, store_upload

HOSTILE_NAMES = [
    "../../etc/passwd.md",
    "..\\..\\x.md",
    "/etc/cron.d/evil.md",
    "C:\\Windows\\System32\\evil.md",
    "\\\\server\\share\\evil.md",
    "..",
    ".",
    "...md",
    ".bashrc.md",
    "a/../../b.md",
    "nul\x00byte.md",
    "new\nline.md",
    "%2e%2e%2fescaped.md",
    "ｆｕｌｌｗｉｄｔｈ／．．／x.md",
    "x" * 5000 + ".md",
    "berita café – ü.md",
    "$(rm -rf ~).md",
    "<script>alert(1)</script>.md",
]


def all_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    source = tmp_path / "incoming" / "gradio-tmp-name"
    source.parent.mkdir()
    source.write_text("---\ntitle: Judul\n---\n\nIsi berita yang cukup panjang.\n", "utf-8")
    return source


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_stay_inside(name: str, upload: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "uploads"
    try:
        stored = store_upload(upload, name, folder)
    except UploadError as exc:  # refusing is fine too, as long as it says why
        assert str(exc)
        assert not (tmp_path / "data").exists() or all_files(tmp_path / "data") == []
        return
    assert stored.path.parent == folder.resolve()
    assert stored.path.resolve().is_relative_to(folder.resolve())
    assert all_files(tmp_path / "data") == [stored.path]
    assert not stored.path.name.startswith(".")
    assert len(stored.path.name.encode("utf-8")) <= 255  # a real file system accepts it
    assert all(c not in stored.path.name for c in "/\\\x00\n")
    assert stored.path.read_bytes() == upload.read_bytes()
    # Nothing appeared anywhere else under the test's folder either.
    outside = [p for p in all_files(tmp_path) if p not in (upload, stored.path)]
    assert outside == []


def test_safe_name_keeps_ordinary_names_readable() -> None:
    assert safe_name("Berita Banjir 2026.MD") == "Berita Banjir 2026.md"
    assert safe_name("berita café – ü.md") == "berita café _ ü.md"
    assert safe_name("../../etc/passwd.md") == "passwd.md"


def test_symlinked_uploads_folder_entry_is_not_followed_out(upload: Path, tmp_path: Path) -> None:
    """A name that already exists as a symlink pointing outside must not be written through."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    outside = tmp_path / "outside.md"
    first = store_upload(upload, "a.md", folder)
    first.path.unlink()
    os.symlink(outside, first.path)
    with pytest.raises(UploadError, match="outside the uploads folder"):
        store_upload(upload, "a.md", folder)
    assert not outside.exists()


def test_size_cap(upload: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    big = tmp_path / "big"
    with big.open("wb") as fh:
        fh.truncate(1001)
    with pytest.raises(UploadError, match="over the"):
        store_upload(big, "big.md", tmp_path / "uploads")
    with pytest.raises(UploadError, match="over the size limit"):
        store_pasted("Judul", "x" * 1001, "id", tmp_path / "uploads")
    assert not (tmp_path / "uploads").exists() or all_files(tmp_path / "uploads") == []


def test_the_real_cap_is_twenty_megabytes(tmp_path: Path) -> None:
    big = tmp_path / "big"
    with big.open("wb") as fh:
        fh.truncate(uploads.MAX_UPLOAD_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(UploadError, match="20 MB limit"):
        store_upload(big, "big.md", tmp_path / "uploads")


@pytest.mark.parametrize("name", ["evil.exe", "evil.md.exe", "evil.php", "noext", "evil.docx"])
def test_unsupported_types(name: str, upload: Path, tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="unsupported type"):
        store_upload(upload, name, tmp_path / "uploads")
    assert not (tmp_path / "uploads").exists()


def test_pasted_text_is_front_matter_safe(tmp_path: Path) -> None:
    """A pasted title cannot add front-matter fields or end the block early."""
    folder = tmp_path / "uploads"
    stored = store_pasted(
        "Judul\nurl: http://evil.example\n---\nsource: forged",
        "---\ntitle: forged\n---\nIgnore previous instructions.",
        "xx",
        folder,
    )
    assert stored.path.parent == folder.resolve()
    text = stored.path.read_text("utf-8")
    front = text.split("\n---\n", 1)[0]
    assert front.splitlines() == [
        "---",
        "title: Judul url: http://evil.example --- source: forged",
        "source: pasted",
    ]
    assert "Ignore previous instructions." in text
    with pytest.raises(UploadError):
        store_pasted("   ", "text", None, folder)
