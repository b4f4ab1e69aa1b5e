"""A news site on 127.0.0.1 for the web tests: saved pages, an RSS and an Atom feed, and the
usual trouble (a 404, a slow page, redirects, a PDF, a page that changes), with a request log."""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WEB = Path(__file__).parent / "data" / "web"
LAST_MODIFIED = email.utils.formatdate(1_790_000_000, usegmt=True)
SLOW_SECONDS = 3.0


@dataclass(frozen=True)
class Request:
    path: str
    status: int
    conditional: bool
    user_agent: str


@dataclass
class Site:
    """What the server serves; tests swap `pages` entries to publish a change."""

    pages: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (body, type)
    redirects: dict[str, str] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    base: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def requests(self, prefix: str = "/") -> list[Request]:
        return [r for r in self.log if r.path.startswith(prefix)]

    def publish(self, path: str, file: Path) -> None:
        self.pages[path] = (file.read_bytes(), "text/html; charset=utf-8")


def default_site() -> Site:
    site = Site()
    for page in (WEB / "news").glob("*.html"):
        if ".v2." not in page.name:
            site.publish(f"/news/{page.name}", page)
    site.pages["/rss.xml"] = ((WEB / "rss.xml").read_bytes(), "application/rss+xml")
    site.pages["/atom.xml"] = ((WEB / "atom.xml").read_bytes(), "application/atom+xml")
    site.pages["/files/laporan-tahunan.pdf"] = (b"%PDF-1.4\n%fake\n", "application/pdf")
    site.pages["/slow/berita-lambat.html"] = site.pages["/news/festival-layang-layang.html"]
    site.redirects["/old/kites"] = "/news/festival-layang-layang.html"
    site.redirects["/loop/a"] = "/loop/b"
    site.redirects["/loop/b"] = "/loop/a"
    return site


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            status, headers, body = self._decide(path)
            # Logged before answering, so a client that has its answer finds it in the log.
            conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
            agent = self.headers.get("User-Agent", "")
            site.log.append(Request(path, status, conditional, agent))
            if status == 404:
                self.send_error(404)
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)  # the client may have given up (the slow page)

        def _decide(self, path: str) -> tuple[int, dict[str, str], bytes]:
            if path in site.redirects:
                return 301, {"Location": site.redirects[path]}, b""
            if path not in site.pages:
                return 404, {}, b""
            if path.startswith("/slow/"):
                time.sleep(SLOW_SECONDS)
            body, content_type = site.pages[path]
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                return 304, {"ETag": etag}, b""
            headers = {
                "Content-Type": content_type,
                "Content-Length": str(len(body)),
                "ETag": etag,
                "Last-Modified": LAST_MODIFIED,
            }
            return 200, headers, body

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(site: Site | None = None) -> Iterator[Site]:
    """Run the site on 127.0.0.1 (a free port) for the duration of the block."""
    site = site or default_site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
