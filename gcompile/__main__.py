"""``python -m gcompile``: the ``gcompile`` command (see :mod:`gcompile.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
