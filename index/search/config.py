"""What a search is asked for: the mode, the knobs, and the filters applied inside retrieval.

Kept apart from the searcher so the CLI can declare its options without loading the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from index.records import Hit
from index.search.fusion import FusionParams
from index.store.protocol import ChunkFilter

if TYPE_CHECKING:
    import numpy as np

    from index.store.lexical import LexicalIndex

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")


def day_number(iso: str | None) -> int | None:
    """An ISO date as the YYYYMMDD number the store filters on."""
    return int(iso[:10].replace("-", "")) if iso else None


@dataclass(frozen=True)
class Filters:
    """Restrictions applied inside retrieval, so the top k are all eligible hits.

    `recency_half_life_days` turns on an exponential recency decay of the ranking (off unless
    set, or unless the question asks for the latest news; see `index.search.postprocess`).
    """

    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None  # ISO date, inclusive
    sources: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    recency_half_life_days: float | None = None

    @property
    def restricts(self) -> bool:
        return bool(self.date_from or self.date_to or self.sources or self.langs)

    def for_store(self, article_ids: Sequence[str] = ()) -> ChunkFilter:
        """The same restriction in the store's backend-neutral terms."""
        return ChunkFilter(
            article_ids=tuple(article_ids),
            day_from=day_number(self.date_from),
            day_to=day_number(self.date_to),
            sources=self.sources,
            langs=self.langs,
        )

    def accepts(self, hit: Hit) -> bool:
        """The same test as `for_store`, on a hit already fetched."""
        day = day_number(hit.published)
        if self.date_from and (day is None or day < (day_number(self.date_from) or 0)):
            return False
        if self.date_to and (day is None or day > (day_number(self.date_to) or 0)):
            return False
        if self.sources and hit.source not in self.sources:
            return False
        return not (self.langs and hit.lang not in self.langs)

    def mask(self, lexical: LexicalIndex) -> np.ndarray | None:
        return lexical.select(
            day_number(self.date_from),
            day_number(self.date_to),
            list(self.sources),
            list(self.langs),
        )


@dataclass(frozen=True)
class SearchConfig:
    """Retrieval knobs; the defaults are the measured best (README, "Search quality")."""

    mode: Mode = "hybrid"
    candidates: int = 50  # depth taken from each side before fusion
    fusion: FusionParams = field(default_factory=FusionParams)
    # At most this many chunks of one article in the top k. 3 over 2 on the dev sets
    # (bench/units.py, hybrid): cross-lingual paragraph R@5 0.880 -> 0.927 (en over id) and
    # 0.85 -> 0.89 (id over en), FacQA valid (0.897) and English FacQA (0.80) unchanged.
    per_article: int = 3
    window: int = 0  # neighbouring units on each side read with each hit (see the searcher)
    overfetch_max: int = 3000  # filtered: over-fetch up to this many ids, else fetch by id
    feedback_docs: int = 5  # best other-language dense hits whose terms expand the question
    feedback_terms: int = 10  # distinctive terms taken from them (with fusion.feedback > 0)
