"""The real app in a real browser: `python app.py` on a free port, driven by headless Chromium.

Also the app's APIs: `gradio_client` against the named endpoints and `curl` against the JSON API.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.paths import REPO, SAMPLES, model_cache

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
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
NEW_ARTICLE = """---
title: Kota Tegal Resmikan Jalur Sepeda Sepanjang 14 Kilometer
date: 2026-10-05
source: Kabar Contoh
lang: id
---

Pemerintah Kota Tegal meresmikan jalur sepeda sepanjang 14 kilometer yang menghubungkan Alun-alun Tegal dengan Pantai Alam Indah, Senin (5/10/2026).

Wali Kota Tegal, Herlina Susanti, mengatakan pembangunan jalur itu menelan biaya Rp 9,3 miliar dan dikerjakan selama tujuh bulan.
"""

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


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
    env = {
        **os.environ,
        "KABAR_STORE": str(root / "store"),
        "KABAR_MODEL_CACHE": str(model_cache()),
    }
    kabar = str(Path(sys.executable).parent / "kabar")
    indexed = subprocess.run(
        [kabar, "index", str(SAMPLES), str(hostile), "--json"],
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


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    """Type a question, send it, and wait for the final answer with its source cards."""
    before = page.locator("#kabar-chat .message.bot, #kabar-chat [data-testid='bot']").count()
    page.locator("#kabar-question textarea").fill(question)
    page.locator("#kabar-question textarea").press("Enter")
    page.wait_for_function(
        """(before) => {
            const bots = document.querySelectorAll("#kabar-chat .message.bot, #kabar-chat [data-testid='bot']");
            return bots.length > before && document.querySelector("#kabar-sources .kabar-card");
        }""",
        arg=before,
        timeout=120_000,
    )
    page.wait_for_timeout(500)


def cite_number(link) -> str:  # type: ignore[no-untyped-def]
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


def test_upload_then_ask_about_it(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    article = tmp_path / "jalur sepeda tegal é.md"  # spaces and non-ASCII in the name
    article.write_text(NEW_ARTICLE, "utf-8")
    page.get_by_role("tab").nth(1).click()
    page.locator("#kabar-files input[type=file]").set_input_files(str(article))
    page.wait_for_timeout(1000)
    page.locator("#kabar-index").click()
    page.wait_for_function(
        "() => document.querySelector('#kabar-index-results') &&"
        " document.querySelector('#kabar-index-results').innerText.includes('added')",
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
