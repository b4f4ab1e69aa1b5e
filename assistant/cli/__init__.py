"""The `kabar` command: one parser (`main`), shared options declared once (`options`), and a
module per command, each adding itself with `register(subparsers)`."""
