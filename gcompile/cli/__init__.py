"""The ``gcompile`` command line: :func:`main` parses and dispatches.

Modules: ``app`` (the parser and :func:`main`), ``commands`` (grad, render, eval, example),
``teach`` (compare, explain, step-through), ``inputs`` (reading graphs, feeds and key lists),
``report`` (tables printed on stdout).
"""
from .app import main

__all__ = ["main"]
