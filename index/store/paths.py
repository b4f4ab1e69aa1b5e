"""Where a store keeps its own files beside the vectors: caches, the feed list, the writer lock."""

from __future__ import annotations

import re
from pathlib import Path

from index.settings import StoreSettings


def cache_folder(settings: StoreSettings) -> Path:
    """Where derived caches (the lexical index) and the writer lock live: the store folder, or
    for a Chroma server a folder in it named after host, port and collection (the store folder
    then holds nothing else)."""
    if settings.server_mode:
        key = f"server-{settings.chroma_host}-{settings.chroma_port}-{settings.collection}"
        return settings.store / re.sub(r"[^\w.-]", "_", key)
    return settings.store
