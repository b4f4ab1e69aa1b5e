"""Text normalisation and boilerplate removal for article paragraphs.

What counts as boilerplate lives in rules/boilerplate.toml, so covering a new portal means adding
rules there (with examples the tests check), not changing this module.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import ftfy

RULES_FILE = Path(__file__).with_name("rules") / "boilerplate.toml"

Kind = Literal["drop", "cut", "strip"]
_KINDS: tuple[Kind, ...] = ("drop", "cut", "strip")

# Zero-width characters, bidi marks and the soft hyphen: invisible, but they break matching.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_SPACES = re.compile(r"\s+")
_HAS_CONTENT = re.compile(r"\w")

# Detik glues the dateline to the lead: "Jakarta- Komedian ..." -> "Jakarta - Komedian ...".
_GLUED_DATELINE = re.compile(r"^([A-Z][\w.]*(?: [A-Z][\w.]*){0,2})- (?=[A-Z\"“])")
# Tokenised sources (IndoSum, FacQA) put spaces around hyphens inside words. Only repaired where
# the two sides clearly form one word; a " - " between clauses or numbers is left alone.
_WORD_PAIR = re.compile(r"\b([^\W\d_]{2,}) - (?=([^\W\d_]{2,})\b)")
_DECADE = re.compile(r"\b(\d{2,4}) - an\b")
_ORDINAL = re.compile(r"\b([Kk]e) - (\d+)\b")
_PREFIX = re.compile(r"(?<![\w-])(e|se|non|anti|pra|pro|pasca|eks|co|multi|al|Al) - (?=[^\W_])")
_CODE = re.compile(r"\b([A-Z]{1,4}) - ([A-Z]?\d+)\b")
_DOUBLE_DASH = re.compile(r"(?<=\w) - - (?=\w)")
# fmt: off
_REDUP_PREFIXES = ("", "ber", "be", "di", "ke", "me", "mem", "men", "meng", "meny", "pe", "per",
                   "se", "ter")
# fmt: on
_REDUP_SUFFIXES = ("", "an", "annya", "nya", "kan", "i", "lah", "mu", "ku")


@dataclass(frozen=True)
class Rule:
    """One boilerplate pattern from the rules file."""

    name: str
    portal: str
    kind: Kind
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class RuleSet:
    """All rules plus which source strings select which portal."""

    rules: tuple[Rule, ...]
    portals: dict[str, tuple[str, ...]]

    def for_source(self, source: str | None) -> tuple[Rule, ...]:
        """General rules plus the rules of the portals the source names (all portals if unknown)."""
        if source is None:
            return self.rules
        lowered = source.lower()
        wanted = {
            name for name, needles in self.portals.items() if any(n in lowered for n in needles)
        }
        return tuple(r for r in self.rules if r.portal == "general" or r.portal in wanted)


def load_rules(path: Path = RULES_FILE) -> RuleSet:
    """Read and compile a rules file; a bad rule fails loudly here rather than silently later."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    portals = {
        name: tuple(s.lower() for s in needles) for name, needles in data.get("portals", {}).items()
    }
    rules = []
    for entry in data.get("rules", []):
        kind, portal = entry["kind"], entry["portal"]
        if kind not in _KINDS:
            raise ValueError(f"{path}: rule {entry['name']!r}: unknown kind {kind!r}")
        if portal != "general" and portal not in portals:
            raise ValueError(
                f"{path}: rule {entry['name']!r}: portal {portal!r} is not listed in [portals]"
            )
        rules.append(Rule(entry["name"], portal, kind, re.compile(entry["pattern"])))
    return RuleSet(tuple(rules), portals)


@cache
def _mojibake_fixer() -> tuple[Callable[..., str], ftfy.TextFixerConfig]:
    """ftfy, imported on first use: its import builds its character tables (0.16 s on our
    2-core machine), and the chat server imports this module for uploads long before, if ever,
    it cleans a text. Curly quotes are kept (they are real text); everything else ftfy fixes by
    default."""
    import ftfy

    return ftfy.fix_text, ftfy.TextFixerConfig(uncurl_quotes=False, explain=False)


@cache
def default_rules() -> RuleSet:
    """The bundled rules, compiled once per process."""
    return load_rules()


def clean_text(s: str) -> str:
    """Normalise one piece of text: fix mojibake, drop invisible characters, collapse whitespace,
    repair tokenisation artifacts. Safe on any input."""
    fix_text, config = _mojibake_fixer()
    s = fix_text(s, config)
    s = _INVISIBLE.sub("", s)
    s = _SPACES.sub(" ", s).strip()
    return _repair_tokens(s)


def clean_paragraphs(paragraphs: Iterable[str], source: str | None = None) -> list[str]:
    """Normalise paragraphs and remove boilerplate; paragraphs that end up empty are dropped."""
    rules = default_rules().for_source(source)
    cleaned = (_apply_rules(clean_text(p), rules) for p in paragraphs)
    return [p for p in cleaned if p]


def is_boilerplate(paragraph: str, source: str | None = None) -> bool:
    """True if cleaning would remove the paragraph entirely (used to skip page chrome)."""
    return not clean_paragraphs([paragraph], source)


def _apply_rules(text: str, rules: tuple[Rule, ...]) -> str:
    if _dropped(text, rules):
        return ""
    for rule in rules:
        if rule.kind == "strip":
            text = rule.pattern.sub(" ", text)
    for rule in rules:
        if rule.kind == "cut" and (m := rule.pattern.search(text)):
            text = text[: m.start()]
    text = _SPACES.sub(" ", text).strip()
    if _dropped(text, rules) or not _HAS_CONTENT.search(text):
        return ""
    return text


def _dropped(text: str, rules: tuple[Rule, ...]) -> bool:
    return any(r.kind == "drop" and r.pattern.fullmatch(text) for r in rules)


def _repair_tokens(s: str) -> str:
    s = _GLUED_DATELINE.sub(r"\1 - ", s)
    if " - " not in s:
        return s
    s = _DOUBLE_DASH.sub(" -- ", s)
    s = _WORD_PAIR.sub(
        lambda m: m.group(1) + "-" if _is_reduplication(m.group(1), m.group(2)) else m.group(0), s
    )
    s = _DECADE.sub(r"\1-an", s)
    s = _ORDINAL.sub(r"\1-\2", s)
    s = _PREFIX.sub(r"\1-", s)
    return _CODE.sub(r"\1-\2", s)


def _is_reduplication(left: str, right: str) -> bool:
    """'bentrokan - bentrokan', 'bersama - sama', 'teman - temannya': one root on both sides."""
    if left[1:] != left[1:].lower() or right[1:] != right[1:].lower():
        return False  # "detikHot - detikHot", "GSX - GSX": names and codes, not Indonesian words
    a, b = left.lower(), right.lower()
    if a == b:
        return True
    roots_a = {a[len(p) :] for p in _REDUP_PREFIXES if a.startswith(p)}
    roots_b = {b[: len(b) - len(s)] for s in _REDUP_SUFFIXES if b.endswith(s)}
    return any(len(root) >= 3 for root in roots_a & roots_b)
