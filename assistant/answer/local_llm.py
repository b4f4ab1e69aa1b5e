"""A local GGUF model behind Kabar's LLM path: llama.cpp's server, started in this process.

`KABAR_LLM_GGUF=/path/model.gguf` needs no second program: `xllamacpp` (the optional
`local-llm` extra) runs llama.cpp's OpenAI-compatible server on a thread of Kabar's process,
listening on a free 127.0.0.1 port that llama.cpp picks itself (no race for the port) and
guarded by a random API key, so only this process can use it. Kabar then talks to it like any
other endpoint (`assistant.answer.llm`), and it dies with the process however that ends.

Settings, and why:
- context: the prompt budget is counted in cl100k tokens (`assistant.answer.tokens`); a local
  model's tokenizer may need more tokens for the same text (SmolLM2's, measured with llama.cpp's
  `/tokenize`: 1.14-1.20 times as many on the 20 sample questions' prompts, chat template
  included; 1.28 on 200 Detik articles, 1.08 on 200 BBC ones), so the context is the budget
  times `TOKENIZER_SLACK`, plus the answer, rounded up (5120 for the default 3000 + 400).
- threads: half the CPUs this process may use, at least one. Generation threads wait for each
  other after every token, so a thread that loses its core stalls the rest: on this project's
  2-core machine under load, SmolLM2 generated 12 tokens/s with one thread, 1.2 with two and 0.36
  with llama.cpp's default. Half also leaves room for Kabar's own work (the embedder, the web
  server) and, on most laptops, matches the physical cores. `KABAR_LLM_THREADS` overrides it.
- one sequence at a time: on a CPU, parallel sequences share the same cores, so they make no
  answer sooner; concurrent questions queue (and fall back to the offline composer at the
  request timeout).
- no host-memory prompt cache: each question brings different sources, so cached prompts are
  rarely reused, and llama.cpp's default cache may take up to 8 GiB of RAM.
- llama.cpp's own log is silent unless Kabar logs at INFO (`kabar -v`); a model that fails to
  load raises one `LocalModelError` that says what to check.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from assistant.settings import LLMSettings, Settings

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
TOKENIZER_SLACK = 1.5  # model tokens per cl100k token, with headroom over the 1.28 measured
CONTEXT_STEP = 256
STARTUP_TIMEOUT = 60.0  # seconds for /health to answer once the model is loaded
EXTRA = "pip install -e '.[local-llm]'"


class LocalModelError(RuntimeError):
    """The GGUF model cannot be served: missing, unreadable, not GGUF, or llama.cpp failed."""


def check_gguf(path: Path) -> None:
    """Raise `LocalModelError` unless `path` is a readable file that starts like a GGUF model
    (llama.cpp's own error for these cases is "Failed to init server, please check the input
    params", which does not say which)."""
    if not path.exists():
        raise LocalModelError(f"KABAR_LLM_GGUF: {path} does not exist")
    if not path.is_file():
        raise LocalModelError(f"KABAR_LLM_GGUF: {path} is not a file")
    try:
        with path.open("rb") as file:
            magic = file.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise LocalModelError(f"KABAR_LLM_GGUF: cannot read {path}: {exc.strerror}") from exc
    if magic != GGUF_MAGIC:
        raise LocalModelError(f"KABAR_LLM_GGUF: {path} is not a GGUF model file")


def default_threads() -> int:
    """Half the CPUs this process may run on, at least one (see the module docstring)."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere every CPU
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    return max(1, cpus // 2)


def context_size(settings: LLMSettings) -> int:
    """llama.cpp's context for `settings`: the prompt budget in model tokens plus the answer."""
    tokens = settings.context_tokens * TOKENIZER_SLACK + settings.answer_tokens
    return math.ceil(tokens / CONTEXT_STEP) * CONTEXT_STEP


class LocalLLMServer:
    """llama.cpp's server for one GGUF file; `start()` returns once it answers, `stop()` ends it.

    Use it as a context manager. It stops when the last reference to the underlying server goes
    (llama.cpp's destructor ends its loop and joins the threads), so `stop()` drops it. SIGINT
    and SIGTERM stay Python's: llama.cpp's own server installs handlers for them, which
    xllamacpp's did in early 2026 but the version required here does not (the tests check it).
    """

    def __init__(
        self,
        path: Path,
        *,
        context: int = 4096,
        threads: int | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.path = path
        self.context = context
        self.threads = threads or default_threads()
        self.startup_timeout = startup_timeout
        self.model = path.stem
        self.api_key = secrets.token_urlsafe(24)
        self._server: Any = None
        self._address = ""

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (`…/v1`)."""
        if not self.running:
            raise RuntimeError("the local model is not running")
        return f"{self._address}/v1"

    def start(self) -> LocalLLMServer:
        """Load the model and serve it; raises `LocalModelError` with the reason if it cannot."""
        if self.running:
            return self
        check_gguf(self.path)
        try:
            import xllamacpp
        except ImportError as exc:
            raise LocalModelError(
                f"KABAR_LLM_GGUF needs llama.cpp's Python server: {EXTRA}"
            ) from exc
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(self._params(xllamacpp))  # returns once it is loaded
        except RuntimeError as exc:
            raise LocalModelError(
                f"llama.cpp could not load {self.path}: the file may be incomplete or "
                "corrupted, or a model this llama.cpp build does not support "
                "(run with -v to see llama.cpp's log)"
            ) from exc
        self._server = server
        self._address = str(server.listening_address)
        try:
            self._wait_ready()
        except LocalModelError:
            self.stop()
            raise
        log.info(
            "serving %s with llama.cpp on %s (context %d, %d threads) after %.1fs",
            self.path.name,
            self._address,
            self.context,
            self.threads,
            time.perf_counter() - started,
        )
        return self

    def _params(self, xllamacpp: Any) -> Any:
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.model_alias = {self.model}
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # llama.cpp binds a free port itself
        params.api_keys = [self.api_key]
        params.n_ctx = self.context
        params.n_parallel = 1
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.cache_ram_mib = 0
        params.cache_idle_slots = False  # needs the RAM cache; llama.cpp warns otherwise
        params.ui = False
        params.verbosity = 3 if log.isEnabledFor(logging.INFO) else 0
        return params

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                if httpx.get(f"{self._address}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise LocalModelError(
                    f"llama.cpp loaded {self.path.name} but did not answer on {self._address} "
                    f"within {self.startup_timeout:.0f}s"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        """End the server: open streams are cut, so their answers fall back to the composer."""
        server, self._server = self._server, None
        if server is not None:
            del server  # the last reference: llama.cpp's destructor stops and joins its loop
            log.info("stopped the local model %s", self.path.name)

    def endpoint(self, settings: LLMSettings) -> LLMSettings:
        """`settings` pointed at this server."""
        return replace(settings, base_url=self.base_url, model=self.model, api_key=self.api_key)

    def __enter__(self) -> LocalLLMServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def local_llm(settings: Settings) -> Iterator[Settings]:
    """`settings` with the LLM pointed at Kabar's own llama.cpp server while the block runs,
    when `KABAR_LLM_GGUF` names a model; unchanged when it does not. A model that cannot be
    served is logged once, as an error with the reason, and the LLM is left off, so the offline
    composer answers."""
    llm = settings.llm
    if llm.gguf is None:
        yield settings
        return
    server = LocalLLMServer(llm.gguf, context=context_size(llm), threads=llm.threads)
    try:
        server.start()
    except LocalModelError as exc:
        log.error("%s; answering with the offline composer", exc)
        yield replace(settings, llm=replace(llm, base_url=None, model=None, gguf=None))
        return
    try:
        yield replace(settings, llm=server.endpoint(llm))
    finally:
        server.stop()
