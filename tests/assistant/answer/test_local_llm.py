"""A real model behind the LLM path: llama.cpp's server (xllamacpp) on SmolLM2-135M-Instruct.

The model is too small to answer well (its Indonesian is gibberish), which is the point: real
tokenization, real SSE chunking and real, unscripted output go through the streaming `[n]`
checker, the token budget and the fallback. Where a test needs a particular kind of answer, a
llama.cpp grammar constrains what the model may write; the model still writes it, token by
token. Retrieval and evidence are real, on the bundled sample articles.

Prompts here use a small budget and short answers, so the slow tests stay short on a 2-core CPU.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import BaseMessage

from assistant.answer.abstain import Abstention
from assistant.answer.citations import markers
from assistant.answer.conversation import Standalone
from assistant.answer.llm import LLM, build_prompt
from assistant.answer.local_llm import (
    LocalLLMServer,
    LocalModelError,
    context_size,
    local_llm,
)
from assistant.answer.pipeline import Assistant
from assistant.answer.tokens import count_tokens
from assistant.records import Answer
from assistant.settings import LLMSettings, Settings
from index.embed.embedder import Embedder
from index.search.searcher import Searcher
from index.settings import StoreSettings
from index.store.chroma import Store
from tests.fixtures.local_model import smollm2_gguf
from tests.fixtures.paths import REPO
from tests.fixtures.proc import kabar_env
from tests.fixtures.sample_store import sample_questions

SENSORS = (
    "Berapa jumlah sensor ketinggian air yang dipasang untuk sistem peringatan dini banjir "
    "di Pekalongan?"
)
NEVER_ABSTAIN = Abstention(("similarity",), (0.0,), (1.0,), (0.0,), 0.0, 0.0)
SMALL = LLMSettings(context_tokens=450, answer_tokens=40, temperature=0.0, timeout=120)
THREADS = 1  # see assistant.answer.local_llm: one thread is fastest on a busy 2-core machine


# --- failure cases: one clear error, and the offline composer keeps answering ---------------


@pytest.fixture(scope="module")
def truncated_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real model's first 2 MB: a GGUF header whose tensors run past the end of the file."""
    path = tmp_path_factory.mktemp("gguf") / "truncated.gguf"
    with smollm2_gguf().open("rb") as source:
        path.write_bytes(source.read(2_000_000))
    return path


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match=r"missing\.gguf does not exist"):
        LocalLLMServer(tmp_path / "missing.gguf").start()


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="is not a file"):
        LocalLLMServer(tmp_path).start()


def test_unreadable_file() -> None:
    # A file the kernel refuses to read, even to root (a permission bit would not stop root):
    # reading a process's memory at offset 0 fails with EIO.
    with pytest.raises(LocalModelError, match="cannot read /proc/self/mem"):
        LocalLLMServer(Path("/proc/self/mem")).start()


def test_file_that_is_not_gguf(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_text("<html>a download page saved by mistake</html>")
    with pytest.raises(LocalModelError, match="is not a GGUF model file"):
        LocalLLMServer(path).start()


def test_model_that_llama_cpp_cannot_load(truncated_gguf: Path) -> None:
    server = LocalLLMServer(truncated_gguf, context=512, threads=THREADS)
    with pytest.raises(LocalModelError, match=r"llama.cpp could not load .*truncated\.gguf"):
        server.start()
    assert not server.running


@pytest.fixture(scope="module")
def searcher(sample_settings: StoreSettings, embedder: Embedder) -> Searcher:
    return Searcher(Store.open(sample_settings), embedder)


@pytest.mark.parametrize("kind", ["missing", "truncated"])
def test_unservable_model_is_logged_once_and_the_composer_answers(
    kind: str,
    truncated_gguf: Path,
    tmp_path: Path,
    sample_settings: StoreSettings,
    searcher: Searcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gguf = tmp_path / "missing.gguf" if kind == "missing" else truncated_gguf
    env = {"KABAR_LLM_GGUF": str(gguf), "KABAR_LLM_THREADS": str(THREADS)}
    configured = replace(Settings.from_env(env), store=sample_settings)
    assert configured.llm.gguf == gguf and configured.llm.threads == THREADS
    with caplog.at_level(logging.WARNING), local_llm(configured) as settings:
        answer = Assistant(settings, searcher, abstention=NEVER_ABSTAIN).ask(SENSORS)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and str(gguf) in errors[0].getMessage()
    assert "offline composer" in errors[0].getMessage()
    assert not settings.llm.configured
    assert answer.citations and not answer.unsupported  # the composer's cited answer
    assert "24 sensor" in answer.text


@pytest.mark.slow
def test_kabar_ask_with_a_missing_model_says_so_once_and_answers(
    tmp_path: Path, sample_settings: StoreSettings
) -> None:
    env = kabar_env(sample_settings.store)
    env["KABAR_LLM_GGUF"] = str(tmp_path / "nope.gguf")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kabar"), "ask", SENSORS],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("nope.gguf does not exist") == 1
    assert "Traceback" not in done.stderr
    assert "24 sensor" in done.stdout and "[1]" in done.stdout


# --- the real server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LocalLLMServer]:
    # Sized for Kabar's default budget, so the context check below is the real one.
    with LocalLLMServer(
        smollm2_gguf(), context=context_size(LLMSettings()), threads=THREADS
    ) as running:
        yield running


class Recording(LLM):
    """The real client, remembering the messages it sent."""

    def __init__(self, settings: LLMSettings, chat: Any = None) -> None:
        super().__init__(settings, chat)
        self.sent: list[Sequence[BaseMessage]] = []

    def stream(self, messages: Sequence[BaseMessage]) -> Iterator[str]:
        self.sent.append(messages)
        yield from super().stream(messages)


def client(settings: LLMSettings, **body: Any) -> Recording:
    """Kabar's client for `settings`; `body` adds llama.cpp request fields (a grammar)."""
    chat = LLM._openai(settings)
    chat.extra_body = body or None  # type: ignore[attr-defined]
    return Recording(settings, chat)


def assistant_with(
    llm_settings: LLMSettings, sample_settings: StoreSettings, searcher: Searcher, **body: Any
) -> tuple[Assistant, Recording]:
    llm = client(llm_settings, **body)
    settings = Settings(store=sample_settings, llm=llm_settings)
    return Assistant(settings, searcher, llm=llm, abstention=NEVER_ABSTAIN), llm


def run(assistant: Assistant, question: str) -> tuple[list[str], Answer]:
    items = list(assistant.stream(question))
    final = items[-1]
    assert isinstance(final, Answer)
    deltas = [x for x in items[:-1] if isinstance(x, str)]
    assert len(deltas) == len(items) - 1
    return deltas, final


@pytest.mark.slow
def test_real_answer_streams_and_every_marker_names_a_source(
    server: LocalLLMServer, sample_settings: StoreSettings, searcher: Searcher
) -> None:
    settings = server.endpoint(SMALL)
    assistant, llm = assistant_with(settings, sample_settings, searcher)
    deltas, answer = run(assistant, SENSORS)
    assert len(deltas) > 5  # token by token, as the server streamed it
    assert "".join(deltas).strip() == answer.text
    (sent,) = llm.sent
    assert sum(count_tokens(m.text) + 4 for m in sent) <= SMALL.context_tokens
    # Whatever the model wrote: a marker left in the answer is a citation, or none is and the
    # answer says it is unsupported.
    cited = set(markers(answer.text))
    assert cited == {c.n for c in answer.citations}
    if not answer.citations:
        assert answer.unsupported and "tidak didukung" in answer.text
    for c in answer.citations:
        assert c.quote in c.text


@pytest.mark.slow
def test_numbers_that_name_no_source_are_removed_from_the_stream(
    server: LocalLLMServer,
    sample_settings: StoreSettings,
    searcher: Searcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    grammar = 'root ::= "Ada " [a-z ]{3,24} " [1]. Lalu " [a-z ]{3,24} " [99]."'
    settings = server.endpoint(SMALL)
    assistant, _ = assistant_with(settings, sample_settings, searcher, grammar=grammar)
    with caplog.at_level(logging.WARNING):
        deltas, answer = run(assistant, SENSORS)
    assert len(deltas) > 5
    assert "".join(deltas).strip() == answer.text
    assert "[1]" in answer.text and "99" not in answer.text
    assert not any("99" in d for d in deltas)  # never shown, not even for a moment
    assert "removed citation [99]" in caplog.text
    assert [c.n for c in answer.citations] == [1] and not answer.unsupported


@pytest.mark.slow
def test_real_answer_citing_nothing_is_flagged_unsupported(
    server: LocalLLMServer, sample_settings: StoreSettings, searcher: Searcher
) -> None:
    grammar = 'root ::= "Mungkin " [a-z ]{8,40} "."'
    settings = server.endpoint(SMALL)
    assistant, _ = assistant_with(settings, sample_settings, searcher, grammar=grammar)
    deltas, answer = run(assistant, SENSORS)
    assert "".join(deltas).strip() == answer.text
    assert answer.text.startswith("Mungkin ")
    assert answer.unsupported and not answer.citations and answer.related
    assert "tidak didukung" in answer.text


@pytest.mark.slow
def test_prompts_fit_the_budget_and_the_local_models_context(
    server: LocalLLMServer, sample_settings: StoreSettings, searcher: Searcher
) -> None:
    """At Kabar's default budget, every sample question's prompt fits the cl100k budget, and in
    SmolLM2's own tokens (chat template applied) it fits the context `context_size` gave the
    server, with room for the answer."""
    settings = LLMSettings()
    root = server.base_url.removesuffix("/v1")
    headers = {"Authorization": f"Bearer {server.api_key}"}
    n_ctx = httpx.get(f"{root}/props", headers=headers, timeout=30).json()
    n_ctx = n_ctx["default_generation_settings"]["n_ctx"]
    assert n_ctx == context_size(settings)
    assistant = Assistant(Settings(store=sample_settings), searcher)
    for row in sample_questions():
        evidence = assistant.evidence(Standalone(row["question"]))
        prompt = build_prompt(row["question"], evidence, row["lang"], [], settings.context_tokens)
        assert sum(count_tokens(m.text) + 4 for m in prompt.messages) <= settings.context_tokens
        messages = [{"role": _role(m), "content": m.text} for m in prompt.messages]
        text = httpx.post(
            f"{root}/apply-template", json={"messages": messages}, headers=headers, timeout=60
        ).json()["prompt"]
        tokens = httpx.post(
            f"{root}/tokenize", json={"content": text}, headers=headers, timeout=60
        ).json()["tokens"]
        assert len(tokens) + settings.answer_tokens <= n_ctx, row["question"]


def _role(message: BaseMessage) -> str:
    return {"system": "system", "human": "user", "ai": "assistant"}[message.type]


@pytest.mark.slow
def test_server_dying_mid_answer_leaves_the_offline_answer(
    sample_settings: StoreSettings, searcher: Searcher, caplog: pytest.LogCaptureFixture
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fixtures.local_model", "1024", str(THREADS)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        settings = replace(
            SMALL,
            answer_tokens=200,
            base_url=ready["base_url"],
            model=ready["model"],
            api_key=ready["api_key"],
        )
        # ignore_eos: the model cannot finish before it is killed.
        assistant, _ = assistant_with(settings, sample_settings, searcher, ignore_eos=True)
        items: list[str | Answer] = []
        with caplog.at_level(logging.WARNING):
            for item in assistant.stream(SENSORS):
                if not items:
                    process.kill()  # the first words are out: the server dies
                    process.wait(30)
                items.append(item)
    finally:
        process.kill()
        process.wait(30)
    final = items[-1]
    assert isinstance(final, Answer) and all(isinstance(x, str) for x in items[:-1])
    assert "the LLM failed; answering with the offline composer" in caplog.text
    composer = Assistant(Settings(store=sample_settings), searcher, abstention=NEVER_ABSTAIN)
    *pieces, offline = composer.stream(SENSORS)
    assert isinstance(offline, Answer)
    # The model's first words came, then the offline answer, whole, and it is the final one.
    assert len(items) - 1 > len(pieces) and items[-1 - len(pieces) : -1] == pieces
    assert final.text == offline.text and final.citations == offline.citations
    assert final.citations and not final.unsupported


@pytest.mark.slow
def test_local_llm_serves_until_the_block_ends_and_signals_stay_with_python(
    sample_settings: StoreSettings,
) -> None:
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda sig, frame: received.append(sig))
    # Python's own Ctrl+C handler, whatever the test run inherited: a job started in the
    # background by a shell without job control ignores SIGINT, and Python then installs none.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        env = {"KABAR_LLM_GGUF": str(smollm2_gguf()), "KABAR_LLM_THREADS": str(THREADS)}
        configured = replace(Settings.from_env(env), store=sample_settings)
        with local_llm(configured) as settings:
            assert settings.llm.configured and settings.llm.base_url
            root = settings.llm.base_url.removesuffix("/v1")
            assert httpx.get(f"{root}/health", timeout=10).status_code == 200
            models = httpx.get(
                f"{settings.llm.base_url}/models",
                headers={"Authorization": f"Bearer {settings.llm.api_key}"},
                timeout=10,
            )
            assert models.status_code == 200
            # Only Kabar holds the key: another local program is refused.
            assert httpx.get(f"{settings.llm.base_url}/models", timeout=10).status_code == 401
            # Ctrl+C and `kill` still reach Kabar, not llama.cpp's own handlers. Raised in
            # this thread, so the handler runs before the `raises` block ends.
            signal.raise_signal(signal.SIGTERM)
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
        assert received == [signal.SIGTERM]
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{root}/health", timeout=5)
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
