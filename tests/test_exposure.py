"""What the app exposes by default: localhost only, login on request, uploads can be switched off."""

from __future__ import annotations

import argparse

import pytest

from assistant import cli
from assistant.server import parse_auth


def serve_args(monkeypatch: pytest.MonkeyPatch, *argv: str, **env: str) -> argparse.Namespace:
    for name in ("KABAR_AUTH", "KABAR_UPLOADS", "KABAR_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cli.build_parser().parse_args(["serve", *argv])


def test_serve_binds_localhost_without_login_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    args = serve_args(monkeypatch)
    assert args.host == "127.0.0.1"
    assert parse_auth(args.auth) is None
    assert args.no_uploads is False


def test_kabar_auth_and_uploads_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    args = serve_args(monkeypatch, KABAR_AUTH="desk:s3cret:with-colon", KABAR_UPLOADS="0")
    assert parse_auth(args.auth) == ("desk", "s3cret:with-colon")
    assert args.no_uploads is True


@pytest.mark.parametrize("value", ["desk", "desk:", ":pw", ":"])
def test_malformed_kabar_auth_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="user:password"):
        parse_auth(value)
