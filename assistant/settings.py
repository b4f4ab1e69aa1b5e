"""Answer-side settings: the store settings plus the optional LLM, read once and handed down.

Like `index.settings`, this is the only module of `assistant` that reads the environment; the
CLI and the app build one `Settings` and pass it to `Assistant`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from index.settings import StoreSettings


@dataclass(frozen=True)
class LLMSettings:
    """Any OpenAI-compatible chat-completions endpoint; unset means the offline composer."""

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    context_tokens: int = 3000  # prompt budget (system, history, question, sources), cl100k
    answer_tokens: int = 400  # the most the model may write
    temperature: float = 0.1
    timeout: float = 120.0
    # A GGUF model Kabar serves itself through llama.cpp (`assistant.answer.local_llm`), in
    # place of `base_url` and `model`; `threads` overrides the CPU threads it computes with.
    gguf: Path | None = None
    threads: int | None = None

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LLMSettings:
        budget = env.get("KABAR_LLM_CONTEXT_TOKENS")
        gguf = env.get("KABAR_LLM_GGUF")
        threads = env.get("KABAR_LLM_THREADS")
        return cls(
            base_url=env.get("KABAR_LLM_BASE_URL") or None,
            model=env.get("KABAR_LLM_MODEL") or None,
            api_key=env.get("KABAR_LLM_API_KEY") or None,
            context_tokens=int(budget) if budget else cls.context_tokens,
            gguf=Path(gguf).expanduser() if gguf else None,
            threads=int(threads) if threads else None,
        )


@dataclass(frozen=True)
class ServeSettings:
    """How `kabar serve` listens: port, optional login, whether the add tab is shown."""

    port: int = 7860
    auth: str | None = None  # "user:password"; unset means no login (localhost only)
    uploads: bool = True
    # Host names answered besides loopback ones when bound to loopback (a local reverse proxy's
    # public name); comma-separated in KABAR_ALLOWED_HOSTS.
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: object) -> ServeSettings:
        port = env.get("KABAR_PORT")
        settings = cls(
            port=int(port) if port else cls.port,
            auth=env.get("KABAR_AUTH") or None,
            uploads=env.get("KABAR_UPLOADS", "1") != "0",
            allowed_hosts=tuple(
                h.strip() for h in env.get("KABAR_ALLOWED_HOSTS", "").split(",") if h.strip()
            ),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Settings:
    """Everything `Assistant` needs: where the index is, how many passages to read, which LLM."""

    store: StoreSettings
    llm: LLMSettings = field(default_factory=LLMSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    k: int = 6  # passages retrieved per question

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        store: object = None,
        port: int | None = None,
        auth: str | None = None,
        uploads: bool | None = None,
    ) -> Settings:
        """`KABAR_*` variables, then flags; a `None` flag means "not given"."""
        env = os.environ if env is None else env
        return cls(
            store=StoreSettings.from_env(env, store=store),
            llm=LLMSettings.from_env(env),
            serve=ServeSettings.from_env(env, port=port, auth=auth, uploads=uploads),
        )
