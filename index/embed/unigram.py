"""A Unigram tokenizer that loads in 0.2 s and 50 MB, giving the ids `tokenizers` gives.

`tokenizers` keeps a Unigram vocabulary in a byte trie with a hash map per node: for e5's
250k pieces (783k nodes) that is about 280 MB and 0.9 s of CPU to load, more than the int8
encoder itself (150 MB, 0.2 s), and a search only needs a dozen words tokenized. So the bundled
model's build also writes its vocabulary as plain files (`write`), and this module runs the same
Viterbi over a dict. The fiddly parts stay with `tokenizers`: the normalizer and the
pre-tokenizer are its own objects, built from the folder's `tokenizer.json` without the
vocabulary. What is reproduced here, after `tokenizers/src/models/unigram/model.rs`
(`encode_optimized`) and its added-token and post-processing steps:

* added tokens (`<s>`, `<unk>`, ...) are cut out of the raw text first, and the Metaspace
  pre-tokenizer's "first" scheme prepends its marker only to a part starting the text;
* each word's best path is built left to right; a candidate replaces a node's best only when
  strictly better, so ties go to the earliest start, as in Rust; a character with no piece of
  its own gets an unknown node scored `min score - 10`, and a run of unknown nodes is one id;
* the template's special tokens wrap the content, which is truncated first, as transformers does.

The build checks this against `tokenizers` on its check texts and refuses to write the files for
a tokenizer of any other shape; the tests compare both on thousands of real texts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

CONFIG = "unigram.json"
VOCAB = "unigram-vocab.txt"
SCORES = "unigram-scores.npy"
_UNK_PENALTY = 10.0  # K_UNK_PENALTY in tokenizers' model.rs
_WORD_CACHE = 100_000  # words remembered, like the Rust model's cache


def write(tokenizer_json: Path, folder: Path) -> bool:
    """Write the compact form of `tokenizer_json` into `folder`; False (nothing written) when
    the tokenizer is not a Unigram of the shape this module reproduces."""
    spec = json.loads(tokenizer_json.read_text("utf-8"))
    model = spec.get("model") or {}
    template = (spec.get("post_processor") or {}).get("single") or []
    sequence = [i for i, part in enumerate(template) if "Sequence" in part]
    plain_added = all(
        not (t.get("normalized") or t.get("lstrip") or t.get("rstrip") or t.get("single_word"))
        for t in spec.get("added_tokens") or []
    )
    if (
        model.get("type") != "Unigram"
        or model.get("byte_fallback")
        or model.get("unk_id") is None
        or (spec.get("post_processor") or {}).get("type") != "TemplateProcessing"
        or len(sequence) != 1
        or not plain_added
        or spec.get("truncation")
        or spec.get("padding")
    ):
        return False
    pieces = [piece for piece, _ in model["vocab"]]
    if any("\n" in piece for piece in pieces):
        return False
    specials = spec["post_processor"]["special_tokens"]

    def ids_of(parts: list[dict[str, Any]]) -> list[int]:
        return [i for p in parts for i in specials[p["SpecialToken"]["id"]]["ids"]]

    config = {
        "unk_id": model["unk_id"],
        "prefix": ids_of(template[: sequence[0]]),
        "suffix": ids_of(template[sequence[0] + 1 :]),
        "added": {t["content"]: t["id"] for t in spec.get("added_tokens") or []},
        "pipeline": {
            **{k: v for k, v in spec.items() if k not in {"model", "added_tokens"}},
            "added_tokens": [],
            "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]},
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / VOCAB).write_text("\n".join(pieces), encoding="utf-8")
    np.save(folder / SCORES, np.asarray([score for _, score in model["vocab"]], np.float64))
    (folder / CONFIG).write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return True


def available(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (CONFIG, VOCAB, SCORES))


class UnigramTokenizer:
    """Token ids for texts, from the files `write` made."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        config = json.loads((folder / CONFIG).read_text("utf-8"))
        self._pipeline_spec: dict[str, Any] = config["pipeline"]
        self._pipeline = Tokenizer.from_str(json.dumps(self._pipeline_spec))
        pieces = (folder / VOCAB).read_text("utf-8").split("\n")
        self._ids = {piece: i for i, piece in enumerate(pieces)}
        self._scores: list[float] = np.load(folder / SCORES).tolist()
        self._unk_id = int(config["unk_id"])
        self._unk_score = min(self._scores) - _UNK_PENALTY
        self._longest = max(map(len, pieces))
        self.prefix: list[int] = config["prefix"]
        self.suffix: list[int] = config["suffix"]
        self._added: dict[str, int] = config["added"]
        alternatives = sorted(self._added, key=len, reverse=True)
        self._added_re = re.compile("(" + "|".join(map(re.escape, alternatives)) + ")")
        self._word = lru_cache(maxsize=_WORD_CACHE)(self._viterbi)

    def token_to_id(self, token: str) -> int | None:
        return self._added.get(token, self._ids.get(token))

    def num_special_tokens(self) -> int:
        return len(self.prefix) + len(self.suffix)

    def content_ids(self, text: str) -> list[int]:
        """The ids of `text` without the template's special tokens."""
        ids: list[int] = []
        start = 0
        for part in self._added_re.split(text) if self._added else [text]:
            if part in self._added:
                ids.append(self._added[part])
            elif part:
                normalized = self._pipeline.normalizer.normalize_str(part)
                pre = self._pipeline.pre_tokenizer if start == 0 else self._not_first
                for word, _ in pre.pre_tokenize_str(normalized):
                    ids.extend(self._word(word))
            start += len(part)
        return ids

    def ids(self, texts: Sequence[str], limit: int | None = None) -> list[list[int]]:
        """Each text's ids with the special tokens; content cut to fit `limit` when given."""
        keep = None if limit is None else limit - self.num_special_tokens()
        return [[*self.prefix, *self.content_ids(t)[:keep], *self.suffix] for t in texts]

    @cached_property
    def _not_first(self) -> Any:
        """The pre-tokenizer for a part after an added token: the Metaspace "first" scheme does
        not prepend there. Built only when a text holds an added token."""
        from tokenizers import Tokenizer

        spec = json.loads(json.dumps(self._pipeline_spec))
        steps = spec["pre_tokenizer"].get("pretokenizers", [spec["pre_tokenizer"]])
        for step in steps:
            if step.get("type") == "Metaspace" and step.get("prepend_scheme") == "first":
                step["prepend_scheme"] = "never"
        return Tokenizer.from_str(json.dumps(spec)).pre_tokenizer

    def _viterbi(self, word: str) -> tuple[int, ...]:
        """The best segmentation of one pre-tokenized word (`encode_optimized`)."""
        n = len(word)
        best = [0.0] * (n + 1)
        start = [-1] * (n + 1)
        token = [0] * (n + 1)
        ids, scores, unk = self._ids, self._scores, self._unk_id
        for s in range(n):
            here = best[s]
            single = False
            for e in range(s + 1, min(n, s + self._longest) + 1):
                i = ids.get(word[s:e])
                if i is None:
                    continue
                score = scores[i] + here
                if start[e] < 0 or score > best[e]:
                    best[e], start[e], token[e] = score, s, i
                single = single or e == s + 1
            if not single:
                score = self._unk_score + here
                if start[s + 1] < 0 or score > best[s + 1]:
                    best[s + 1], start[s + 1], token[s + 1] = score, s, unk
        out: list[int] = []
        end = n
        while end > 0:
            if not (token[end] == unk and out and out[-1] == unk):
                out.append(token[end])
            end = start[end]
        out.reverse()
        return tuple(out)
