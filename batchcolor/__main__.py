"""The ``batchcolor`` command's entry point (``python -m batchcolor`` and the console script).

Ctrl-C while the command is still importing (click, then its own modules; slow on a loaded
box) exits 130 with one line, as it does once the command runs, not with a traceback."""
from __future__ import annotations

import sys


def entry() -> None:
    try:
        from batchcolor.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("batchcolor: interrupted\n")
        sys.exit(130)  # batchcolor.errors.EXIT_SIGINT
    main()


if __name__ == "__main__":
    entry()
