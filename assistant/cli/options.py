"""Options and output helpers shared by every command, declared once.

Commands take the shared options as argparse parents, so `--store` and `--json` read the same
everywhere; the store itself is resolved through `StoreSettings.from_env`, never here.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

STORE = argparse.ArgumentParser(add_help=False)
STORE.add_argument(
    "--store", help="index folder (default: $KABAR_STORE or ~/.local/share/kabar/store)"
)

JSON = argparse.ArgumentParser(add_help=False)
JSON.add_argument("--json", action="store_true", help="print JSON")

LANG = argparse.ArgumentParser(add_help=False)
LANG.add_argument(
    "--lang", choices=["id", "en"], help="answer in this language (default: the question's)"
)


def out(payload: Any) -> None:
    """JSON on stdout: what scripts read; everything for people goes to stderr."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def printable(text: str) -> str:
    """A file name or message on one line and not read as markup: control characters escaped."""
    return escape(_CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text))
