"""Kabar's search as a LangChain retriever, for other apps' chains and agents.

Each `Document` is one retrieved passage (consecutive paragraphs of one article); its metadata
says which article and which paragraphs, so the app can cite them. The retriever is built from
a store folder or a Chroma server address; it reads no environment and no global state.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TypedDict, Unpack

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from index.records import Hit
from index.search.searcher import Filters, Searcher
from index.settings import DEFAULT_MODEL, StoreSettings, default_model_cache


def document(hit: Hit) -> Document:
    """A hit as a LangChain document: the passage text, and where it comes from."""
    return Document(
        page_content=hit.text,
        id=hit.chunk_id,
        metadata={
            "article_id": hit.article_id,
            "title": hit.title,
            "url": hit.url,
            "published": hit.published,
            "source": hit.source,
            "lang": hit.lang,
            "paragraphs": list(hit.paragraphs),
            "score": hit.score,
            "similarity": hit.similarity,
        },
    )


class StoreOptions(TypedDict, total=False):
    """What both constructors take besides where the store is (defaults as in `_open`)."""

    k: int  # passages per query (5)
    filters: Filters | None  # dates, outlets, languages
    model: str  # the embedding model the store was built with (the bundled e5)
    model_cache: str | Path | None  # where built models live (Kabar's cache folder)
    collection: str  # the store's collection name ("kabar")


class KabarRetriever(BaseRetriever):
    """Top-`k` passages for a query from a Kabar store (hybrid search, optional filters)."""

    searcher: Searcher
    k: int = 5
    filters: Filters | None = None

    @classmethod
    def from_settings(
        cls, settings: StoreSettings, k: int = 5, filters: Filters | None = None
    ) -> KabarRetriever:
        return cls(searcher=Searcher.from_settings(settings), k=k, filters=filters)

    @classmethod
    def from_store(cls, path: str | Path, **options: Unpack[StoreOptions]) -> KabarRetriever:
        """A retriever over the embedded store in folder `path` (as `kabar index --store`)."""
        return cls._open(Path(path).expanduser(), None, 8000, **options)

    @classmethod
    def from_chroma_server(
        cls, host: str, port: int = 8000, **options: Unpack[StoreOptions]
    ) -> KabarRetriever:
        """A retriever over a Chroma server (`chroma run --path DIR`) that Kabar indexed into."""
        return cls._open(None, host, port, **options)

    @classmethod
    def _open(
        cls,
        store: Path | None,
        host: str | None,
        port: int,
        *,
        k: int = 5,
        filters: Filters | None = None,
        model: str = DEFAULT_MODEL,
        model_cache: str | Path | None = None,
        collection: str = "kabar",
    ) -> KabarRetriever:
        cache = Path(model_cache).expanduser() if model_cache else default_model_cache()
        settings = StoreSettings(
            # a server needs no folder: the lexical cache beside the model cache goes by host
            store=store or cache.parent / "store",
            model=model,
            model_cache=cache,
            chroma_host=host,
            chroma_port=port,
            collection=collection,
        )
        return cls.from_settings(settings, k, filters)

    def _search(self, query: str) -> list[Document]:
        return [
            document(hit) for hit in self.searcher.search(query, k=self.k, filters=self.filters)
        ]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self._search(query)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        # Search is CPU-bound (embedding, BM25): run it off the event loop.
        return await asyncio.to_thread(self._search, query)

    def __repr_args__(self) -> Any:  # keep the searcher's internals out of logs and reprs
        return [("k", self.k), ("filters", self.filters)]
