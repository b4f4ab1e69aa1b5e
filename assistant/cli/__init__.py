"""The `kabar` command: one parser, shared options declared once, a module per command."""

from assistant.cli.main import main

__all__ = ["main"]
