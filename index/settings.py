"""Where the index lives and which model builds it: one object, read once, handed down.

No other module reads the environment; the CLI and the app build a `StoreSettings` from flags
and `KABAR_*` variables and pass it along.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_MODEL = "multilingual-e5-small"


def _data_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kabar"


def _cache_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kabar"


def default_model_cache() -> Path:
    """Where the bundled model is expanded when nothing says otherwise (no environment read)."""
    return _cache_home({}) / "models"


@dataclass(frozen=True)
class StoreSettings:
    """Everything the indexing side needs to open the same index twice."""

    store: Path
    model: str = DEFAULT_MODEL
    model_cache: Path = Path(".")
    chroma_host: str | None = None
    chroma_port: int = 8000
    collection: str = "kabar"
    chunk_tokens: int = 160

    @property
    def server_mode(self) -> bool:
        return self.chroma_host is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> StoreSettings:
        """Defaults, then `KABAR_*` variables, then flags; a `None` flag means "not given"."""
        env = os.environ if env is None else env
        port = env.get("KABAR_CHROMA_PORT")
        settings = cls(
            store=Path(env.get("KABAR_STORE") or _data_home(env) / "store").expanduser(),
            model=env.get("KABAR_MODEL") or DEFAULT_MODEL,
            model_cache=Path(
                env.get("KABAR_MODEL_CACHE") or _cache_home(env) / "models"
            ).expanduser(),
            chroma_host=env.get("KABAR_CHROMA_HOST") or None,
            chroma_port=int(port) if port else 8000,
            collection=env.get("KABAR_COLLECTION") or "kabar",
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        if "store" in given:
            given["store"] = Path(str(given["store"])).expanduser()
        return replace(settings, **given)  # type: ignore[arg-type]
