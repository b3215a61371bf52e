"""Drawing graphs with Graphviz: single diagrams, forward/backward pairs and pass diffs.

Modules, from the bottom up: ``style`` (fonts, colours, number formats), ``engines`` (system
``dot`` or the embedded graphviz-pure), ``nodes`` (a node's shape and label), ``base``
(:class:`Diagram`, export and argument checks), ``highlight`` and ``orders`` (overlays),
``options`` (every style option, documented once), ``columns`` (which forward node each
backward node stands under; the pair argument check), ``aliases`` (gradients with no node of
their own after ``gc.optimize``), ``book`` (the book figure: gradients under the forward
values), ``pair`` (forward and backward side by side: :func:`render_pair`), ``diff`` (a pass's before and after: :func:`render_passes`), and
``draw`` (one graph: :func:`to_dot`, :func:`render`).
"""
from .diff import render_passes
from .draw import render, to_dot
from .pair import render_pair

__all__ = ["render", "render_pair", "render_passes", "to_dot"]
