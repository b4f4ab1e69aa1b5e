"""What every request must pass before the app reads a byte of its body.

FastAPI reads and parses a body before it runs any dependency, the login check included, and
Gradio's routes do the same; so login, body size and the `Host` header are checked here, in
an ASGI middleware in front of both. With `KABAR_AUTH` set, four unauthenticated 500 MB posts
had grown the server by 2.9 GB; now they get 401 on their headers alone.

- `Host`: when bound to a loopback address only loopback names are served, so a web page
  whose DNS name was rebound to 127.0.0.1 cannot drive a local, login-free Kabar.
- Login: `/api/*` takes HTTP Basic (UTF-8, so a non-ASCII password works, RFC 7617); any
  request to the chat that is not a plain read (GET, HEAD, OPTIONS) needs the chat's login
  cookie, except the login itself. Gradio's own checks still run behind this one.
- Size: `Content-Length` over the limit is refused at once; a chunked body is counted as it
  is read and cut off at the limit.
- Login attempts: after `Limits.login_failures` wrong logins (chat or API) from one address
  within `Limits.login_window` seconds, that address gets 429 until the oldest ages out.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.web.limits import Limits

log = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
LOGIN_PATHS = frozenset({"/login", "/login/"})
UPLOAD_PATHS = frozenset({"/gradio_api/upload", "/gradio_api/upload/"})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_API = ("/api/docs", "/api/openapi.json")  # the API's own description, readable by all
SessionCheck = Callable[[Mapping[str, str]], bool]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts_for(bind: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """Host names served when bound to `bind`: loopback names (plus `extra`, e.g. the name a
    local reverse proxy forwards) on a loopback address; `extra` or any name otherwise."""
    names = frozenset(host_name(name) for name in extra if name.strip())
    if is_loopback(bind):
        return LOOPBACK_NAMES | {host_name(bind)} | names
    return names or None


def host_name(header: str) -> str:
    """The name in a `Host` header, without port, brackets or a trailing dot, lower-cased."""
    value = header.strip().lower()
    if value.startswith("["):  # [::1]:7860
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic` header, decoded as UTF-8."""
    if not header:
        return None
    scheme, _, param = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of any text (`secrets.compare_digest` refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class LoginThrottle:
    """Wrong logins per client address in a sliding window."""

    def __init__(self, failures: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.failures = failures
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float]:
        now = self.clock()
        times = self._seen.get(client, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> float:
        """Seconds until `client` may try again; 0 when it may now."""
        times = self._recent(client)
        if len(times) < self.failures:
            return 0.0
        return max(0.0, self.window - (self.clock() - times[0]))

    def failed(self, client: str) -> None:
        if len(self._seen) > 10_000:  # forget idle addresses rather than grow without bound
            for key in [k for k in self._seen if not self._recent(k)]:
                del self._seen[key]
        times = self._recent(client)
        times.append(self.clock())
        self._seen[client] = times
        if len(times) == self.failures:
            log.warning("%d wrong logins from %s: refusing it for a while", len(times), client)


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body without `Content-Length` grows past the limit; an
    HTTPException so FastAPI and Gradio answer 413 instead of "could not parse the body"."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the limit of {limit:,} bytes")


class Guard:
    """ASGI middleware; see the module docstring. `session` tells whether request cookies hold
    a chat login (None: the chat has no login)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Limits,
        auth: tuple[str, str] | None = None,
        allowed_hosts: frozenset[str] | None = None,
        session: SessionCheck | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.auth = auth
        self.allowed_hosts = allowed_hosts
        self.session = session
        self.throttle = LoginThrottle(limits.login_failures, limits.login_window)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = host_name(headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            await _refuse(scope, receive, send, 400, "unknown host")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        client = (scope.get("client") or ("unknown", 0))[0]
        is_login = method == "POST" and path in LOGIN_PATHS
        if self.auth is not None:
            refusal = self._login_refusal(path, method, headers, client, is_login)
            if refusal is not None:
                status, detail, extra = refusal
                await _refuse(scope, receive, send, status, detail, extra)
                return
        limit = (
            self.limits.upload_request_bytes if path in UPLOAD_PATHS else self.limits.request_bytes
        )
        length = headers.get("content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > limit):
            await _refuse(scope, receive, send, 413, f"request body over {limit:,} bytes")
            return
        if is_login and self.auth is not None:
            send = self._watch_login(send, client)
        await self.app(scope, _capped(receive, limit), send)

    def _login_refusal(
        self, path: str, method: str, headers: Headers, client: str, is_login: bool
    ) -> tuple[int, str, dict[str, str]] | None:
        assert self.auth is not None
        api = (path == "/api" or path.startswith("/api/")) and not (
            method in READS and path.startswith(PUBLIC_API)
        )
        attempt = is_login or (api and "authorization" in headers)
        if attempt and (wait := self.throttle.retry_after(client)):
            retry = {"Retry-After": str(math.ceil(wait))}
            return 429, "too many wrong logins; try again later", retry
        if api:
            given = basic_credentials(headers.get("authorization"))
            if given is not None and (
                same_secret(given[0], self.auth[0]) & same_secret(given[1], self.auth[1])
            ):
                return None
            if "authorization" in headers:
                self.throttle.failed(client)
            challenge = {"WWW-Authenticate": 'Basic realm="Kabar", charset="UTF-8"'}
            return 401, "login required", challenge
        if method in READS or is_login:
            return None
        cookies = cookie_parser(headers.get("cookie", ""))
        if self.session is not None and self.session(cookies):
            return None
        return 401, "login required", {}

    def _watch_login(self, send: Send, client: str) -> Send:
        """Count a login that Gradio refused (it answers 400 to wrong credentials)."""

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                self.throttle.failed(client)
            await send(message)

        return watched


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    detail: str,
    headers: dict[str, Any] | None = None,
) -> None:
    """Answer without reading the body; the connection is closed so an unread body is dropped."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    response = JSONResponse({"detail": detail}, status_code=status, headers=headers)
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
