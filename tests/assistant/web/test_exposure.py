"""What the app exposes by default: localhost only, login on request, uploads can be switched off."""

from __future__ import annotations

import argparse

import pytest

from assistant.cli.main import build_parser
from assistant.cli.serve import settings_for
from assistant.settings import ServeSettings
from assistant.web.server import parse_auth


def serve_args(
    monkeypatch: pytest.MonkeyPatch, *argv: str, **env: str
) -> tuple[argparse.Namespace, ServeSettings]:
    """The parsed flags and the serve settings `kabar serve` resolves from them and the env."""
    for name in ("KABAR_AUTH", "KABAR_UPLOADS", "KABAR_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args(["serve", *argv])
    return args, settings_for(args).serve


def test_serve_binds_localhost_without_login_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    args, serve = serve_args(monkeypatch)
    assert args.host == "127.0.0.1"
    assert parse_auth(serve.auth) is None
    assert serve.uploads is True


def test_kabar_auth_and_uploads_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    _, serve = serve_args(monkeypatch, KABAR_AUTH="desk:s3cret:with-colon", KABAR_UPLOADS="0")
    assert parse_auth(serve.auth) == ("desk", "s3cret:with-colon")
    assert serve.uploads is False


@pytest.mark.parametrize("value", ["desk", "desk:", ":pw", ":"])
def test_malformed_kabar_auth_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="user:password"):
        parse_auth(value)
