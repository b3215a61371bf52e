"""The ``gcompile`` command line: :func:`main` parses and dispatches.

Modules: ``app`` (the parser and :func:`main`), ``commands`` (grad, render, eval, example),
``teach`` (compare, explain, step-through), ``inputs`` (reading graphs and key lists), ``feeds`` (``--feed`` values),
``outputs`` (checking and writing output files, all or none), ``report`` (tables printed on
stdout).  ``commands`` and ``teach`` share only ``inputs``, ``outputs`` and ``report``; a new
subcommand is a ``run_*`` function in its own module plus its parser lines in ``app``.
"""
from .app import main

__all__ = ["main"]
