"""Jinlin's entry point in a source checkout: `python run_bot.py [command]`, the same as the installed `jinlin`."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
