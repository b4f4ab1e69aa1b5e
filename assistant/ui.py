"""The Gradio chat (placeholder until the chat UI lands): answers with the best paragraphs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.search import Searcher


def build_app(searcher: Searcher) -> gr.Blocks:
    def respond(message: str, history: list[dict[str, Any]]) -> Iterator[str]:
        hits = searcher.search(message, k=3)
        lines = []
        for n, hit in enumerate(hits, 1):
            first, last = hit.paragraphs
            lines.append(f"**[{n}] {hit.title}** (¶{first}–{last})\n\n{hit.text}")
            yield "\n\n".join(lines)

    with gr.Blocks(title="Kabar") as app:
        gr.Markdown("# Kabar\nAsk about the indexed news, in Indonesian or English.")
        gr.ChatInterface(respond)
    return app
