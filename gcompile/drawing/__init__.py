"""Drawing graphs with Graphviz: single diagrams, forward/backward pairs and pass diffs.

Modules, from the bottom up: ``style`` (fonts, colours, number formats), ``engines`` (system
``dot`` or the embedded graphviz-pure), ``nodes`` (a node's shape and label), ``base``
(:class:`Diagram`, export and argument checks), ``highlight`` and ``orders`` (overlays),
``pair`` (forward and backward side by side), ``diff`` (a pass's before and after), and
``draw`` (:func:`to_dot`, :func:`render`, :func:`render_pair`).
"""
from .diff import render_passes
from .draw import render, render_pair, to_dot

__all__ = ["render", "render_pair", "render_passes", "to_dot"]
