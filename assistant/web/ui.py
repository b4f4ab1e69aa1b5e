"""The Gradio chat: streamed answers, a panel with every answer's sources, filters, the
add-or-reindex tab and the library.

Handlers here only translate between widgets and `Services`; all escaping of article text
happens in `assistant.web.render`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from assistant.records import Answer
from assistant.web import catalog
from assistant.web.library import FileResult
from assistant.web.limits import LimitError, check_date
from assistant.web.render import SourceGroup, answer_html, sources_html, table_html, text_html
from assistant.web.services import Services
from assistant.web.ui_text import EXAMPLES, GRADIO_TEXT, LANGUAGES, TEXT
from assistant.web.uploads import (
    ALLOWED_SUFFIXES,
    UploadError,
    discard_received,
    received_upload,
)
from index.search.searcher import Filters

ChatHistory = list[dict[str, Any]]
Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Conversation:
    """What the server keeps of one chat (a `gr.State`; the browser never sees it).

    `pairs` are the latest turns, which a follow-up question is read against; `answers` are
    every answer's sources, so the panel can redraw all of them in either interface language.
    """

    pairs: Pairs = ()
    answers: tuple[SourceGroup, ...] = ()


class InputError(ValueError):
    """A filter value the user must correct; shown in their interface language."""


def _date(value: str | None, words: dict[str, str]) -> str | None:
    try:
        return check_date(value)  # a calendar date: 2026-13-45 is refused
    except LimitError as exc:
        raise InputError(words["bad_date"].format(value=(value or "").strip()[:40])) from exc


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


def _sources(turn: int, question: str, answer: Answer) -> SourceGroup:
    """The cards answer `turn` cites; for an abstention, the closest articles."""
    if answer.abstained:
        return SourceGroup(turn, question, answer.related, closest=True)
    return SourceGroup(turn, question, answer.citations)


def _example_text(event: gr.SelectData) -> str:
    """The example question the user clicked on an empty chat."""
    return str(event.value["text"])


def build_ui(services: Services) -> gr.Blocks:
    """The whole app; without `services.uploads` it has no tab for adding articles.

    Nothing here opens the store: the outlets and languages reach the filters when the page has
    loaded (with the model's warm-up), so the server listens before Chroma is imported.
    """

    def respond(
        message: str,
        chat: ChatHistory,
        conversation: Conversation,
        ui_lang: str,
        answer_lang: str,
        date_from: str,
        date_to: str,
        sources: list[str],
        langs: list[str],
    ) -> Iterator[tuple[ChatHistory, Conversation, str, str]]:
        words = TEXT[LANGUAGES.get(ui_lang, "id")]
        # The earlier answers' cards stay while the next answer streams: their links still work.
        panel = sources_html(conversation.answers, words)
        if not (message or "").strip():
            yield chat, conversation, panel, ""
            return
        try:  # the same limits as the JSON API: length, valid Unicode
            message = services.limits.question(message)
        except LimitError:
            limit = services.limits.question_chars
            refusal = text_html(words["question_refused"].format(limit=limit))
            yield [*chat, {"role": "assistant", "content": refusal}], conversation, panel, ""
            return
        # The chat renders HTML, not Markdown: every text goes through `render`.
        chat = [*chat, {"role": "user", "content": text_html(message)}]
        chat.append({"role": "assistant", "content": text_html(words["thinking"])})
        yield chat, conversation, panel, ""
        turn = len(conversation.answers) + 1
        try:
            filters = make_filters(date_from, date_to, sources, langs, words)
            lang = answer_lang if answer_lang in ("id", "en") else None
            streamed = ""
            history = services.limits.recent(conversation.pairs)
            for item in services.assistant.stream(message, history, lang=lang, filters=filters):
                if isinstance(item, str):
                    streamed += item
                    chat[-1] = {"role": "assistant", "content": answer_html(streamed, turn)}
                    yield chat, conversation, panel, ""
                    continue
                final = answer_html(item.text, turn, [c.n for c in item.citations])
                chat[-1] = {"role": "assistant", "content": final}
                if item.standalone_question and item.standalone_question != message:
                    searched = {"title": words["searched"], "status": "done"}
                    chat.insert(
                        -1,
                        {
                            "role": "assistant",
                            "content": text_html(item.standalone_question),
                            "metadata": searched,
                        },
                    )
                conversation = Conversation(
                    tuple(services.limits.recent([*conversation.pairs, (message, item.text)])),
                    (*conversation.answers, _sources(turn, message, item)),
                )
                yield chat, conversation, sources_html(conversation.answers, words), ""
        except InputError as exc:
            chat[-1] = {"role": "assistant", "content": text_html(str(exc))}
            yield chat, conversation, panel, ""

    def reset(ui_lang: str) -> tuple[ChatHistory, Conversation, str, str]:
        """One empty state for "New conversation" and the chat's own clear button: no earlier
        turn for follow-ups, no sources."""
        return [], Conversation(), sources_html([], _words(ui_lang)), ""

    def redraw_sources(conversation: Conversation, ui_lang: str) -> str:
        """Every answer's sources again, labelled in the new interface language."""
        return sources_html(conversation.answers, _words(ui_lang))

    def refreshed_facets(ui_lang: str) -> tuple[Any, Any]:
        """Outlet and language choices re-read from the store after an upload or a delete."""
        services.refresh()
        found = services.facets()
        words = _words(ui_lang)
        return (
            gr.update(choices=_outlet_choices(found["sources"], words)),
            gr.update(choices=found["langs"] or ["id", "en"]),
        )

    words = TEXT["id"]
    relabels: list[tuple[Any, Callable[[dict[str, str]], Any]]] = []

    def relabelled(component: Any, update: Callable[[dict[str, str]], Any]) -> Any:
        relabels.append((component, update))
        return component

    # Uploads nobody indexed are deleted from Gradio's temporary folder once an hour old (checked
    # every 10 minutes, and all at shutdown); the others once the add handler is done with them.
    with gr.Blocks(title="Kabar", analytics_enabled=False, delete_cache=(600, 3600)) as app:
        conversation = gr.State(Conversation())
        with gr.Row(elem_id="kabar-header-row"):
            relabelled(
                gr.Markdown(_header(words), elem_id="kabar-header"),
                lambda w: gr.update(value=_header(w)),
            )
            ui_lang = relabelled(
                gr.Radio(
                    list(LANGUAGES),
                    value="Bahasa Indonesia",
                    label=words["interface"],
                    scale=0,
                    min_width=260,
                    elem_id="kabar-ui-lang",
                ),
                lambda w: gr.update(label=w["interface"]),
            )
        with gr.Tabs():
            with (
                relabelled(
                    gr.Tab(words["chat_tab"], id="chat", elem_id="kabar-tab-chat"),
                    lambda w: gr.update(label=w["chat_tab"]),
                ),
                gr.Row(elem_id="kabar-chat-row"),
            ):
                with gr.Column(scale=3, min_width=300):
                    chatbot = relabelled(
                        gr.Chatbot(
                            label=words["chat_label"],
                            height=520,
                            elem_id="kabar-chat",
                            examples=[{"text": q} for q in EXAMPLES],
                            feedback_options=None,
                            # Messages are HTML built by `render`; Markdown and LaTeX off, so
                            # nothing an article holds can become a live link or image.
                            render_markdown=False,
                            latex_delimiters=[],
                            buttons=[],  # the copy icon has no Indonesian label in Gradio
                        ),
                        lambda w: gr.update(label=w["chat_label"]),
                    )
                    question = relabelled(
                        gr.Textbox(
                            label=words["question"],
                            placeholder=words["placeholder"],
                            elem_id="kabar-question",
                            autofocus=True,
                            max_length=services.limits.question_chars,
                        ),
                        lambda w: gr.update(label=w["question"], placeholder=w["placeholder"]),
                    )
                    with gr.Row():
                        send = relabelled(
                            gr.Button(words["send"], variant="primary", elem_id="kabar-send"),
                            lambda w: gr.update(value=w["send"]),
                        )
                        clear = relabelled(
                            gr.Button(words["clear"], elem_id="kabar-clear"),
                            lambda w: gr.update(value=w["clear"]),
                        )
                # On a phone the columns stack: the sources come right after the question box,
                # and the filters (collapsed) after them.
                with gr.Column(scale=2, min_width=300):
                    # Relabelled with the conversation's sources: see `redraw_sources`.
                    panel = gr.HTML(sources_html([], words), elem_id="kabar-sources")
                    with relabelled(
                        gr.Accordion(words["filters"], open=False, elem_id="kabar-filters"),
                        lambda w: gr.update(label=w["filters"]),
                    ):
                        answer_lang = relabelled(
                            gr.Dropdown(
                                _answer_choices(words),
                                value="auto",
                                label=words["answer_lang"],
                                elem_id="kabar-answer-lang",
                            ),
                            lambda w: gr.update(label=w["answer_lang"], choices=_answer_choices(w)),
                        )
                        with gr.Row():
                            date_from = relabelled(
                                gr.Textbox(label=words["date_from"], elem_id="kabar-from"),
                                lambda w: gr.update(label=w["date_from"]),
                            )
                            date_to = relabelled(
                                gr.Textbox(label=words["date_to"], elem_id="kabar-to"),
                                lambda w: gr.update(label=w["date_to"]),
                            )
                        sources = relabelled(
                            gr.Dropdown(
                                [],
                                multiselect=True,
                                label=words["sources_filter"],
                                elem_id="kabar-sources-filter",
                            ),
                            lambda w: gr.update(
                                label=w["sources_filter"],
                                choices=_outlet_choices(services.facets()["sources"], w),
                            ),
                        )
                        langs = relabelled(
                            gr.CheckboxGroup(
                                ["id", "en"],
                                label=words["langs_filter"],
                                elem_id="kabar-langs",
                            ),
                            lambda w: gr.update(label=w["langs_filter"]),
                        )
            add: _AddTab | None = None
            if services.uploads:
                with relabelled(
                    gr.Tab(words["add_tab"], id="add", elem_id="kabar-tab-add"),
                    lambda w: gr.update(label=w["add_tab"]),
                ):
                    add = _add_tab(words, services.limits.paste_chars)
                for component, update in add.relabels():
                    relabelled(component, update)
            with relabelled(
                gr.Tab(words["library_tab"], id="library", elem_id="kabar-tab-library"),
                lambda w: gr.update(label=w["library_tab"]),
            ) as library_tab:
                shelf = _library_tab(words, deletable=services.uploads)
            for component, update in shelf.relabels():
                relabelled(component, update)

        inputs = [
            question,
            chatbot,
            conversation,
            ui_lang,
            answer_lang,
            date_from,
            date_to,
            sources,
            langs,
        ]
        outputs = [chatbot, conversation, panel, question]
        question.submit(respond, inputs, outputs, api_visibility="private")
        send.click(respond, inputs, outputs, api_visibility="private")
        chatbot.example_select(_example_text, None, question, api_visibility="private").then(
            respond, inputs, outputs, api_visibility="private"
        )
        clear.click(reset, [ui_lang], outputs, api_visibility="private")
        chatbot.clear(reset, [ui_lang], outputs, api_visibility="private")

        def relabel(ui_lang: str) -> list[Any]:
            words = _words(ui_lang)
            return [update(words) for _, update in relabels]

        listing = _lister(services)
        listed = [shelf.table, shelf.status, shelf.chosen, shelf.feeds, shelf.feeds_status]
        ui_lang.change(relabel, ui_lang, [c for c, _ in relabels], api_visibility="private").then(
            listing, [shelf.query, ui_lang], listed, api_visibility="private"
        )
        ui_lang.change(redraw_sources, [conversation, ui_lang], panel, api_visibility="private")
        library_tab.select(listing, [shelf.query, ui_lang], listed, api_visibility="private")
        shelf.query.change(listing, [shelf.query, ui_lang], listed, api_visibility="private")
        # Reloading also re-reads the filters' outlets: a feed poll may have brought new ones.
        shelf.reload.click(listing, [shelf.query, ui_lang], listed, api_visibility="private").then(
            refreshed_facets, [ui_lang], [sources, langs], api_visibility="private"
        )
        shelf.chosen.input(
            _selector(services), [shelf.chosen, ui_lang], shelf.status, api_visibility="private"
        )
        shelf.delete.click(
            _deleter(services),
            [shelf.chosen, ui_lang],
            [shelf.chosen, shelf.status],
            api_visibility="private",
        ).then(
            lambda query, lang: _table_and_choices(listing(query, lang)),  # keeps the message
            [shelf.query, ui_lang],
            [shelf.table, shelf.chosen],
            api_visibility="private",
        ).then(refreshed_facets, [ui_lang], [sources, langs], api_visibility="private")
        if add is not None:
            add.button.click(
                _indexer(services, app),
                [add.files, add.title, add.text, add.lang, ui_lang, add.replace],
                [add.table, add.status],
                api_visibility="private",
                # Raw values: the handler checks the file records itself, and gr.File's own
                # preprocessing leaves an empty temporary file behind for every file.
                preprocess=False,
            ).then(refreshed_facets, [ui_lang], [sources, langs], api_visibility="private")

        def ask(question: str, lang: str = "") -> dict[str, Any]:
            """Answer a question with citations (the JSON of `kabar ask --json`)."""
            limits = services.limits
            if lang not in ("", "id", "en"):
                raise gr.Error("lang must be '', 'id' or 'en'")
            try:
                question = limits.question(question)
            except LimitError as exc:
                raise gr.Error(str(exc)) from exc
            answer = services.assistant.ask(question, [], lang=lang or None)
            return answer.to_json()

        def search(query: str, k: int = 5) -> list[dict[str, Any]]:
            """Ranked paragraph hits (the JSON of `kabar search --json`)."""
            try:
                query, k = services.limits.question(query), services.limits.k(k)
            except LimitError as exc:
                raise gr.Error(str(exc)) from exc
            return [hit.to_json() for hit in services.searcher.search(query, k=k)]

        gr.api(ask, api_name="ask")
        gr.api(search, api_name="search")

        def warm_up() -> None:
            services.warm_up()

        # Once the page has rendered: the store opens and the model loads while the user reads
        # and types; the filters get the store's outlets and languages.
        app.load(warm_up, None, None, queue=False, api_visibility="private", show_progress="hidden")
        app.load(
            refreshed_facets,
            [ui_lang],
            [sources, langs],
            api_visibility="private",
            show_progress="hidden",
        )
    # What `mount_gradio_app(i18n=...)` would set; kept here with the rest of the UI's words.
    app.i18n_instance = gr.I18n(**GRADIO_TEXT)
    return app


def _words(ui_lang: str) -> dict[str, str]:
    return TEXT[LANGUAGES.get(ui_lang, "id")]


def _header(words: dict[str, str]) -> str:
    return f"# Kabar\n{words['tagline']} [{words['api_docs']}](api/docs)"


def _answer_choices(words: dict[str, str]) -> list[tuple[str, str]]:
    return [(words["auto"], "auto"), ("Bahasa Indonesia", "id"), ("English", "en")]


def _outlet_choices(outlets: list[str], words: dict[str, str]) -> list[tuple[str, str]]:
    """Outlets as (label, value): the marker for pasted text reads in the UI language."""
    return [(words.get(f"outlet_{name}", name), name) for name in outlets]


def _outlet(name: str, words: dict[str, str]) -> str:
    return words.get(f"outlet_{name}", name)


@dataclass
class _LibraryTab:
    query: gr.Textbox
    status: gr.Markdown
    table: gr.HTML
    chosen: gr.Dropdown  # the article to delete, by id
    delete: gr.Button
    reload: gr.Button
    feeds_status: gr.Markdown
    feeds: gr.HTML

    def relabels(self) -> list[tuple[Any, Callable[[dict[str, str]], Any]]]:
        """The tables are drawn again in the new language by the listing that follows."""
        return [
            (self.query, lambda w: gr.update(label=w["lib_search"])),
            (self.chosen, lambda w: gr.update(label=w["lib_choose"])),
            (self.delete, lambda w: gr.update(value=w["lib_delete"])),
            (self.reload, lambda w: gr.update(value=w["lib_refresh"])),
        ]


def _library_headers(words: dict[str, str]) -> list[str]:
    keys = ("title", "source", "date", "lang", "chunks", "origin")
    return [words[f"lib_col_{k}"] for k in keys]


def _feed_headers(words: dict[str, str]) -> list[str]:
    return [words[f"feed_col_{k}"] for k in ("url", "polled", "entries", "result")]


def _feed_row(feed: catalog.Feed, words: dict[str, str]) -> list[str]:
    """URL, last poll (UTC), entries found, outcome; "never" until a poll has run."""
    if feed.polled is None:
        when = words["feed_untimed"] if feed.seen else words["feed_never"]
    else:
        try:
            when = datetime.fromisoformat(feed.polled).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
            when += " UTC"
        except ValueError:
            when = feed.polled
    if feed.error is not None:
        result = words["feed_failed"].format(error=feed.error)
    else:
        result = words["feed_ok"] if feed.seen else ""
    entries = "" if feed.entries is None else str(feed.entries)
    return [feed.url, when, entries, result]


def _library_tab(words: dict[str, str], deletable: bool) -> _LibraryTab:
    query = gr.Textbox(label=words["lib_search"], elem_id="kabar-lib-search")
    status = gr.Markdown(elem_id="kabar-lib-status")
    table = gr.HTML(elem_id="kabar-lib-table")  # render.table_html: why not a gr.Dataframe
    with gr.Row():
        chosen = gr.Dropdown(
            choices=[],
            value=None,
            label=words["lib_choose"],
            visible=deletable,
            elem_id="kabar-lib-choose",
        )
        delete = gr.Button(
            words["lib_delete"], variant="stop", visible=deletable, elem_id="kabar-lib-delete"
        )
        reload = gr.Button(words["lib_refresh"], elem_id="kabar-lib-reload")
    feeds_status = gr.Markdown(elem_id="kabar-feeds-status")
    feeds = gr.HTML(elem_id="kabar-feeds-table")
    return _LibraryTab(query, status, table, chosen, delete, reload, feeds_status, feeds)


Listing = tuple[str, str, dict[str, Any], str, str]
# Rows drawn in the library table (and offered for deletion): a page's worth; the search box
# narrows a larger library. As HTML, all 4,059 articles of the shared news are 0.82 MB per
# listing, 200 rows 39 KB.
LIBRARY_ROWS = 200


def _lister(services: Services) -> Callable[[str, str], Listing]:
    def listing(query: str, ui_lang: str) -> Listing:
        """The articles matching `query` (the first `LIBRARY_ROWS`), the same as choices for
        deletion, and every followed feed with its last poll."""
        words = _words(ui_lang)
        store = services.searcher.store
        everything = catalog.entries(store)
        found = catalog.search(everything, query)
        shown = found[:LIBRARY_ROWS]
        rows = [
            [e.title, _outlet(e.source, words), e.published, e.lang, e.chunks, e.origin]
            for e in shown
        ]
        choices = [(_choice_label(e, words), e.article_id) for e in shown]
        followed = catalog.feeds(store.cache_dir)
        feeds = table_html(
            words["feeds_table"], _feed_headers(words), [_feed_row(f, words) for f in followed]
        )
        feeds_note = (
            words["feeds_count"].format(count=len(followed)) if followed else words["feeds_none"]
        )
        count = words["lib_count"].format(shown=len(found), total=len(everything))
        if len(found) > len(shown):
            count += " " + words["lib_capped"].format(rows=len(shown))
        return (
            table_html(words["lib_table"], _library_headers(words), rows),
            count,
            gr.update(choices=choices, value=None),
            feeds,
            feeds_note,
        )

    return listing


def _table_and_choices(listed: Listing) -> tuple[str, dict[str, Any]]:
    return listed[0], listed[2]


def _choice_label(entry: catalog.Entry, words: dict[str, str]) -> str:
    """Title, outlet and date: two reports can share a title."""
    return " · ".join(x for x in (entry.title, _outlet(entry.source, words), entry.published) if x)


def _title_of(services: Services, article_id: str | None) -> str | None:
    """The indexed article's title, or None when no article has that id."""
    entries = catalog.entries(services.searcher.store)
    return next((e.title for e in entries if e.article_id == article_id), None)


def _selector(services: Services) -> Callable[[str | None, str], str]:
    def select(article_id: str | None, ui_lang: str) -> str:
        """Which article the delete button would remove, said in the status line."""
        words = _words(ui_lang)
        title = _title_of(services, article_id)
        return words["lib_pick"] if title is None else words["lib_selected"].format(title=title)

    return select


def _deleter(services: Services) -> Callable[[str | None, str], tuple[None, str]]:
    def delete(article_id: str | None, ui_lang: str) -> tuple[None, str]:
        words = _words(ui_lang)
        library = services.library
        if library is None or not article_id:
            return None, words["lib_pick"]
        title = _title_of(services, article_id)
        store = services.searcher.store
        if not catalog.delete(library.settings, store, article_id, uploads=library.folder):
            return None, words["lib_missing"]
        return None, words["lib_deleted"].format(title=article_id if title is None else title)

    return delete


@dataclass
class _AddTab:
    files: gr.File
    title: gr.Textbox
    text: gr.Textbox
    lang: gr.Radio
    button: gr.Button
    status: gr.Markdown
    table: gr.HTML
    replace: gr.Checkbox

    def relabels(self) -> list[tuple[Any, Callable[[dict[str, str]], Any]]]:
        return [
            (self.files, lambda w: gr.update(label=w["files"])),
            (self.replace, lambda w: gr.update(label=w["replace"])),
            (self.title, lambda w: gr.update(label=w["paste_title"])),
            (self.text, lambda w: gr.update(label=w["paste_text"])),
            (self.lang, lambda w: gr.update(label=w["paste_lang"])),
            (self.button, lambda w: gr.update(value=w["index"])),
            (self.table, lambda w: gr.update(value="")),  # results in the old language go
        ]


def _add_tab(words: dict[str, str], paste_chars: int) -> _AddTab:
    return _AddTab(
        files=gr.File(
            file_count="multiple",
            file_types=list(ALLOWED_SUFFIXES),
            label=words["files"],
            elem_id="kabar-files",
        ),
        title=gr.Textbox(label=words["paste_title"], elem_id="kabar-paste-title"),
        text=gr.Textbox(
            label=words["paste_text"],
            lines=8,
            max_length=paste_chars,
            elem_id="kabar-paste-text",
        ),
        lang=gr.Radio(["id", "en"], label=words["paste_lang"], elem_id="kabar-paste-lang"),
        replace=gr.Checkbox(False, label=words["replace"], elem_id="kabar-replace"),
        button=gr.Button(words["index"], variant="primary", elem_id="kabar-index"),
        status=gr.Markdown(elem_id="kabar-index-status"),
        table=gr.HTML(elem_id="kabar-index-results"),
    )


def _indexer(services: Services, app: gr.Blocks) -> Callable[..., tuple[str, str]]:
    """The add tab's handler: save and index uploads and pasted text, one row per file.

    Files are taken only if Gradio's upload route received them (`app.upload_file_set`): the
    paths come from the browser, and a raw request could name any file on the server. Gradio's
    temporary copy is deleted once handled, so each upload is kept once, in the uploads folder.
    """
    limits = services.limits

    def index(
        uploaded: Any,
        paste_title: Any,
        paste_text: Any,
        paste_lang: Any,
        ui_lang: Any,
        replace: Any = False,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it)
    ) -> tuple[str, str]:
        words = _words(str(ui_lang))
        records = _file_records(uploaded)
        paths = [path for path, _ in records]
        temp = Path(get_upload_folder())
        try:
            if len(records) > limits.upload_files:
                return "", words["too_many_files"].format(limit=limits.upload_files)
            paste_text = paste_text if isinstance(paste_text, str) else ""
            if len(paste_text) > limits.paste_chars:
                return "", words["paste_too_long"].format(limit=limits.paste_chars)
            given: list[tuple[Path, str]] = []
            refused: list[FileResult] = []
            for path, name in records:
                try:
                    given.append((received_upload(path, app.upload_file_set, temp), name))
                except UploadError as exc:
                    refused.append(FileResult(name, "failed", str(exc)))
            title = paste_title if isinstance(paste_title, str) else ""
            lang = paste_lang if paste_lang in ("id", "en") else None
            pasted = (title, paste_text, lang) if paste_text.strip() else None
            if not given and pasted is None and not refused:
                return "", words["nothing"]
            results = refused
            library = services.library
            if library is not None and (given or pasted is not None):
                results += library.add(
                    given,
                    pasted,
                    progress=lambda i, n, name: progress((i, n), desc=name),
                    replace=replace is True,
                )
        finally:
            for path in paths:
                discard_received(path, app.upload_file_set, temp)
        services.refresh()
        outcomes = ("added", "updated", "unchanged", "failed")
        count = {k: sum(r.result == k for r in results) for k in outcomes}
        rows = [[r.name, words[f"res_{r.result}"], _detail(r.detail, words)] for r in results]
        headers = [words["col_file"], words["col_result"], words["col_detail"]]
        return table_html(words["results"], headers, rows), words["indexed"].format(**count)

    return index


def _file_records(value: Any) -> list[tuple[str, str]]:
    """(server path, name the user gave) of each file record a client sent; anything else
    becomes a record no upload matches, so it is refused with the others."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    records = []
    for item in items:
        path = item.get("path") if isinstance(item, dict) else item
        path = path if isinstance(path, str) else ""
        name = item.get("orig_name") if isinstance(item, dict) else None
        records.append((path, name if isinstance(name, str) and name else Path(path).name))
    return records


_COUNTED = re.compile(r"\b(\d+) (added|updated|unchanged|failed)\b")


def _detail(detail: str, words: dict[str, str]) -> str:
    """ "2 added, 1 updated" in the interface language; other details pass through."""
    return _COUNTED.sub(lambda m: f"{m.group(1)} {words['res_' + m.group(2)]}", detail)
