"""The Gradio chat: streamed answers, a sources panel, filters, and the add-or-reindex tab.

Handlers here only translate between widgets and `Services`; all escaping of article text
happens in `assistant.web.render`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.records import Answer
from assistant.web.render import answer_html, sources_html
from assistant.web.services import Services
from assistant.web.ui_text import EXAMPLES, LANGUAGES, TEXT
from assistant.web.uploads import ALLOWED_SUFFIXES
from index.search.searcher import Filters

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ChatHistory = list[dict[str, Any]]
Pairs = list[tuple[str, str]]


class InputError(ValueError):
    """A filter value the user must correct; shown in their interface language."""


def _date(value: str | None, words: dict[str, str]) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not _DATE.match(value):
        raise InputError(words["bad_date"].format(value=value))
    return value


def make_filters(
    date_from: str | None,
    date_to: str | None,
    sources: list[str] | None,
    langs: list[str] | None,
    words: dict[str, str],
) -> Filters:
    return Filters(
        date_from=_date(date_from, words),
        date_to=_date(date_to, words),
        sources=tuple(sources or ()),
        langs=tuple(langs or ()),
    )


def _panel(answer: Answer, words: dict[str, str]) -> str:
    if answer.abstained:
        return sources_html(answer.related, words, heading_key="closest")
    return sources_html(answer.citations, words)


def _example_text(event: gr.SelectData) -> str:
    """The example question the user clicked on an empty chat."""
    return str(event.value["text"])


def build_ui(services: Services) -> gr.Blocks:
    """The whole app; `services.library` is None when adding articles is disabled."""

    def respond(
        message: str,
        chat: ChatHistory,
        pairs: Pairs,
        ui_lang: str,
        answer_lang: str,
        date_from: str,
        date_to: str,
        sources: list[str],
        langs: list[str],
    ) -> Iterator[tuple[ChatHistory, Pairs, str, str]]:
        words = TEXT[LANGUAGES.get(ui_lang, "id")]
        message = (message or "").strip()
        panel = sources_html([], words)
        if not message:
            yield chat, pairs, panel, ""
            return
        chat = [*chat, {"role": "user", "content": message}]
        chat.append({"role": "assistant", "content": words["thinking"]})
        yield chat, pairs, panel, ""
        try:
            filters = make_filters(date_from, date_to, sources, langs, words)
            lang = answer_lang if answer_lang in ("id", "en") else None
            streamed = ""
            for item in services.assistant.stream(message, pairs, lang=lang, filters=filters):
                if isinstance(item, str):
                    streamed += item
                    chat[-1] = {"role": "assistant", "content": answer_html(streamed)}
                    yield chat, pairs, panel, ""
                    continue
                final = answer_html(item.text, [c.n for c in item.citations])
                chat[-1] = {"role": "assistant", "content": final}
                if item.standalone_question and item.standalone_question != message:
                    searched = {"title": words["searched"], "status": "done"}
                    chat.insert(
                        -1,
                        {
                            "role": "assistant",
                            "content": item.standalone_question,
                            "metadata": searched,
                        },
                    )
                pairs = [*pairs, (message, item.text)]
                yield chat, pairs, _panel(item, words), ""
        except InputError as exc:
            chat[-1] = {"role": "assistant", "content": str(exc)}
            yield chat, pairs, panel, ""

    def relabel(ui_lang: str) -> list[Any]:
        words = TEXT[LANGUAGES.get(ui_lang, "id")]
        updates: list[Any] = [
            gr.update(value=f"# Kabar\n{words['tagline']}"),
            gr.update(label=words["chat_label"]),
            gr.update(label=words["question"], placeholder=words["placeholder"]),
            gr.update(value=words["send"]),
            gr.update(value=words["clear"]),
            gr.update(label=words["answer_lang"]),
            gr.update(label=words["date_from"]),
            gr.update(label=words["date_to"]),
            gr.update(label=words["sources_filter"]),
            gr.update(label=words["langs_filter"]),
            gr.update(value=sources_html([], words)),
            gr.update(label=words["interface"]),
        ]
        if services.library is not None:
            updates += [
                gr.update(label=words["files"]),
                gr.update(label=words["paste_title"]),
                gr.update(label=words["paste_text"]),
                gr.update(label=words["paste_lang"]),
                gr.update(value=words["index"]),
                gr.update(
                    label=words["results"],
                    headers=[words["col_file"], words["col_result"], words["col_detail"]],
                ),
            ]
        return updates

    facets = services.facets()
    words = TEXT["id"]
    with gr.Blocks(title="Kabar", analytics_enabled=False) as app:
        pairs = gr.State([])
        with gr.Row():
            header = gr.Markdown(f"# Kabar\n{words['tagline']}")
            ui_lang = gr.Radio(
                list(LANGUAGES),
                value="Bahasa Indonesia",
                label=words["interface"],
                scale=0,
                min_width=260,
                elem_id="kabar-ui-lang",
            )
        with gr.Tabs():
            with gr.Tab(words["chat_tab"], id="chat"), gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label=words["chat_label"],
                        height=520,
                        elem_id="kabar-chat",
                        examples=[{"text": q} for q in EXAMPLES],
                        feedback_options=None,
                    )
                    question = gr.Textbox(
                        label=words["question"],
                        placeholder=words["placeholder"],
                        elem_id="kabar-question",
                        autofocus=True,
                    )
                    with gr.Row():
                        send = gr.Button(words["send"], variant="primary", elem_id="kabar-send")
                        clear = gr.Button(words["clear"], elem_id="kabar-clear")
                    with gr.Accordion(words["filters"], open=False):
                        answer_lang = gr.Dropdown(
                            [("auto", "auto"), ("Bahasa Indonesia", "id"), ("English", "en")],
                            value="auto",
                            label=words["answer_lang"],
                            elem_id="kabar-answer-lang",
                        )
                        with gr.Row():
                            date_from = gr.Textbox(label=words["date_from"], elem_id="kabar-from")
                            date_to = gr.Textbox(label=words["date_to"], elem_id="kabar-to")
                        sources = gr.Dropdown(
                            facets["sources"],
                            multiselect=True,
                            label=words["sources_filter"],
                            elem_id="kabar-sources-filter",
                        )
                        langs = gr.CheckboxGroup(
                            ["id", "en"], label=words["langs_filter"], elem_id="kabar-langs"
                        )
                with gr.Column(scale=2):
                    panel = gr.HTML(sources_html([], words), elem_id="kabar-sources")
            add: _AddTab | None = None
            if services.library is not None:
                with gr.Tab(words["add_tab"], id="add"):
                    add = _add_tab(words)

        inputs = [
            question,
            chatbot,
            pairs,
            ui_lang,
            answer_lang,
            date_from,
            date_to,
            sources,
            langs,
        ]
        outputs = [chatbot, pairs, panel, question]
        question.submit(respond, inputs, outputs, api_visibility="private")
        send.click(respond, inputs, outputs, api_visibility="private")
        chatbot.example_select(_example_text, None, question, api_visibility="private").then(
            respond, inputs, outputs, api_visibility="private"
        )
        clear.click(
            lambda ui: ([], [], sources_html([], TEXT[LANGUAGES.get(ui, "id")]), ""),
            [ui_lang],
            outputs,
            api_visibility="private",
        )
        ui_lang.change(
            relabel,
            ui_lang,
            [
                header,
                chatbot,
                question,
                send,
                clear,
                answer_lang,
                date_from,
                date_to,
                sources,
                langs,
                panel,
                ui_lang,
                *(add.relabelled() if add else []),
            ],
            api_visibility="private",
        )
        if add is not None:
            add.button.click(
                _indexer(services),
                [add.files, add.title, add.text, add.lang, ui_lang],
                [add.table, add.status],
                api_visibility="private",
            )

        def ask(question: str, lang: str = "") -> dict[str, Any]:
            """Answer a question with citations (the JSON of `kabar ask --json`)."""
            answer = services.assistant.ask(question, [], lang=lang or None)
            return answer.to_json()

        def search(query: str, k: int = 5) -> list[dict[str, Any]]:
            """Ranked paragraph hits (the JSON of `kabar search --json`)."""
            return [hit.to_json() for hit in services.searcher.search(query, k=k)]

        gr.api(ask, api_name="ask")
        gr.api(search, api_name="search")
    return app


@dataclass
class _AddTab:
    files: gr.File
    title: gr.Textbox
    text: gr.Textbox
    lang: gr.Radio
    button: gr.Button
    status: gr.Markdown
    table: gr.Dataframe

    def relabelled(self) -> list[Any]:
        return [self.files, self.title, self.text, self.lang, self.button, self.table]


def _add_tab(words: dict[str, str]) -> _AddTab:
    return _AddTab(
        files=gr.File(
            file_count="multiple",
            file_types=list(ALLOWED_SUFFIXES),
            label=words["files"],
            elem_id="kabar-files",
        ),
        title=gr.Textbox(label=words["paste_title"], elem_id="kabar-paste-title"),
        text=gr.Textbox(label=words["paste_text"], lines=8, elem_id="kabar-paste-text"),
        lang=gr.Radio(["id", "en"], label=words["paste_lang"], elem_id="kabar-paste-lang"),
        button=gr.Button(words["index"], variant="primary", elem_id="kabar-index"),
        status=gr.Markdown(elem_id="kabar-index-status"),
        table=gr.Dataframe(
            headers=[words["col_file"], words["col_result"], words["col_detail"]],
            label=words["results"],
            interactive=False,
            elem_id="kabar-index-results",
        ),
    )


def _indexer(services: Services) -> Callable[..., tuple[list[list[str]], str]]:
    """The add tab's handler: save and index uploads and pasted text, one row per file."""
    library = services.library
    assert library is not None

    def index(
        uploaded: list[str] | None,
        paste_title: str,
        paste_text: str,
        paste_lang: str | None,
        ui_lang: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it)
    ) -> tuple[list[list[str]], str]:
        words = TEXT[LANGUAGES.get(ui_lang, "id")]
        given = [(Path(p), Path(p).name) for p in uploaded or []]
        pasted = (paste_title, paste_text, paste_lang) if (paste_text or "").strip() else None
        if not given and pasted is None:
            return [], words["nothing"]
        results = library.add(
            given, pasted, progress=lambda i, n, name: progress((i, n), desc=name)
        )
        services.refresh()
        outcomes = ("added", "updated", "unchanged", "failed")
        count = {k: sum(r.result == k for r in results) for k in outcomes}
        rows = [[r.name, r.result, r.detail] for r in results]
        return rows, words["indexed"].format(**count)

    return index
