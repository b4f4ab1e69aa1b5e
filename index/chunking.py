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

    def __init__(self, count_tokens: TokenCounter, limit: int, target: int = 160) -> None:
        if limit < 16:
            raise ValueError(f"token limit {limit} is too small to hold a sentence")
        if not 0 < target <= limit:
            raise ValueError(f"target {target} must be between 1 and the limit {limit}")
        self.count_tokens = count_tokens
        self.limit = limit
        self.target = target

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
        """The sentence's words, none over budget, with their token counts."""
        words = sentence.split()
        counts = self.count_tokens(words) if words else []
        return [
            pair
            for word, tokens in zip(words, counts, strict=True)
            for pair in (
                [(word, tokens)] if tokens <= budget else self._split_word(word, tokens, budget)
            )
        ]

    def _split_long(self, paragraph: int, text: str, budget: int) -> list[_Piece]:
        """Cut a paragraph over budget at sentences; a sentence still over budget, at words."""
        base = self.count_tokens([""])[0]  # prompt and special tokens, counted in every count
        pieces: list[_Piece] = []
        for sentence in split_sentences(text) or [text]:
            counted = self._words(sentence, budget)
            words = [w for w, _ in counted]
            start = 0
            while start < len(words):
                # Largest prefix of the remaining words that fits: binary search on word count,
                # up to a little past what the words' own counts allow (so each try encodes
                # about a chunk, and a megabyte-long paragraph stays linear).
                hi, total = 0, base
                while start + hi < len(words) and total <= budget:
                    total += counted[start + hi][1] - base
                    hi += 1
                lo, hi = 1, min(len(words) - start, hi + 2)
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    candidate = " ".join(words[start : start + mid])
                    if self.count_tokens([candidate])[0] <= budget:
                        lo = mid
                    else:
                        hi = mid - 1
                part = " ".join(words[start : start + lo])
                pieces.append(_Piece(paragraph, part, self.count_tokens([part])[0]))
                start += lo
        return pieces

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

    def chunk(self, article: Article) -> list[Chunk]:
        title = article.title[:300]
        budget = self.limit - self._overhead(title)
        if budget < 8:  # an absurd headline must not starve the body
            title, budget = "", self.limit - self._overhead("")
        target = min(self.target, budget)
        groups: list[list[_Piece]] = []
        size = 0
        for piece in self._pieces(article, budget):
            if groups and size + piece.tokens <= target:
                groups[-1].append(piece)
                size += piece.tokens
            else:
                groups.append([piece])
                size = piece.tokens
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
