"""Dense paragraph search over a Kabar store: the query side of the index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from index.embed import Embedder
from index.records import Hit
from index.settings import StoreSettings
from index.store import EmptyStoreError, Store


@dataclass(frozen=True)
class Filters:
    """Restrictions applied inside retrieval, so the top k are all eligible hits."""

    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None  # ISO date, inclusive
    sources: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.date_from:
            clauses.append({"day": {"$gte": int(self.date_from[:10].replace("-", ""))}})
        if self.date_to:
            clauses.append({"day": {"$lte": int(self.date_to[:10].replace("-", ""))}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if self.langs:
            clauses.append({"lang": {"$in": list(self.langs)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Searcher:
    """Embeds the question with the store's model and asks Chroma for the nearest chunks."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        store.check_model(embedder.name, embedder.fingerprint)
        self.store = store
        self.embedder = embedder

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> Searcher:
        return cls(Store.open(settings), Embedder(settings.model, settings.model_cache))

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        if k < 1:
            raise ValueError("k must be at least 1")
        if self.store.count() == 0:  # say so before spending seconds loading the model
            raise EmptyStoreError("the store is empty: index some articles with `kabar index PATH`")
        vector = self.embedder.embed_query(query)
        return self.store.query(vector, k, (filters or Filters()).where())
