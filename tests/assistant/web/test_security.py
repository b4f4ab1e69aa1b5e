"""Issue 18's attacks, replayed against the real app over real HTTP on 127.0.0.1.

Two servers run the app from `create_app` on one store (the bundled samples plus a few
articles indexed "from the CLI"): one open, bound to loopback with its `Host` allow-list, and
one with a login (a non-ASCII password). Where an attack used Gradio's wire protocol, so does
the test: `POST /gradio_api/queue/join`, then the event stream of `/gradio_api/queue/data`.
"""

from __future__ import annotations

import base64
import itertools
import json
import socket
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from assistant.answer.pipeline import Assistant
from assistant.settings import Settings
from assistant.web.guard import allowed_hosts_for
from assistant.web.library import Library
from assistant.web.limits import Limits
from assistant.web.server import create_app
from assistant.web.services import Services, uploads_folder
from assistant.web.uploads import UploadError, discard_received, received_upload
from index.chunking import Chunker, embedding_text
from index.embed.embedder import Embedder
from index.indexing import Indexer
from index.records import Article
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store.chroma import Store
from tests.fixtures.paths import SAMPLES, model_cache
from tests.fixtures.proc import free_port
from tests.fixtures.tables import body_rows

USER, PASSWORD = "meja", "kata-sandi-é✓"  # non-ASCII: it used to work for the chat only
LIMITS = Limits()
ORIGINALS = [
    {
        "id": "kabar-asli-1",
        "title": "Bendungan Lawe Sikap di Aceh Tenggara Diresmikan",
        "url": "https://kabar.test/lawe-sikap",
        "published": "2026-03-03",
        "source": "Kabar Uji",
        "lang": "id",
        "text": "Bendungan Lawe Sikap di Aceh Tenggara diresmikan pada Selasa dengan kapasitas "
        "tampung 42 juta meter kubik.\n\nBendungan itu mengairi 6.300 hektare sawah di "
        "sebelas desa.",
    },
    {  # no id: its id is its canonical URL
        "title": "Jembatan Kaca Seruni Point Dibuka untuk Wisatawan",
        "url": "https://kabar.test/seruni-point",
        "published": "2026-03-10",
        "source": "Kabar Uji",
        "lang": "id",
        "text": "Jembatan kaca Seruni Point di Probolinggo dibuka untuk wisatawan dengan tiket "
        "Rp 35.000 per orang.\n\nJembatan sepanjang 120 meter itu menghadap Gunung Bromo.",
    },
    {
        "id": "kabar-asli-3",
        "title": "Pasar Terapung Lok Baintan Pindah Lokasi",
        "url": "https://kabar.test/lok-baintan",
        "published": "2026-03-12",
        "source": "Kabar Uji",
        "lang": "id",
        "text": "Pasar terapung Lok Baintan di Banjar pindah ke dermaga baru sejauh 800 meter "
        "dari lokasi lama.\n\nPedagang jukung mulai berjualan di dermaga baru pada Minggu.",
    },
    {  # Markdown, HTML and a bare address in the very sentence that answers the question
        "id": "kabar-md-1",
        "title": "Festival Layang-layang Parangkusumo Dihadiri Ribuan Penonton",
        "url": "https://kabar.test/layang-layang",
        "published": "2026-03-15",
        "source": "Kabar Uji",
        "lang": "id",
        "text": "Festival layang-layang Pantai Parangkusumo dihadiri 12.400 penonton menurut "
        "[hasil resmi](https://phish.invalid/login) panitia ![t](http://127.0.0.1:9/pixel.png) "
        "<img src=x onerror=alert(1)> **tebal** https://phish.invalid/bare $$\\href{https://"
        "phish.invalid/tex}{x}$$ pada Minggu.\n\nPeserta datang dari 14 negara.",
    },
]
MARKDOWN_QUESTION = "Berapa penonton festival layang-layang Pantai Parangkusumo?"


# ---------------------------------------------------------------- the servers


@dataclass
class Running:
    url: str
    services: Services
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start(
    services: Services, auth: tuple[str, str] | None, hosts: frozenset[str] | None
) -> Running:
    app = create_app(services, auth, hosts)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"kabar-test-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    return Running(f"http://127.0.0.1:{port}/", services, server, thread)


@dataclass
class World:
    root: Path
    gradio_temp: Path
    uploads: Path
    services: Services
    open: Running  # no login, bound to loopback with the Host allow-list
    locked: Running  # KABAR_AUTH set

    def store_texts(self) -> list[str]:
        store = self.services.searcher.store
        return [d for page in store._pages(["documents"]) for d in page["documents"]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[World]:
    root = tmp_path_factory.mktemp("security")
    gradio_temp = root / "gradio-temp"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GRADIO_TEMP_DIR", str(gradio_temp))  # Gradio's upload folder, read per call
        settings = Settings(
            store=StoreSettings(store=root / "kabar" / "store", model_cache=model_cache())
        )
        originals = root / "cli" / "originals.jsonl"
        originals.parent.mkdir()
        originals.write_text("\n".join(json.dumps(r) for r in ORIGINALS) + "\n", "utf-8")
        store = Store.open(settings.store)
        report = Indexer(store, embedder).run([SAMPLES, originals])
        assert not report.failed and report.added == 10 + len(ORIGINALS), report
        searcher = Searcher(store, embedder)
        uploads = uploads_folder(settings)
        services = Services.of(
            searcher,
            Assistant(settings, searcher),
            Library(settings.store, store, embedder, uploads),
        )
        assert services.limits == LIMITS
        open_server = start(services, None, allowed_hosts_for("127.0.0.1"))
        locked = start(services, (USER, PASSWORD), None)
        try:
            yield World(root, gradio_temp, uploads, services, open_server, locked)
        finally:
            open_server.stop()
            locked.stop()


# ---------------------------------------------------------------- Gradio's wire protocol


class Chat:
    """A raw client of the Gradio app: config, uploads, queue/join and the event stream."""

    def __init__(self, base: str, client: httpx.Client) -> None:
        self.base = base
        self.http = client
        self.config = client.get(base + "config").json()
        self.session = uuid.uuid4().hex[:10]

    def fn(self, api_name: str) -> int:
        return int(next(d["id"] for d in self.config["dependencies"] if d["api_name"] == api_name))

    def component(self, elem_id: str) -> dict[str, Any]:
        return next(
            c for c in self.config["components"] if c.get("props", {}).get("elem_id") == elem_id
        )

    def join(self, fn_index: int, data: list[Any]) -> httpx.Response:
        return self.http.post(
            self.base + "gradio_api/queue/join",
            json={
                "data": data,
                "event_data": None,
                "fn_index": fn_index,
                "trigger_id": None,
                "session_hash": self.session,
            },
        )

    def run(self, api_name: str, data: list[Any], timeout: float = 180) -> dict[str, Any]:
        """The `process_completed` message of one call (its `output.data`, or `output.error`)."""
        joined = self.join(self.fn(api_name), data)
        assert joined.status_code == 200, joined.text
        event_id = joined.json()["event_id"]
        with self.http.stream(
            "GET",
            self.base + "gradio_api/queue/data",
            params={"session_hash": self.session},
            timeout=timeout,
        ) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") == event_id and message["msg"] == "process_completed":
                    return dict(message)
        raise AssertionError(f"no result for {api_name}")

    def upload(self, name: str, content: bytes) -> dict[str, Any]:
        """A file sent the way the browser sends it, as the record the handler receives."""
        response = self.http.post(
            self.base + "gradio_api/upload", files={"files": (name, content, "text/markdown")}
        )
        assert response.status_code == 200, response.text
        [path] = response.json()
        return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def add(self, files: list[dict[str, Any]], replace: bool = False) -> dict[str, Any]:
        """The add tab's handler, with the inputs the issue's reproduction sent (plus replace)."""
        return self.run("index", [files, "", "", None, "English", replace])


def file_record(path: Path | str) -> dict[str, Any]:
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def rows(done: dict[str, Any]) -> list[list[str]]:
    """The add tab's results table (its header row has no cells)."""
    assert done["success"], done
    return body_rows(done["output"]["data"][0])


def login(base: str, client: httpx.Client, password: str = PASSWORD) -> httpx.Response:
    return client.post(base + "login", data={"username": USER, "password": password})


@pytest.fixture
def open_chat(world: World) -> Iterator[Chat]:
    with httpx.Client(timeout=60) as client:
        yield Chat(world.open.url, client)


@pytest.fixture
def locked_chat(world: World) -> Iterator[Chat]:
    with httpx.Client(timeout=60) as client:
        assert login(world.locked.url, client).json() == {"success": True}
        yield Chat(world.locked.url, client)


def api_auth() -> tuple[str, str]:
    return (USER, PASSWORD)


def search(world: World, query: str, k: int = 5) -> list[dict[str, Any]]:
    response = httpx.get(
        world.locked.url + "api/search", params={"q": query, "k": k}, auth=api_auth(), timeout=60
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


# ---------------------------------------------------------------- 1. any server file


def test_add_tab_refuses_a_server_path_sent_over_the_wire(
    world: World, locked_chat: Chat, tmp_path: Path
) -> None:
    """The issue's reproduction: log in, name a private server file in the add handler's
    file record, then search for its words. Nothing is copied, indexed or searchable: not the
    file, and not one planted in Gradio's upload folder without being uploaded."""
    secret = tmp_path / "secret.md"
    secret.write_text(
        "---\ntitle: Catatan rahasia\n---\n\nSandi brankas zirkonium kelabu Wanagiri 7731.\n",
        "utf-8",
    )
    secret.chmod(0o600)
    planted = world.gradio_temp / ("0" * 8) / "planted.md"  # in Gradio's folder, not uploaded
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(secret.read_text("utf-8"), "utf-8")
    before = files_under(world.uploads)
    temp_before = files_under(world.gradio_temp)

    done = locked_chat.add([file_record(secret)])
    if done["success"]:  # refused by the handler ...
        [row] = rows(done)
        assert row[1] == "failed" and "not a file uploaded" in row[2], row
    else:  # ... or before it, by Gradio's own check
        assert "not uploaded" in str(done["output"]["error"]), done
    [row] = rows(locked_chat.add([file_record(planted)]))
    assert row[1] == "failed" and "not a file uploaded" in row[2], row

    hits = search(world, "sandi brankas zirkonium kelabu Wanagiri")
    assert not any("zirkonium" in hit["text"] for hit in hits)
    assert not any("zirkonium" in text for text in world.store_texts())
    assert files_under(world.uploads) == before  # not copied to the uploads folder
    assert files_under(world.gradio_temp) == temp_before  # nor into Gradio's cache
    assert secret.exists() and planted.exists()  # nor deleted: only received files are
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_received_upload_accepts_only_what_the_upload_route_returned(tmp_path: Path) -> None:
    """The check behind the add tab, on its own: membership, location, no symlinks; and
    cleaning up never touches a file that was not received."""
    folder = tmp_path / "gradio"
    real = folder / "abc123" / "berita.md"
    real.parent.mkdir(parents=True)
    real.write_text("isi", "utf-8")
    outside = tmp_path / "rahasia.md"
    outside.write_text("rahasia", "utf-8")
    link = folder / "def456" / "tautan.md"
    link.parent.mkdir()
    link.symlink_to(outside)
    received = {str(real), str(link), str(outside)}
    assert received_upload(str(real), received, folder) == real
    for path in (link, outside, folder / "abc123" / ".." / "abc123" / "berita.md"):
        with pytest.raises(UploadError, match="not a file uploaded"):
            received_upload(str(path), received, folder)
    with pytest.raises(UploadError):
        received_upload(str(real), set(), folder)

    discard_received(str(outside), set(), folder)  # not received: left alone
    discard_received(str(link), received, folder)  # a symlink: the link's target survives
    discard_received(str(real), received, folder)
    assert outside.read_text("utf-8") == "rahasia"
    assert not real.exists() and not real.parent.exists() and str(real) not in received


def test_a_real_upload_is_indexed_and_kept_once(world: World, open_chat: Chat) -> None:
    """The browser's way still works: upload, then index; Gradio's copy is then deleted, and
    a file that indexes nothing leaves no copy behind either."""
    before = files_under(world.uploads)
    article = (
        "---\ntitle: Kebun Raya Liwa Tambah Koleksi Anggrek\nsource: Kabar Uji\nlang: id\n---\n\n"
        "Kebun Raya Liwa di Lampung Barat menambah 75 jenis anggrek hutan ke koleksinya.\n"
    )
    good = open_chat.upload("anggrek liwa.md", article.encode("utf-8"))
    empty = open_chat.upload("kosong.md", b"   \n")
    assert Path(good["path"]).is_relative_to(world.gradio_temp)

    result = rows(open_chat.add([good, empty]))
    assert sorted(row[1] for row in result) == ["added", "failed"], result
    assert "75 jenis anggrek" in search(world, "koleksi anggrek Kebun Raya Liwa", k=1)[0]["text"]
    new = files_under(world.uploads) - before
    assert len(new) == 1 and next(iter(new)).read_text("utf-8") == article
    assert not Path(good["path"]).exists() and not Path(empty["path"]).exists()
    assert {p.name for p in files_under(world.gradio_temp)} <= {"planted.md"}

    # Sending the same record again is refused: that upload is used up.
    again = rows(open_chat.add([good]))
    assert again[0][1] == "failed" and "not a file uploaded" in again[0][2]


# ---------------------------------------------------------------- 2. replacing articles


def jsonl(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")


def test_uploads_do_not_replace_articles_from_elsewhere(world: World, open_chat: Chat) -> None:
    forged = "Bendungan Lawe Sikap jebol dan menewaskan 99 orang menurut kabar palsu."
    same_id = open_chat.upload("palsu.jsonl", jsonl({"id": "kabar-asli-1", "text": forged}))
    same_url = open_chat.upload(
        "palsu-url.jsonl",
        jsonl({"url": "https://kabar.test/seruni-point", "text": "Jembatan kaca runtuh total."}),
    )
    before = files_under(world.uploads)
    result = rows(open_chat.add([same_id, same_url]))
    assert [row[1] for row in result] == ["failed", "failed"], result
    assert "kabar-asli-1" in result[0][2] and "replace" in result[0][2]
    assert "https://kabar.test/seruni-point" in result[1][2]
    texts = world.store_texts()
    assert not any("palsu" in t or "runtuh total" in t for t in texts)
    assert any("42 juta meter kubik" in t for t in texts)
    assert files_under(world.uploads) == before  # refused files are not kept

    # Uploads still update their own articles, and replacing works when the user asks for it.
    mine = open_chat.upload("unggahan.jsonl", jsonl({"id": "unggahan-1", "text": "Versi satu."}))
    assert rows(open_chat.add([mine]))[0][1] == "added"
    mine = open_chat.upload("unggahan.jsonl", jsonl({"id": "unggahan-1", "text": "Versi dua."}))
    assert rows(open_chat.add([mine]))[0][1] == "updated"
    moved = "Pasar terapung Lok Baintan kembali ke lokasi lama setelah dermaga baru rusak."
    asked = open_chat.upload("ganti.jsonl", jsonl({"id": "kabar-asli-3", "text": moved}))
    assert rows(open_chat.add([asked], replace=True))[0][1] == "updated"
    assert any(moved in t for t in world.store_texts())


# ---------------------------------------------------------------- 3. article Markdown


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def message_text(content: Any) -> str:
    """A chat message's text, whether Gradio sends it as a string or as typed parts."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_article_markdown_stays_text_in_the_chat(world: World, open_chat: Chat) -> None:
    chatbot = open_chat.component("kabar-chat")["props"]
    # The chat shows messages as HTML, and only HTML built by `render`: no Markdown, no LaTeX.
    assert chatbot["render_markdown"] is False and not chatbot["latex_delimiters"]
    assert chatbot["sanitize_html"] is True

    question = MARKDOWN_QUESTION + " <img src=x onerror=alert(2)> [klik](https://phish.invalid/q)"
    done = open_chat.run("respond_1", [question, [], None, "English", "id", "", "", [], []])
    assert done["success"], done
    chat, _pairs, panel, _box = done["output"]["data"]
    messages = [message_text(m["content"]) for m in chat]
    assert "12.400" in messages[-1] and "phish.invalid/login" in messages[-1]  # shown ...
    for text in messages:
        for tag, attrs in tags(text):  # ... and inert: only citation links and line breaks
            assert tag in ("a", "br"), (tag, attrs)
            if tag == "a":
                assert attrs.get("class") == "kabar-cite"
                assert str(attrs.get("href")).startswith("#kabar-src-")
    assert "phish.invalid/login" in panel
    for tag, attrs in tags(panel):
        assert tag != "img"
        if tag == "a":
            assert attrs.get("href") == "https://kabar.test/layang-layang", attrs


# ---------------------------------------------------------------- 4. quadratic chunking


def test_chunking_100k_one_token_words(embedder: Embedder) -> None:
    """One-token words once counted zero tokens and made each piece rescan the rest of the
    paragraph (100k words: 50 s); see bench/chunk_linear.py for the timings."""
    words = [chr(ord("a") + i % 26) for i in range(100_000)]
    chunker = Chunker(
        lambda texts: embedder.count_tokens(texts, "passage"),
        limit=embedder.max_tokens,
        target=160,
    )
    chunks = chunker.chunk(Article(id="satu-token", title="T", paragraphs=(" ".join(words),)))
    assert " ".join(c.text for c in chunks).split() == words
    counts = chunker.count_tokens([embedding_text(c.title, c.text) for c in chunks])
    assert max(counts) <= embedder.max_tokens
    # Each piece is as large as the model allows: one more word would not fit.
    budget = embedder.max_tokens - chunker._overhead("T")
    grown = [f"{c.text} {after.text.split()[0]}" for c, after in itertools.pairwise(chunks)]
    assert min(chunker.count_tokens(grown)) > budget


# ---------------------------------------------------------------- 5. bodies before login


def raw_post(base: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, str]:
    """Send a request's headers (and `body`, however short of its Content-Length), then read
    the answer: it can only come back if the server refused without waiting for the body."""
    host, port = base.removeprefix("http://").strip("/").split(":")
    lines = [
        f"POST /{path} HTTP/1.1",
        f"Host: {host}:{port}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head = reply.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split(" ", 2)[1]), head


HUGE = {"Content-Type": "application/json", "Content-Length": "500000000"}


@pytest.mark.parametrize("path", ["api/ask", "gradio_api/queue/join", "gradio_api/upload"])
def test_unauthenticated_bodies_are_refused_on_their_headers(world: World, path: str) -> None:
    status, _ = raw_post(world.locked.url, path, HUGE, b"{")
    assert status == 401


@pytest.mark.parametrize("path", ["api/ask", "gradio_api/queue/join", "gradio_api/upload"])
def test_oversized_bodies_are_refused_on_their_headers(world: World, path: str) -> None:
    status, _ = raw_post(world.open.url, path, HUGE, b"{")
    assert status == 413
    credentials = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    if path.startswith("api/"):  # logged in, still too big
        status, _ = raw_post(
            world.locked.url, path, {**HUGE, "Authorization": f"Basic {credentials}"}, b"{"
        )
        assert status == 413


def test_a_chunked_body_is_cut_off_at_the_limit(world: World) -> None:
    size = LIMITS.request_bytes + 1
    chunk = b"x" * size
    body = f"{size:x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n"
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, _ = raw_post(world.open.url, "api/ask", headers, body)
    assert status == 413


def test_a_validation_error_does_not_echo_the_body(world: World) -> None:
    junk = "x" * 1_000_000
    response = httpx.post(
        world.open.url + "api/ask", json={"question": "apa?", "history": junk}, timeout=60
    )
    assert response.status_code == 422
    assert len(response.content) < 5_000 and "xxxxxxxx" not in response.text
    response = httpx.post(world.open.url + "gradio_api/queue/join", json={"data": junk}, timeout=60)
    assert response.status_code == 422
    assert len(response.content) < 5_000


# ---------------------------------------------------------------- 6. limits on Gradio


def test_gradio_endpoints_have_the_api_limits(world: World, open_chat: Chat) -> None:
    done = open_chat.run("search", ["banjir Pekalongan", 100_000])
    assert not done["success"] and "k must be" in str(done["output"]["error"])
    done = open_chat.run("search", ["banjir", 3])
    assert done["success"] and len(done["output"]["data"][0]) == 3
    long_question = "banjir " * (LIMITS.question_chars // 7 + 1)
    for api_name, data in (("search", [long_question, 5]), ("ask", [long_question, ""])):
        done = open_chat.run(api_name, data)
        assert not done["success"] and "over the limit" in str(done["output"]["error"])

    # The chat: an over-long question is answered with the limit, not searched for.
    done = open_chat.run("respond_1", [long_question, [], None, "English", "id", "", "", [], []])
    chat = done["output"]["data"][0]
    assert len(chat) == 1 and str(LIMITS.question_chars) in json.dumps(chat)

    # Ten megabytes of question, or of chat history, never reach a handler.
    ten_mb = "a" * 10_000_000
    assert open_chat.join(open_chat.fn("ask"), [ten_mb, ""]).status_code == 413
    history = [{"role": "user", "content": ten_mb}]
    respond = open_chat.fn("respond_1")
    data = ["apa?", history, None, "English", "id", "", "", [], []]
    assert open_chat.join(respond, data).status_code == 413

    # The add tab takes at most `upload_files` files per click.
    one = open_chat.upload("satu.md", b"---\ntitle: Satu\n---\n\nSatu berkas kecil.\n")
    done = open_chat.add([one] * (LIMITS.upload_files + 1))
    assert done["success"] and done["output"]["data"][0] == ""
    assert f"At most {LIMITS.upload_files} files" in done["output"]["data"][1]


def test_json_api_limits(world: World) -> None:
    url = world.open.url + "api/"
    ok = httpx.get(url + "search", params={"q": "banjir", "k": LIMITS.max_k}, timeout=60)
    assert ok.status_code == 200
    bad = [
        httpx.get(url + "search", params={"q": "banjir", "k": LIMITS.max_k + 1}),
        httpx.get(url + "search", params={"q": "a" * (LIMITS.question_chars + 1)}),
        httpx.post(url + "ask", json={"question": "apa?", "history": [["q", "a"]] * 21}),
        httpx.post(url + "ask", json={"question": "apa?", "history": [["q", "a" * 60_000]]}),
        httpx.post(url + "ask", json={"question": "apa?", "sources": ["x"] * 51}),
    ]
    assert [r.status_code for r in bad] == [422] * len(bad)


# ---------------------------------------------------------------- 7. the rest


@pytest.mark.parametrize("question", ["   ", "\t\n", "\u00a0\u00a0", "\u3000"])
def test_blank_questions_are_422(world: World, question: str) -> None:
    url = world.open.url + "api/"
    assert httpx.post(url + "ask", json={"question": question}).status_code == 422
    assert httpx.get(url + "search", params={"q": question}).status_code == 422


def test_lone_surrogates_are_422(world: World) -> None:
    url = world.open.url + "api/ask"
    headers = {"Content-Type": "application/json"}
    for body in ('{"question": "\\ud800"}', '{"question": "apa?", "history": [["\\udfff", "a"]]}'):
        assert httpx.post(url, content=body, headers=headers).status_code == 422


@pytest.mark.parametrize("date", ["2026-13-45", "2026-02-30", "20260101", "2026-1-1"])
def test_invalid_dates_are_refused(world: World, open_chat: Chat, date: str) -> None:
    url = world.open.url + "api/"
    assert httpx.get(url + "search", params={"q": "banjir", "from": date}).status_code == 422
    response = httpx.post(url + "ask", json={"question": "banjir?", "date_to": date})
    assert response.status_code == 422
    done = open_chat.run("respond_1", ["banjir?", [], None, "English", "id", date, "", [], []])
    assert "YYYY-MM-DD" in json.dumps(done["output"]["data"][0])
    ok = httpx.get(url + "search", params={"q": "banjir", "from": "2026-02-28"}, timeout=60)
    assert ok.status_code == 200


def test_a_non_ascii_password_works_for_the_api_and_the_chat(world: World) -> None:
    url = world.locked.url
    assert httpx.get(url + "api/search", params={"q": "banjir"}).status_code == 401
    wrong = httpx.get(url + "api/search", params={"q": "banjir"}, auth=(USER, "kata-sandi-e"))
    assert wrong.status_code == 401
    right = httpx.get(url + "api/search", params={"q": "banjir"}, auth=api_auth(), timeout=60)
    assert right.status_code == 200 and right.json()
    with httpx.Client() as client:
        assert login(url, client).json() == {"success": True}
        assert Chat(url, client).run("search", ["banjir", 2])["success"]


def test_cancel_and_reset_need_a_login(world: World) -> None:
    for path in ("gradio_api/cancel", "gradio_api/reset"):
        body = {"session_hash": "x", "fn_index": 0, "event_id": "x"}
        assert httpx.post(world.locked.url + path, json=body).status_code == 401
        assert httpx.post(world.open.url + path, json=body).status_code != 401


def test_host_allow_list_on_loopback(world: World) -> None:
    port = world.open.url.rsplit(":", 1)[1].strip("/")
    for host, expected in (
        ("evil.example", 400),
        (f"rebound.example:{port}", 400),
        (f"localhost:{port}", 200),
        (f"127.0.0.1:{port}", 200),
        (f"[::1]:{port}", 200),
    ):
        response = httpx.get(world.open.url + "api/search?q=banjir", headers={"Host": host})
        assert response.status_code == expected, host
    assert allowed_hosts_for("0.0.0.0") is None
    assert allowed_hosts_for("0.0.0.0", ["kabar.example"]) == {"kabar.example"}
    assert "kabar.lan" in (allowed_hosts_for("127.0.0.1", ["Kabar.LAN"]) or ())
    settings = Settings.from_env({"KABAR_ALLOWED_HOSTS": "kabar.lan, proxy.lan"})
    assert settings.serve.allowed_hosts == ("kabar.lan", "proxy.lan")


def test_a_cross_site_page_can_neither_read_nor_write(world: World, open_chat: Chat) -> None:
    """What the README's threat model says of web pages: no CORS grant to another origin, and
    the calls that change something refuse a form's content types."""
    evil = {"Origin": "http://evil.example"}
    for path in ("api/search?q=banjir", "config"):
        response = httpx.get(world.open.url + path, headers=evil, timeout=60)
        assert "access-control-allow-origin" not in response.headers, path
    preflight = httpx.options(
        world.open.url + "gradio_api/queue/join",
        headers={**evil, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    body = json.dumps(
        {"data": ["banjir", 2], "fn_index": open_chat.fn("search"), "session_hash": "x"}
    )
    for path in ("gradio_api/queue/join", "api/ask"):
        response = httpx.post(
            world.open.url + path, content=body, headers={**evil, "Content-Type": "text/plain"}
        )
        assert response.status_code == 422, path


def test_wrong_logins_are_rate_limited(world: World) -> None:
    """From its own address (127.0.0.2), so the other tests' logins are not held up."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    url = world.locked.url
    with httpx.Client(transport=transport, timeout=30) as client:
        statuses = [login(url, client, "salah").status_code for _ in range(LIMITS.login_failures)]
        assert statuses == [400] * LIMITS.login_failures
        assert login(url, client, "salah").status_code == 429
        blocked = login(url, client)  # the right password waits too
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        api = client.get(url + "api/search", params={"q": "banjir"}, auth=api_auth())
        assert api.status_code == 429
    with httpx.Client(timeout=30) as other:  # another address is not affected
        assert login(url, other).json() == {"success": True}
