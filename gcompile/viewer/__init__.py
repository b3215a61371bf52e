"""The interactive viewer: one self-contained HTML page linking a forward graph and its
backward graph (:func:`view`, ``gcompile view``).  See ``docs/viewer.md``.

Modules: :mod:`~gcompile.viewer.page` (the page and :func:`view`),
:mod:`~gcompile.viewer.model` (the embedded data and SVG element ids),
:mod:`~gcompile.viewer.paths` (chain-rule paths), :mod:`~gcompile.viewer.summary`
(value texts), :mod:`~gcompile.viewer.command` (``gcompile view``); the
script and style are ``static/viewer.js`` and ``static/viewer.css``.
"""
from .page import ViewerPage, view

__all__ = ["view", "ViewerPage"]
