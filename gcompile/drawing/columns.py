"""Which forward node each backward node belongs to, and whether two graphs pair up.

Helpers of :mod:`gcompile.drawing.pair` (and the viewer): :func:`check_pair` refuses
swapped arguments or a backward graph of another forward graph; :func:`backward_columns`
places each backward node under the forward node it differentiates.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, _ = apple()
>>> backward_columns(g, gc.grad(g, "price", g.graph["wrt"]))["dapple"]
'apple'
"""
from __future__ import annotations

from ..errors import GraphError
from .base import check_graph
from .style import clean_text

__all__ = ["check_pair", "backward_columns", "same_key"]


def same_key(key, graph):
    try:
        return key in graph
    except TypeError:
        return False


def _is_backward(graph):
    return isinstance(graph.graph.get("grads"), dict) and any(
        "role" in data for _, data in graph.nodes(data=True))


def check_pair(fwd, bwd):
    """A :class:`GraphError` naming the wrong argument unless ``bwd`` is the backward graph
    of ``fwd`` (``gc.grad(fwd, ...)``): not swapped, not of another forward graph.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple, apple_orange
    >>> g, _ = apple()
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> check_pair(g, bwd)
    >>> try:
    ...     check_pair(bwd, g)
    ... except gc.GraphError as err:
    ...     print(str(err)[:72])
    render_pair(fwd, bwd, ...): the arguments are swapped: the first is a ba
    """
    check_graph(fwd, "forward graph")
    check_graph(bwd, "backward graph")
    if _is_backward(fwd) and not _is_backward(bwd):
        raise GraphError("render_pair(fwd, bwd, ...): the arguments are swapped: the first is a "
                         "backward graph (it has 'grads' and node roles, as gc.grad makes), the "
                         "second a forward graph; call render_pair(fwd, bwd, ...)")
    if not _is_backward(bwd):
        raise GraphError("render_pair(fwd, bwd, ...): the second argument (bwd) is not a "
                         "backward graph: it has no 'grads' graph attribute and no node roles "
                         "(pass the result of gc.grad(fwd, output, wrt))")
    wanted = [("output", bwd.graph.get("output"))]
    wanted += [("wrt node", w) for w in bwd.graph["grads"]]
    wanted += [("origin of backward node " + clean_text(repr(k), 40), o)
               for k, o in bwd.nodes(data="origin") if o is not None]
    for what, key in wanted:
        if not same_key(key, fwd):
            raise GraphError(f"render_pair(fwd, bwd, ...): bwd is not the backward graph of "
                             f"fwd: its {what} {clean_text(repr(key), 60)} is not a node of "
                             f"the forward graph (pass the graph gc.grad was called on)")


def backward_columns(fwd, bwd, keys=None):
    """Backward node -> the forward node it is drawn under (its column in the pair picture).

    A node holding the gradient that flows back along a forward edge ``u -> v``
    (its ``along`` attribute) goes under ``u``, so ``dX`` sits under ``X``; the
    seed under the output; sums of contributions (``accumulation``) and the rest
    of a rule's nodes under their ``origin``.  Nodes with no forward node to
    stand under are left out.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> cols = backward_columns(g, gc.grad(g, "price", g.graph["wrt"]))
    >>> cols["dapple"], cols["dtax"], cols["dapple_price"], cols["dprice"]
    ('apple', 'tax', 'apple_price', 'price')
    """
    out = {}
    for key in (bwd.nodes if keys is None else keys):
        data = bwd.nodes[key]
        along = data.get("along")
        column = data.get("origin")
        if isinstance(along, (list, tuple)) and along and isinstance(along[0], (list, tuple)) \
                and len(along[0]) == 3:
            column = along[0][0]
        if column is not None and same_key(column, fwd):
            out[key] = column
    return out
