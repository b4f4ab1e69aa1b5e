"""The real app in a real browser: `python app.py` on a free port, driven by headless Chromium.

Also the app's APIs: `gradio_client` against the named endpoints and `curl` against the JSON API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.web.ui_text import LANGUAGES, TEXT
from index.crawl.feeds import FeedList
from index.settings import StoreSettings
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures.paths import REPO, SAMPLES, TEST_DATA, model_cache
from tests.fixtures.webserver import Site, serve

HOSTILE = """---
title: <script>window.__kabarPwned = 'title'</script>Warga Desa Sukamaju Panen Raya Durian
source: <img src=x onerror="window.__kabarPwned='source'">Kabar Uji
url: javascript:window.__kabarPwned='url'
date: 2026-09-01
lang: id
---

Warga Desa Sukamaju merayakan panen raya durian pada Sabtu <img src=x onerror="window.__kabarPwned='img'"> dengan hasil 48 ton buah.

Kepala desa Sukamaju, Darmaji, menyebut harga durian montong mencapai Rp 65.000 per kilogram <script>window.__kabarPwned='body'</script> di pasar desa.
"""
MARKDOWN_RECORD = {  # JSON text is not Markdown-stripped on the way in, as a .md page is
    "id": "markdown-1",
    "title": "Festival Layang-layang Parangkusumo [x](https://phish.invalid/title)",
    "url": "https://kabar.test/layang-layang",
    "published": "2026-03-15",
    "source": "Kabar Uji",
    "lang": "id",
    "text": "Festival layang-layang Pantai Parangkusumo dihadiri 12.400 penonton menurut "
    "[hasil resmi](https://phish.invalid/login) panitia ![t](http://127.0.0.1:9/pixel.png) "
    "dan https://phish.invalid/bare pada Minggu.\n\nPeserta datang dari 14 negara.",
}
NEW_ARTICLE = """---
title: Kota Tegal Resmikan Jalur Sepeda Sepanjang 14 Kilometer
date: 2026-10-05
source: Kabar Contoh
lang: id
---

Pemerintah Kota Tegal meresmikan jalur sepeda sepanjang 14 kilometer yang menghubungkan Alun-alun Tegal dengan Pantai Alam Indah, Senin (5/10/2026).

Wali Kota Tegal, Herlina Susanti, mengatakan pembangunan jalur itu menelan biaya Rp 9,3 miliar dan dikerjakan selama tujuh bulan.
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


SERVER_LOGS: dict[str, Path] = {}  # app URL -> its server's output
SERVER_ENVS: dict[str, dict[str, str]] = {}  # app URL -> the environment naming its store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled samples plus a hostile article, indexed; then `python app.py` serving them."""
    root = tmp_path_factory.mktemp("ui")
    hostile = root / "in" / "hostile.md"
    hostile.parent.mkdir()
    hostile.write_text(HOSTILE, "utf-8")
    markdown = root / "in" / "markdown.jsonl"
    markdown.write_text(json.dumps(MARKDOWN_RECORD) + "\n", "utf-8")
    env = {
        **os.environ,
        "KABAR_STORE": str(root / "store"),
        "KABAR_MODEL_CACHE": str(model_cache()),
    }
    kabar = str(Path(sys.executable).parent / "kabar")
    indexed = subprocess.run(
        [kabar, "index", str(SAMPLES), str(hostile), str(markdown), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert indexed.returncode == 0, indexed.stderr
    port = free_port()
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.time() > deadline:
            pytest.fail(f"app did not start: {(root / 'server.log').read_text()}")
        time.sleep(0.5)
    SERVER_LOGS[url] = root / "server.log"
    SERVER_ENVS[url] = env
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app_url)
    page.locator("#kabar-question textarea").wait_for(timeout=60_000)
    page.dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    context.close()


BOTS = "#kabar-chat .message.bot, #kabar-chat [data-testid='bot']"


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    """Type a question, send it, and wait for the final answer: every `[n]` it shows links to a
    source card in the panel (while it streams, its links point to cards not drawn yet)."""
    before = page.locator(BOTS).count()
    page.locator("#kabar-question textarea").fill(question)
    page.locator("#kabar-question textarea").press("Enter")
    page.wait_for_function(
        """([bots, before]) => {
            const shown = document.querySelectorAll(bots);
            if (shown.length <= before) return false;
            const cites = [...shown[shown.length - 1].querySelectorAll("a.kabar-cite")];
            const panel = document.querySelector("#kabar-sources");
            return cites.length > 0 && cites.every((a) => {
                const card = document.getElementById((a.getAttribute("href") || "").slice(1));
                return card && panel.contains(card);
            });
        }""",
        arg=[BOTS, before],
        timeout=300_000,  # the first answer loads the model; the machine may be shared
    )
    page.wait_for_timeout(500)


def cite_number(link) -> str:  # type: ignore[no-untyped-def]
    """What follows `kabar-src-` in the id of the card a citation link opens."""
    return str(link.get_attribute("href")).removeprefix("#kabar-src-")


def check_citations(page) -> list[str]:  # type: ignore[no-untyped-def]
    cites = page.locator("#kabar-chat a.kabar-cite")
    assert cites.count() >= 1
    numbers = sorted({cite_number(cites.nth(i)) for i in range(cites.count())})
    for n in numbers:
        assert page.locator(f"#kabar-sources #kabar-src-{n}").count() == 1, n
    return numbers


def test_ask_in_indonesian_and_english_with_citations(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Berapa biaya pembangunan sistem peringatan dini banjir di Pekalongan?")
    check_citations(page)
    chat_text = page.locator("#kabar-chat").inner_text()
    assert "6,8 miliar" in chat_text
    card_text = page.locator("#kabar-sources").inner_text()
    assert "Pekalongan" in card_text and "Kabar Contoh" in card_text

    # Clicking a citation highlights its card and reveals the paragraph.
    first = page.locator("#kabar-chat a.kabar-cite").first
    n = cite_number(first)
    card = page.locator(f"#kabar-src-{n}")
    assert not card.locator("details p").first.is_visible()
    first.click()
    page.wait_for_timeout(300)
    assert "kabar-active" in (card.get_attribute("class") or "")
    assert card.locator("details p").first.is_visible()
    assert card.locator("details mark").count() >= 1

    page.locator("#kabar-clear").click()
    page.wait_for_function(
        "() => !document.querySelector(\"#kabar-chat .message.bot, #kabar-chat [data-testid='bot']\")"
    )
    ask(page, "Who won the women's race at the Malang Highland Marathon?")
    check_citations(page)
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)
    if os.environ.get("KABAR_UPDATE_SCREENSHOT"):
        shutil.copyfile(tmp_path / "answer.png", REPO / "docs" / "screenshot.png")
    assert not page.dialogs


def front_matter(sample: str) -> dict[str, str]:
    """The fields of a bundled sample's front matter (its title and outlet, among others)."""
    text = next(SAMPLES.glob(f"*{sample}*.md")).read_text("utf-8")
    lines = text.split("---")[1].strip().splitlines()
    return dict(line.split(": ", 1) for line in lines)


def open_citation(page, answer, n: int = 1):  # type: ignore[no-untyped-def]
    """Click `[n]` in one answer of the chat; the one highlighted source card it opened."""
    answer.locator("a.kabar-cite", has_text=f"[{n}]").first.click()
    page.wait_for_timeout(500)
    active = page.locator("#kabar-sources .kabar-card.kabar-active")
    assert active.count() == 1
    return active


FLOOD_QUESTION = "Berapa biaya pembangunan sistem peringatan dini banjir di Pekalongan?"
MARATHON_QUESTION = "Who won the women's race at the Malang Highland Marathon?"


def test_each_answer_keeps_its_own_sources(page) -> None:  # type: ignore[no-untyped-def]
    """Issue 13 (4): [1] in an earlier answer highlighted the latest answer's card 1, an
    unrelated article, and switching the interface language emptied the sources panel."""
    flood, marathon = front_matter("pekalongan"), front_matter("malang")
    ask(page, FLOOD_QUESTION)
    ask(page, MARATHON_QUESTION)
    check_citations(page)  # every [n] of both answers has its card in the panel
    for code in ("id", "en"):
        if code == "en":
            set_language(page, "en")
        messages = page.locator("#kabar-chat [data-testid='bot']")  # one per message
        answers = messages.filter(has=page.locator("a.kabar-cite"))
        assert answers.count() == 2
        for answer, article, question in (
            (answers.first, flood, FLOOD_QUESTION),
            (answers.last, marathon, MARATHON_QUESTION),
            (answers.first, flood, FLOOD_QUESTION),  # back to the older one
        ):
            card = open_citation(page, answer)
            assert article["title"] in card.locator(".kabar-card-head").inner_text()
            assert article["source"] in card.locator(".kabar-meta").inner_text()
            assert card.is_visible() and card.locator("details p").first.is_visible()
            assert card.locator("details mark").count() >= 1
            # The cards say which answer they belong to: they sit under its question.
            group = card.locator("xpath=ancestor::*[contains(@class, 'kabar-answer')][1]")
            assert question in group.locator(".kabar-answer-head").inner_text()
        panel = page.locator("#kabar-sources").text_content() or ""
        assert TEXT[code]["show_paragraph"] in panel  # the cards' labels follow the interface
    assert not page.dialogs


def test_upload_then_ask_about_it(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    article = tmp_path / "jalur sepeda tegal é.md"  # spaces and non-ASCII in the name
    article.write_text(NEW_ARTICLE, "utf-8")
    page.get_by_role("tab").nth(1).click()
    page.locator("#kabar-files input[type=file]").set_input_files(str(article))
    page.wait_for_timeout(1000)
    page.locator("#kabar-index").click()
    page.wait_for_function(
        "() => document.querySelector('#kabar-index-results') &&"
        " document.querySelector('#kabar-index-results').innerText.includes('ditambah')",
        timeout=120_000,
    )
    assert "jalur sepeda tegal" in page.locator("#kabar-index-results").inner_text()
    page.get_by_role("tab").nth(0).click()
    ask(page, "Berapa panjang jalur sepeda yang diresmikan di Kota Tegal?")
    check_citations(page)
    assert "Tegal" in page.locator("#kabar-sources").inner_text()


def test_hostile_article_is_shown_as_text(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Berapa ton durian dipanen warga Desa Sukamaju?")
    sources = page.locator("#kabar-sources")
    assert "Sukamaju" in sources.inner_text()
    page.locator("#kabar-chat a.kabar-cite").first.click()
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__kabarPwned") is None
    assert sources.locator("script").count() == 0
    assert sources.locator("img").count() == 0
    assert page.locator("#kabar-chat img[src='x']").count() == 0
    assert "<script>" in sources.inner_text()  # the payload is visible, as text
    assert all(
        not (a.get_attribute("href") or "").startswith("javascript")
        for a in sources.locator("a").all()
    )
    assert not page.dialogs


def test_article_markdown_is_shown_as_text(page) -> None:  # type: ignore[no-untyped-def]
    """Issue 18: Markdown in a JSON record's text and title became a live link and an image
    the browser fetched; in the chat, the sources and the Library it is text."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    ask(page, "Berapa penonton festival layang-layang Pantai Parangkusumo?")
    assert "phish.invalid/login" in page.locator("#kabar-chat").inner_text()
    assert "phish.invalid/login" in (page.locator("#kabar-sources").text_content() or "")
    open_tab(page, "id", "library_tab")
    page.locator("#kabar-lib-table").get_by_text("Parangkusumo").first.wait_for(timeout=60_000)
    assert "phish.invalid/title" in page.locator("#kabar-lib-table").inner_text()
    assert page.locator("a[href*='phish'], img[src*='pixel'], #kabar-chat img").count() == 0
    assert not [url for url in requested if "pixel" in url or "phish" in url]


def test_gradio_client_and_json_api(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    answer = client.predict("Who won the Malang Highland Marathon?", "", api_name="/ask")
    # The documented shape of `kabar ask --json`, plus `related` (closest articles when abstaining).
    assert set(answer) == {"answer", "lang", "abstained", "citations", "related"}
    assert answer["lang"] == "en" and answer["citations"]
    hits = client.predict("Gunung Slamet", 3, api_name="/search")
    assert len(hits) == 3 and "Slamet" in json.dumps(hits)

    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    out = subprocess.run(
        [curl, "-sf", f"{app_url}api/search?q=feri%20Waingapu&k=2"], capture_output=True, text=True
    )
    hits = json.loads(out.stdout)
    assert len(hits) == 2 and {"article_id", "paragraphs", "text", "score"} <= set(hits[0])
    out = subprocess.run(
        [
            curl,
            "-sf",
            "-X",
            "POST",
            f"{app_url}api/ask",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps({"question": "Kapan status Gunung Slamet dinaikkan?"}),
        ],
        capture_output=True,
        text=True,
    )
    answer = json.loads(out.stdout)
    assert answer["lang"] == "id" and not answer["abstained"]
    assert all(f"[{c['n']}]" in answer["answer"] for c in answer["citations"])


# --- issue 15: languages, phone, dark mode, offline API docs, library, accessibility ---------

# Gradio's own texts (its i18n) and Kabar's result words, which must follow the interface.
FOREIGN = {
    "id": {
        "Drop File Here",
        "Click to Upload",
        "- or -",
        "Use via API",
        "Copy message",
        "Copy table data",
        "Fullscreen",
        "auto",
        "added",
        "updated",
        "unchanged",
        "failed",
        "pasted",
    },
    "en": {
        "Letakkan File di Sini",
        "Klik untuk Mengunggah",
        "- atau -",
        "Gunakan melalui API",
        "Bersihkan obrolan",
        "ditambah",
        "diperbarui",
        "gagal",
        "ditempel",
    },
}
VISIBLE_STRINGS = """() => {
  const seen = new Set();
  const shown = (el) => el && (!el.checkVisibility || el.checkVisibility());
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    const text = walker.currentNode.textContent.trim();
    if (text && shown(el) && !el.closest("script, style")) seen.add(text);
  }
  for (const el of document.querySelectorAll("input, textarea, button, [aria-label], [title]")) {
    if (!shown(el)) continue;
    const value = ["INPUT", "TEXTAREA"].includes(el.tagName) && el.type !== "file" ? el.value : "";
    for (const v of [el.placeholder, el.getAttribute("aria-label"), el.title, value]) {
      if (v && v.trim()) seen.add(v.trim());
    }
  }
  return [...seen];
}"""
PASTED_TITLE = "Pameran Batik Kudus Menarik 12.000 Pengunjung dalam Tiga Hari"
PASTED_TEXT = (
    "Pameran batik di Alun-alun Kudus menarik 12.000 pengunjung selama tiga hari, kata panitia.\n\n"
    "Sebanyak 85 perajin memamerkan motif kretek dan beras tumpah dengan transaksi Rp 1,2 miliar."
)


def open_page(browser, url: str, **context_args):  # type: ignore[no-untyped-def]
    context = browser.new_context(**({"viewport": {"width": 1400, "height": 1000}} | context_args))
    page = context.new_page()
    page.goto(url)
    page.locator("#kabar-question textarea").wait_for(timeout=60_000)
    return page


def set_language(page, code: str) -> None:  # type: ignore[no-untyped-def]
    label = next(name for name, c in LANGUAGES.items() if c == code)
    page.locator("#kabar-ui-lang").get_by_label(label).check()
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('[role=tab]')].some((e) => e.innerText.trim() === t)",
        arg=TEXT[code]["library_tab"],
    )
    page.wait_for_timeout(800)


def open_tab(page, code: str, key: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("tab", name=TEXT[code][key], exact=True).first.click()
    page.wait_for_timeout(800)


def stray_strings(page, code: str) -> list[str]:  # type: ignore[no-untyped-def]
    other = "en" if code == "id" else "id"
    own = set(TEXT[code].values())
    foreign = {v for v in TEXT[other].values() if v not in own and "{" not in v} | FOREIGN[code]
    shown = page.evaluate(VISIBLE_STRINGS)
    return sorted(s for s in shown if s in foreign or s.startswith("common."))


FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Pontianak Hari Ini (fiksi)</title><link>http://127.0.0.1/</link>
<description>Umpan RSS untuk pengujian Kabar</description>
<item><title>Jembatan Kapuas III ditutup sementara</title>
<link>/news/jembatan-sungai-kapuas.html</link></item>
</channel></rss>
"""
FEED_ROWS = """() => [...document.querySelectorAll("#kabar-feeds-table tbody tr")].map(
  (row) => [...row.querySelectorAll("td")].map((cell) => cell.innerText.trim())
)"""


def feed_rows(page, count: int) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The Library's feed table once it lists `count` feeds: URL -> its row's other cells."""
    page.wait_for_function(f"() => ({FEED_ROWS})().length === {count}", timeout=60_000)
    return {row[0]: row[1:] for row in page.evaluate(FEED_ROWS)}


def test_library_shows_followed_feeds_and_their_last_poll(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    """Feeds followed with `kabar feeds add` and polled with `kabar index --feeds` while the
    chat runs: the Library shows each with its last poll, in the interface language."""
    env = SERVER_ENVS[app_url]
    feeds = FeedList.for_settings(StoreSettings.from_env(env))  # what `kabar feeds add` does
    site = Site()
    site.pages["/feed.xml"] = (FEED, "application/rss+xml")
    site.publish(
        "/news/jembatan-sungai-kapuas.html", TEST_DATA / "web/news/jembatan-sungai-kapuas.html"
    )
    day = time.strftime("%Y-%m-%d", time.gmtime())
    with serve(site):
        good, missing, later = (site.url(p) for p in ("/feed.xml", "/missing.xml", "/later.xml"))
        assert feeds.add(good) and feeds.add(missing)
        kabar = str(Path(sys.executable).parent / "kabar")
        polled = subprocess.run(
            [kabar, "index", "--feeds", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert polled.returncode == 1, polled.stderr  # the missing feed is a failure
    report = json.loads(polled.stdout)
    assert report["added"] == 1 and [f["path"] for f in report["failed"]] == [missing]
    assert feeds.add(later)  # followed, never polled

    words = TEXT["id"]
    open_tab(page, "id", "library_tab")
    page.locator("#kabar-lib-reload").click()  # the tab was listed before `feeds add later`
    rows = feed_rows(page, 3)
    assert list(rows) == [good, missing, later]  # in the order they were followed
    assert rows[good][0].startswith(day) and rows[good][0].endswith("UTC")
    assert rows[good][1:] == ["1", words["feed_ok"]]
    assert rows[missing][0].startswith(day) and rows[missing][1] == ""
    assert rows[missing][2] == words["feed_failed"].format(error="HTTP 404 Not Found")
    assert rows[later] == [words["feed_never"], "", ""]
    status = page.locator("#kabar-feeds-status").inner_text()
    assert words["feeds_count"].format(count=3).split("`")[0].strip() in status
    # The feed's article is listed, and its outlet reaches the filters on reload.
    assert "Jembatan Kapuas III" in page.locator("#kabar-lib-table").inner_text()
    deadline = time.time() + 60  # the reload's second step re-reads the outlets
    while "Pontianak Hari Ini" not in (outlets := outlet_choices(page)) and time.time() < deadline:
        page.wait_for_timeout(1000)
    assert "Pontianak Hari Ini" in outlets

    set_language(page, "en")
    open_tab(page, "en", "library_tab")
    words = TEXT["en"]
    page.wait_for_function(
        "(t) => document.querySelector('#kabar-feeds-table').innerText.includes(t)",
        arg=words["feed_never"],
        timeout=60_000,
    )
    rows = feed_rows(page, 3)
    assert rows[good][1:] == ["1", words["feed_ok"]]
    assert rows[missing][2] == words["feed_failed"].format(error="HTTP 404 Not Found")
    assert rows[later] == [words["feed_never"], "", ""]
    headers = page.locator("#kabar-feeds-table thead").inner_text()
    assert all(words[f"feed_col_{k}"] in headers for k in ("url", "polled", "entries", "result"))


@pytest.mark.parametrize("code", ["id", "en"])
def test_every_visible_string_is_in_the_interface_language(
    browser, app_url: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    page = open_page(browser, app_url)
    set_language(page, "en" if code == "id" else "id")  # a round trip: relabelling must work
    set_language(page, code)
    page.locator("#kabar-filters").get_by_text(TEXT[code]["filters"]).click()
    page.wait_for_timeout(500)
    stray = {"chat": stray_strings(page, code)}
    for tab in ("add_tab", "library_tab"):
        open_tab(page, code, tab)
        stray[tab] = stray_strings(page, code)
    assert page.evaluate("document.documentElement.lang") == code
    assert stray == {"chat": [], "add_tab": [], "library_tab": []}
    page.context.close()


def test_startup_line(app_url: str) -> None:
    line = f"Kabar is serving on {app_url.rstrip('/')}"
    deadline = time.time() + 10
    while line not in SERVER_LOGS[app_url].read_text() and time.time() < deadline:
        time.sleep(0.2)
    assert SERVER_LOGS[app_url].read_text().count(line) == 1


def test_clearing_the_chat_resets_like_new_conversation(page) -> None:  # type: ignore[no-untyped-def]
    ask(page, "Who won the Malang Highland Marathon?")
    # The chat's only icon button is its clear button, with a label in the interface language.
    icons = page.locator("#kabar-chat button:visible")
    assert icons.count() == 1 and icons.first.get_attribute("aria-label")
    icons.first.click()
    page.wait_for_function(
        "() => !document.querySelector(\"#kabar-chat .message.bot, #kabar-chat [data-testid='bot']\")"
        " && document.querySelector('#kabar-sources .kabar-empty')"
    )
    assert page.locator("#kabar-sources .kabar-card").count() == 0


def line_count(page, selector: str) -> int:  # type: ignore[no-untyped-def]
    """How many lines the element's text takes (distinct tops of its text's boxes)."""
    return int(
        page.evaluate(
            """(sel) => {
                const range = document.createRange();
                range.selectNodeContents(document.querySelector(sel));
                return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
            }""",
            selector,
        )
    )


def test_phone_layout(browser, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = open_page(
        browser, app_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    assert line_count(page, "#kabar-header h1") == 1
    tagline_words = len(TEXT["id"]["tagline"].split()) + 2  # and the API link
    assert line_count(page, "#kabar-header p") <= tagline_words / 3  # not a word per line
    ask(page, "Who won the Malang Highland Marathon?")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    boxes = {
        name: page.locator(sel).bounding_box()
        for name, sel in {
            "clear": "#kabar-clear",
            "sources": "#kabar-sources",
            "filters": "#kabar-filters",
        }.items()
    }
    # The sources come right after the question controls; the filters wait below them.
    gap = boxes["sources"]["y"] - (boxes["clear"]["y"] + boxes["clear"]["height"])
    assert 0 <= gap < 60, boxes
    assert boxes["filters"]["y"] > boxes["sources"]["y"]

    # A second answer: the first one's [1] still opens its own card, scrolled into view.
    ask(page, FLOOD_QUESTION)
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    if os.environ.get("KABAR_UPDATE_SCREENSHOT"):
        shutil.copyfile(tmp_path / "phone.png", REPO / "docs" / "screenshot-phone.png")
    answers = page.locator("#kabar-chat [data-testid='bot']").filter(
        has=page.locator("a.kabar-cite")
    )
    card = open_citation(page, answers.first)
    page.wait_for_timeout(700)  # the smooth scroll
    assert front_matter("malang")["title"] in card.locator(".kabar-card-head").inner_text()
    box = card.bounding_box()
    assert box is not None and 0 <= box["y"] <= 844 - 40, box  # its head is on screen
    assert card.locator("details p").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.context.close()


CONTRAST = """(sel) => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const lum = (c) => {
    const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const el = document.querySelector(sel);
  const [a, b] = [lum(rgb(getComputedStyle(el).color).slice(0, 3)), lum(background(el))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_highlight_and_links_are_readable(browser, app_url: str, theme: str) -> None:  # type: ignore[no-untyped-def]
    page = open_page(browser, f"{app_url}?__theme={theme}")
    assert (page.locator(".dark").count() > 0) == (theme == "dark")
    ask(page, "Berapa biaya pembangunan sistem peringatan dini banjir di Pekalongan?")
    page.locator("#kabar-chat a.kabar-cite").first.click()
    page.locator("#kabar-sources details mark").first.wait_for()
    ratios = {
        sel: page.evaluate(CONTRAST, sel)
        for sel in (
            "#kabar-sources details mark",
            "#kabar-chat a.kabar-cite",
            "#kabar-sources .kabar-card-head a",
            "#kabar-sources .kabar-meta",
        )
    }
    assert all(r >= 4.5 for r in ratios.values()), ratios
    page.context.close()


def test_api_docs_render_offline(browser, app_url: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    blocked: list[str] = []

    def local_only(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    page.goto(f"{app_url}api/docs")
    page.locator(".swagger-ui .opblock", has_text="/api/search").wait_for(timeout=30_000)
    assert page.locator(".swagger-ui .opblock", has_text="/api/ask").count() == 1
    assert not blocked
    context.close()


def library_status(page) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    text = page.locator("#kabar-lib-status").inner_text()
    shown, total = (int(n) for n in re.findall(r"\d+", text)[:2])
    return shown, total


def wait_status(page, pattern: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "(p) => new RegExp(p).test(document.querySelector('#kabar-lib-status').innerText)",
        arg=pattern,
        timeout=60_000,
    )


def outlet_choices(page) -> list[str]:  # type: ignore[no-untyped-def]
    open_tab(page, "id", "chat_tab")
    accordion = page.locator("#kabar-filters")
    if not accordion.locator("#kabar-sources-filter").is_visible():
        accordion.get_by_text(TEXT["id"]["filters"]).click()
    page.locator("#kabar-sources-filter input").click()
    page.wait_for_timeout(500)
    options = page.locator("[role=option]").all_inner_texts()
    page.keyboard.press("Escape")
    return [o.strip() for o in options]


def test_library_lists_searches_and_deletes(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    words = TEXT["id"]
    open_tab(page, "id", "library_tab")
    wait_status(page, r"\d+ dari \d+ artikel")
    _, before = library_status(page)
    assert before >= 11  # the samples and the hostile article
    assert "Status Gunung Slamet" in page.locator("#kabar-lib-table").inner_text()
    assert "<script>" in page.locator("#kabar-lib-table").inner_text()  # the hostile title, as text
    assert page.evaluate("() => window.__kabarPwned") is None

    # A pasted article: indexed, listed with its outlet in the interface language, filterable.
    open_tab(page, "id", "add_tab")
    page.locator("#kabar-paste-title textarea, #kabar-paste-title input").first.fill(PASTED_TITLE)
    page.locator("#kabar-paste-text textarea").fill(PASTED_TEXT)
    page.locator("#kabar-paste-lang").get_by_label("id").check()
    page.locator("#kabar-index").click()
    page.wait_for_function(
        "(w) => document.querySelector('#kabar-index-results').innerText.includes(w)",
        arg=words["res_added"],
        timeout=120_000,
    )
    assert words["outlet_pasted"] in outlet_choices(page)

    open_tab(page, "id", "library_tab")
    page.locator("#kabar-lib-search textarea, #kabar-lib-search input").first.fill("Batik Kudus")
    wait_status(page, rf"^1 dari {before + 1} artikel")
    table = page.locator("#kabar-lib-table")
    assert words["outlet_pasted"] in table.inner_text()
    page.locator("#kabar-lib-choose input").click()
    page.locator("[role=option]").filter(has_text=PASTED_TITLE).first.click()
    wait_status(page, "Terpilih")
    page.locator("#kabar-lib-delete").click()
    wait_status(page, "Dihapus")
    page.wait_for_function(
        "(t) => !document.querySelector('#kabar-lib-table').innerText.includes(t)",
        arg=PASTED_TITLE,
    )
    hits = httpx.get(f"{app_url}api/search", params={"q": "pameran batik Kudus", "k": 5}).json()
    assert all(h["title"] != PASTED_TITLE for h in hits)
    assert words["outlet_pasted"] not in outlet_choices(page)
    open_tab(page, "id", "library_tab")
    page.locator("#kabar-lib-reload").click()
    wait_status(page, rf"^0 dari {before} artikel")


@pytest.mark.parametrize("code", ["id", "en"])
def test_no_serious_accessibility_violations(browser, app_url: str, code: str) -> None:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(browser, app_url)
    set_language(page, code)
    ask(page, "Who won the Malang Highland Marathon?")
    found = {}
    for tab in ("chat_tab", "library_tab"):
        open_tab(page, code, tab)
        if tab == "library_tab":
            wait_status(page, r"\d")
        violations = Axe().run(page).response["violations"]
        found[tab] = [
            (v["id"], [n["target"] for n in v["nodes"]][:3])
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
    assert found == {"chat_tab": [], "library_tab": []}
    page.context.close()
