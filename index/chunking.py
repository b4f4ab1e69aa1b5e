"""Pack an article's paragraphs into chunks that the embedding model reads whole.

Chunks never cross articles and never exceed the model's limit, so nothing is silently
truncated; each chunk knows which 1-based paragraphs it holds, which is what citations point to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.records import Article, Chunk

TokenCounter = Callable[[Sequence[str]], list[int]]

# A sentence ends at . ! ? … (optionally closed by quotes or brackets) followed by space.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))\s+")


def split_sentences(text: str) -> list[str]:
    """Split at sentence ends; good enough to cut an over-long paragraph at a sensible place."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


@dataclass(frozen=True)
class _Piece:
    paragraph: int  # 1-based
    text: str
    tokens: int


def embedding_text(title: str, body: str) -> str:
    """What the model embeds for a chunk: the headline gives short paragraphs their topic."""
    return f"{title}\n\n{body}" if title else body


class Chunker:
    """Greedy packer: consecutive paragraphs up to `target` tokens, hard cap `limit` tokens."""

    def __init__(
        self, count_tokens: TokenCounter, limit: int, target: int = 160, min_words: int = 0
    ) -> None:
        if limit < 16:
            raise ValueError(f"token limit {limit} is too small to hold a sentence")
        if not 0 <= target <= limit:
            raise ValueError(f"target {target} must be between 0 and the limit {limit}")
        if min_words < 0:
            raise ValueError(f"min_words {min_words} must not be negative")
        self.count_tokens = count_tokens
        self.limit = limit
        self.target = target  # 0: no packing by size, one paragraph per unit
        self.min_words = min_words  # a unit with fewer words takes in the next paragraph

    def _overhead(self, title: str) -> int:
        """Tokens the title and the model's own prefix/special tokens take in every chunk."""
        return self.count_tokens([embedding_text(title, "")])[0]

    def _split_word(self, word: str, tokens: int, budget: int) -> list[tuple[str, int]]:
        """Cut a "word" over budget (a URL, a base64 blob, Chinese or Thai text without spaces)
        at characters, so no input can make a chunk the model would truncate. Cuts are sized
        from the word's token density and checked in one batch: linear even for megabytes."""
        size = max(1, int(len(word) * budget / tokens * 0.8))
        parts = [word[i : i + size] for i in range(0, len(word), size)]
        fitted: list[tuple[str, int]] = []
        for part, count in zip(parts, self.count_tokens(parts), strict=True):
            if count <= budget or len(part) == 1:
                fitted.append((part, count))
            else:  # denser than the word on average: cut finer
                fitted.extend(self._split_word(part, count, budget))
        return fitted

    def _words(self, sentence: str, budget: int) -> list[tuple[str, int]]:
        """The sentence's words, none over budget, with their token counts (each distinct word
        is encoded once: long texts repeat most of their words)."""
        words = sentence.split()
        distinct = list(dict.fromkeys(words))
        known = dict(zip(distinct, self.count_tokens(distinct) if distinct else [], strict=True))
        return [
            pair
            for word, tokens in ((w, known[w]) for w in words)
            for pair in (
                [(word, tokens)] if tokens <= budget else self._split_word(word, tokens, budget)
            )
        ]

    def _split_long(self, paragraph: int, text: str, budget: int) -> list[_Piece]:
        """Cut a paragraph over budget at sentences; a sentence still over budget, at words."""
        # What every count carries besides the words (prompt, special tokens). A prompt ending
        # in a space ("passage: ") ends in a lone "▁" that a following word absorbs: counted
        # alone, a one-token word then costs nothing, so the cost of a word is measured
        # against a one-token word, and is at least one token.
        base = min(self.count_tokens([""])[0], self.count_tokens(["a"])[0] - 1)
        pieces: list[_Piece] = []
        for sentence in split_sentences(text) or [text]:
            counted = self._words(sentence, budget)
            words = [w for w, _ in counted]
            costs = [max(1, tokens - base) for _, tokens in counted]
            start = 0
            while start < len(words):
                size, tokens = self._fit(words, costs, start, base, budget)
                pieces.append(_Piece(paragraph, " ".join(words[start : start + size]), tokens))
                start += size
        return pieces

    def _fit(
        self, words: list[str], costs: list[int], start: int, base: int, budget: int
    ) -> tuple[int, int]:
        """How many words from `start` make the largest piece within budget, and its count.

        The words' own costs add up to the piece's count when a tokenizer splits at spaces
        first (SentencePiece, WordPiece), so the first try usually fits and each piece is
        encoded once or twice: linear in the paragraph. Before this estimate, one-token words
        cost zero, every piece rescanned the rest of the paragraph, and 100k of them took 50 s.
        A try over budget is cut by its excess (a word costs at least one token), then the
        rest is a binary search, so an estimate that is off costs time, never a wrong cut.
        """

        def count(size: int) -> int:
            return self.count_tokens([" ".join(words[start : start + size])])[0]

        size, total = 0, base
        while start + size < len(words) and total + costs[start + size] <= budget:
            total += costs[start + size]
            size += 1
        size = max(1, size)  # one word always fits: `_words` cut the longer ones
        tokens = count(size)
        if tokens <= budget:
            return size, tokens
        hi = size - 1  # the largest size that may still fit
        size = max(1, size - (tokens - budget))
        tokens = count(size)
        if tokens > budget:
            size, tokens = 1, count(1)
        while size < hi:
            mid = (size + hi + 1) // 2
            mid_tokens = count(mid)
            if mid_tokens <= budget:
                size, tokens = mid, mid_tokens
            else:
                hi = mid - 1
        return size, tokens

    def _pieces(self, article: Article, budget: int) -> list[_Piece]:
        counts = self.count_tokens(list(article.paragraphs)) if article.paragraphs else []
        pieces: list[_Piece] = []
        for number, (text, tokens) in enumerate(zip(article.paragraphs, counts, strict=True), 1):
            if tokens <= budget:
                pieces.append(_Piece(number, text, tokens))
            else:
                pieces.extend(self._split_long(number, text, budget))
        return pieces

    def _check_limit(self, article: Article, texts: list[str]) -> None:
        """Piece counts include special tokens each, so sums overestimate; this guards the rest."""
        for text, tokens in zip(texts, self.count_tokens(texts) if texts else [], strict=True):
            if tokens > self.limit:
                raise ValueError(
                    f"article {article.id}: a chunk of {tokens} tokens exceeds the model limit "
                    f"{self.limit} (starts {text[:60]!r})"
                )

    def _group(self, pieces: list[_Piece], budget: int) -> list[list[_Piece]]:
        """Consecutive pieces packed up to `target` tokens; a group under `min_words` words
        also takes the next piece (and a short last group joins the one before) while the
        model's budget allows, so a dateline or a one-line quote is not a unit of its own."""
        target = min(self.target, budget)
        groups: list[list[_Piece]] = []
        sizes: list[int] = []
        words: list[int] = []
        for piece in pieces:
            count = len(piece.text.split())
            if groups and (
                sizes[-1] + piece.tokens <= target
                or (words[-1] < self.min_words and sizes[-1] + piece.tokens <= budget)
            ):
                groups[-1].append(piece)
                sizes[-1] += piece.tokens
                words[-1] += count
            else:
                groups.append([piece])
                sizes.append(piece.tokens)
                words.append(count)
        if len(groups) > 1 and words[-1] < self.min_words and sizes[-2] + sizes[-1] <= budget:
            groups[-2].extend(groups.pop())
        return groups

    def chunk(self, article: Article) -> list[Chunk]:
        title = article.title[:300]
        budget = self.limit - self._overhead(title)
        if budget < 8:  # an absurd headline must not starve the body
            title, budget = "", self.limit - self._overhead("")
        groups = self._group(self._pieces(article, budget), budget)
        bodies = ["\n\n".join(p.text for p in group) for group in groups]
        self._check_limit(article, [embedding_text(title, body) for body in bodies])
        chunks = []
        for ordinal, (group, body) in enumerate(zip(groups, bodies, strict=True)):
            chunks.append(
                Chunk(
                    article_id=article.id,
                    ordinal=ordinal,
                    text=body,
                    first_paragraph=group[0].paragraph,
                    last_paragraph=group[-1].paragraph,
                    title=title,
                    published=article.published,
                    source=article.source,
                    url=article.url,
                    lang=article.lang,
                )
            )
        return chunks
