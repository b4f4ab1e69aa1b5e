"""Move a store's chunks into a collection with the current HNSW settings, once, without embedding.

Chroma fixes a collection's graph settings (`max_neighbors`, `ef_construction`) when it creates
the collection; only `ef_search` can change later. So a store created with older settings is
rebuilt by the next indexer run, under the writer lock: its stored vectors, texts and metadata,
and the collection's own metadata (the model stamp), are copied into a new collection, which then
takes the store's name. Every step leaves one complete collection for readers to find:

    1. copy NAME into NAME-next (a NAME-next left by a killed run is dropped first)
    2. check that NAME-next holds exactly the ids of NAME
    3. rename NAME to NAME-prev     (readers that find no NAME use NAME-prev, see `Store`)
    4. rename NAME-next to NAME
    5. delete NAME-prev

A run killed at any point is finished by the next one (`resume`): after step 3 NAME-next is
complete and takes the name; before it nothing but a spare NAME-next exists, which is rebuilt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

NEXT = "-next"
PREV = "-prev"
COPY_BATCH = 5000  # Chroma refuses batches over 5461 records
GRAPH = ("space", "max_neighbors", "ef_construction")  # fixed when a collection is created


def get(client: Any, name: str) -> Any | None:
    """The collection called `name`, or None."""
    try:
        return client.get_collection(name, embedding_function=None)
    except Exception:  # Chroma raises NotFoundError or ValueError depending on backend
        return None


def drop(client: Any, name: str) -> bool:
    if get(client, name) is None:
        return False
    client.delete_collection(name)
    return True


def hnsw_of(collection: Any) -> dict[str, Any]:
    """The collection's HNSW settings as Chroma reports them ({} when it reports none)."""
    config = getattr(collection, "configuration", None) or {}
    return dict(config.get("hnsw") or {})


def outdated(collection: Any, hnsw: Mapping[str, Any]) -> bool:
    """True when the collection's graph was built with other settings than `hnsw`. A backend
    that reports no settings is left alone (it could never be told apart from a new one)."""
    have = hnsw_of(collection)
    return all(key in have for key in GRAPH) and any(have[key] != hnsw[key] for key in GRAPH)


def _ids(collection: Any) -> list[str]:
    found: list[str] = []
    for offset in range(0, collection.count(), COPY_BATCH):
        found.extend(collection.get(include=[], limit=COPY_BATCH, offset=offset)["ids"])
    return found


def _same_ids(a: Any, b: Any) -> bool:
    return a.count() == b.count() and set(_ids(a)) == set(_ids(b))


def resume(client: Any, name: str, changed: Callable[[], None]) -> None:
    """Finish a migration that a killed run left between steps 3 and 5."""
    prev = get(client, name + PREV)
    if prev is None:
        return
    if get(client, name) is None:
        following = get(client, name + NEXT)
        if following is not None and _same_ids(following, prev):
            log.info("finishing the vector index upgrade a stopped run began")
            following.modify(name=name)
        else:  # not reachable through `upgrade`; keep the data that is known complete
            log.warning("rolling back an unfinished vector index upgrade")
            prev.modify(name=name)
            changed()
            return
        changed()
    client.delete_collection(name + PREV)
    changed()


def upgrade(client: Any, name: str, hnsw: Mapping[str, Any], changed: Callable[[], None]) -> bool:
    """Bring the collection `name` to the `hnsw` settings; True when its chunks were copied.

    Call under the writer lock. `changed` is called after each step readers can see.
    """
    resume(client, name, changed)
    current = get(client, name)
    if current is None or not outdated(current, hnsw):
        drop(client, name + NEXT)  # a spare copy from a run killed before step 3
        if (
            current is not None
            and hnsw_of(current).get("ef_search", hnsw["ef_search"]) != (hnsw["ef_search"])
        ):
            current.modify(configuration={"hnsw": {"ef_search": hnsw["ef_search"]}})
            changed()
        return False
    was = hnsw_of(current)
    log.warning(  # once per store, and it takes a while: say so even without --verbose
        "upgrading the vector index of %d chunks (max_neighbors %s, ef_construction %s -> %s, "
        "%s); the stored vectors are copied, nothing is embedded again",
        current.count(),
        was.get("max_neighbors"),
        was.get("ef_construction"),
        hnsw["max_neighbors"],
        hnsw["ef_construction"],
    )
    drop(client, name + NEXT)
    metadata = {k: v for k, v in (current.metadata or {}).items() if not k.startswith("hnsw:")}
    following = client.create_collection(
        name + NEXT,
        embedding_function=None,
        configuration={"hnsw": dict(hnsw)},
        metadata=metadata or None,
    )
    total = current.count()
    for offset in range(0, total, COPY_BATCH):
        page = current.get(
            include=["embeddings", "documents", "metadatas"], limit=COPY_BATCH, offset=offset
        )
        following.upsert(
            ids=page["ids"],
            embeddings=page["embeddings"],
            documents=page["documents"],
            metadatas=page["metadatas"],
        )
    if not _same_ids(following, current):
        drop(client, name + NEXT)
        raise RuntimeError(f"copying {name} for the vector index upgrade lost chunks")
    current.modify(name=name + PREV)
    changed()
    following.modify(name=name)
    changed()
    client.delete_collection(name + PREV)
    changed()
    return True
