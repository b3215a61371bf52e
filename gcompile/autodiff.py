"""The reverse pass: compile a forward DiGraph into its backward DiGraph.

:func:`grad` makes a DiGraph of the records :func:`gcompile.sweep.backward_records`
writes: the nodes between ``wrt`` and ``output`` walked in reverse topological
order, one graph fragment per operand from each op's VJP rule, the
contributions of fan-out summed by ``add`` nodes and numpy broadcasting undone
by explicit ``sum_to_like`` nodes.  No recursion; linear in the size of the
graph.  :func:`gradients` and :func:`backward_pass` evaluate it.

Examples
--------
>>> import networkx as nx, gcompile as gc
>>> g = nx.DiGraph()
>>> g.add_nodes_from(["apple", "num", "tax"], op="input")
>>> g.add_node("apple_price", op="mul"); g.add_node("price", op="mul")
>>> g.add_edges_from([("apple", "apple_price", {"arg": 0}), ("num", "apple_price", {"arg": 1}),
...                   ("apple_price", "price", {"arg": 0}), ("tax", "price", {"arg": 1})])
>>> grads = gc.gradients(g, {"apple": 100, "num": 2, "tax": 1.1}, "price", ["apple", "num", "tax"])
>>> [round(float(grads[k]), 6) for k in ("apple", "num", "tax")]
[2.2, 110.0, 200.0]
"""
from __future__ import annotations

import contextlib
import gc as _pygc

import networkx as nx

from .errors import GraphError
from .evaluate import evaluate
from .graph import as_node_list, from_records, plan as make_plan
from .sweep import backward_records

__all__ = ["grad", "gradients", "backward_pass", "ROLES"]

#: The ``role`` of each backward node.
ROLES = ("seed", "local_derivative", "accumulation", "unbroadcast", "forward_value", "zero")

_DISCONNECTED = ("zero", "warn", "raise")


def grad(graph, output, wrt, *, shapes=None, disconnected="zero", optimize=False) -> nx.DiGraph:
    """Compile ``graph`` into the DiGraph computing d ``output`` / d ``wrt``.

    Parameters
    ----------
    graph : nx.DiGraph
        The forward graph (see ``docs/graph-format.md``).  Never modified.
    output : node
        The node to differentiate.
    wrt : node or list of nodes
        The nodes to differentiate with respect to.
    shapes : dict, optional
        Known shapes (or example values) of inputs; where every shape is known,
        no ``sum_to_like`` node is emitted for ops that did not broadcast.
    disconnected : {"zero", "warn", "raise"}
        What a ``wrt`` node with no path to ``output`` gets: a zero gradient,
        the same with a warning, or a :class:`GraphError` naming the nodes.
    optimize : bool
        Apply the simplification passes (:func:`gcompile.optimize`: constant
        folding with the seed 1 multiplied through, common subexpressions,
        dead code); what each pass did is in ``bwd.graph["pass_log"]``.  By
        default the graph keeps one op per local derivative, as diagrams teach.

    Returns
    -------
    nx.DiGraph
        The backward graph.  ``bwd.graph["grads"]`` maps each ``wrt`` node to
        the node holding its gradient; leaves reading forward values are keyed
        by the forward node's own key; each node has ``op``, ``origin`` and
        ``role``; rule nodes have ``rule`` (text of the local derivative).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph()
    >>> g.add_nodes_from([("x", {"op": "input"}), ("y", {"op": "input"}), ("z", {"op": "mul"})])
    >>> g.add_edges_from([("x", "z", {"arg": 0}), ("y", "z", {"arg": 1})])
    >>> bwd = grad(g, "z", ["x", "y"], shapes={"x": (), "y": ()})
    >>> bwd.graph["grads"], bwd.nodes["dx"]["rule"]
    ({'x': 'dx', 'y': 'dy'}, 'd(x*y)/dx = y')
    """
    if disconnected not in _DISCONNECTED:
        raise GraphError(f"disconnected must be one of {_DISCONNECTED}, got {disconnected!r}")
    with paused_gc():
        bwd = from_records(*backward_records(graph, output, wrt, shapes, disconnected),
                           compact=True)
    if optimize:
        from .passes import optimize as run_passes

        bwd, log = run_passes(bwd, shapes=shapes)
        bwd.graph["pass_log"] = log.to_dict()
    return bwd


@contextlib.contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector while building big graphs.

    Building a graph allocates millions of small dicts and no reference
    cycles; the collector's repeated scans of them cost more than the build.
    """
    enabled = _pygc.isenabled()
    _pygc.disable()
    try:
        yield
    finally:
        if enabled:
            _pygc.enable()


def gradients(graph, feeds, output, wrt, *, seed=None, disconnected="zero") -> dict:
    """Evaluate d ``output`` / d ``wrt`` at ``feeds``; return ``{wrt node: gradient}``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "sin"
    >>> round(float(gradients(g, {"x": 0.0}, "y", "x")["x"]), 6)
    1.0
    """
    wrt_list = as_node_list(graph, wrt, "wrt")
    _, bwd, back = backward_pass(graph, feeds, output, wrt_list, seed=seed,
                                 disconnected=disconnected)
    return {w: back[bwd.graph["grads"][w]] for w in wrt_list}


def backward_pass(graph, feeds, output, wrt, *, seed=None, disconnected="zero", optimize=False):
    """What :func:`gradients` computes, kept: ``(forward values, backward graph, its values)``.

    The gradient of ``w`` is ``back[bwd.graph["grads"][w]]``; ``optimize``
    simplifies the backward graph as :func:`grad` does.

    Examples
    --------
    >>> from gcompile.examples import apple
    >>> g, feeds = apple()
    >>> values, bwd, back = backward_pass(g, feeds, "price", ["tax"])
    >>> float(values["price"]), float(back[bwd.graph["grads"]["tax"]])
    (220.00000000000003, 200.0)
    """
    from .evaluate import as_value, leaf_value

    wrt_list = as_node_list(graph, wrt, "wrt")
    p = make_plan(graph)
    known = {}
    for v in p.order:
        if v not in p.ops:
            known[v] = leaf_value(graph, v, graph.nodes[v], feeds or {})
    for w in wrt_list:
        if w in known:
            kind = getattr(getattr(known[w], "dtype", None), "kind", "f")
            if kind in "biu":
                raise GraphError(f"wrt node {w!r} holds {known[w].dtype} values: gradients need "
                                 f"floating-point inputs (feed floats, e.g. {w!r}: 2.0)")
    bwd = grad(graph, output, wrt_list, shapes=known, disconnected=disconnected,
               optimize=optimize)
    values = evaluate(graph, feeds)
    if seed is not None:
        values = dict(values)
        values[bwd.graph["seed"]] = as_value(seed, bwd.graph["seed"])
    back = evaluate(bwd, values)
    return values, bwd, back
