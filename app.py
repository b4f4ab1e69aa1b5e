"""Kabar's web chat: `python app.py [--host 127.0.0.1] [--port 7860] [--store DIR]`."""

import sys

from assistant.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
