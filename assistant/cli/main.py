"""`kabar`: index news, search it, answer from it and serve the chat, from the command line.

Each command lives in its own module with a `register(subparsers)` function; heavy libraries
(the encoder, Chroma, Gradio) are imported inside the command that needs them, so `kabar --help`
and `kabar feeds list` start without them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from rich.logging import RichHandler
from rich.markup import escape

from assistant.cli import ask, eval, feeds, index, search, serve, watch
from assistant.cli.options import err

COMMANDS = (index, search, ask, serve, eval, feeds, watch)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kabar", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors a user can act on: one red line, exit 2, no traceback."""
    from index.store.lock import StoreBusyError
    from index.store.protocol import EmptyStoreError, ModelMismatchError

    return (ModelMismatchError, EmptyStoreError, StoreBusyError, ValueError, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except Exception as exc:
        if not isinstance(exc, _expected_errors()):
            raise
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
