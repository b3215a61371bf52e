"""The data the viewer page embeds: one entry per drawn node, its links, groups, paths.

Every entry names its SVG element by an id made from node positions (never
from user text); keys, labels and values travel as JSON text the page shows
with ``textContent``.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> bwd = gc.grad(g, "price", g.graph["wrt"])
>>> m, index = build_model(g, bwd, gc.evaluate(g, feeds))
>>> apple_ = next(n for n in m["nodes"] if n["key"] == "apple")
>>> sorted(m["nodes"][i]["key"] for i in apple_["links"])
['dapple']
"""
from __future__ import annotations

from ..drawing.pair import drawn_backward_nodes
from ..errors import label
from ..drawing.nodes import node_kind
from ..drawing.style import clean_text
from .summary import display_key, summarize

__all__ = ["element_ids", "build_model", "gradient_nodes", "COLLAPSE_NODES"]

#: Graphs drawing more nodes than this open with their groups collapsed.
COLLAPSE_NODES = 150


def element_ids(fwd, bwd=None, diagram_ids=None):
    """``(side, key) -> SVG element id``: ``side`` is ``"f"`` (forward graph, or the only
    graph) or ``"b"`` (backward nodes drawn in their own element).

    ``diagram_ids`` is the drawing's own map (:attr:`gcompile.drawing.base.Diagram.ids`:
    keys for one graph, ``("fwd", key)``/``("bwd", key)`` for a pair); an element is
    claimed once (a backward read of a forward value is drawn as that forward node; a
    collapsed ``box`` group holds all its members).  Without it the ids are those
    ``to_dot`` (``n<i>``) and ``pair_to_dot`` (``fwd<i>``, ``bwd<i>``) give.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> element_ids(g)[("f", "tax")]
    'n2'
    >>> bwd = gc.grad(g, "price", g.graph["wrt"])
    >>> ids = element_ids(g, bwd, gc.drawing.pair.pair_to_dot(g, bwd).ids)
    >>> ids[("f", "apple")], ids[("b", "dapple")], ("b", "apple") in ids
    ('fwd0', 'bwd3', False)
    """
    if not diagram_ids:
        if bwd is None:
            return {("f", key): f"n{i}" for i, key in enumerate(fwd.nodes)}
        ids = {("f", key): f"fwd{i}" for i, key in enumerate(fwd.nodes)}
        ids.update({("b", key): f"bwd{i}"
                    for i, key in enumerate(drawn_backward_nodes(fwd, bwd))})
        return ids
    ids, taken = {}, set()
    sides = [("f", fwd, "fwd")] + ([("b", bwd, "bwd")] if bwd is not None else [])
    for side, graph, tag in sides:
        for key in graph.nodes:
            element = diagram_ids.get(key) if bwd is None else diagram_ids.get((tag, key))
            if element is not None and element not in taken:
                ids[side, key] = element
                taken.add(element)
    return ids


def _in(key, graph):
    try:
        return key in graph
    except TypeError:
        return False


def gradient_nodes(fwd, bwd):
    """Forward node -> the backward node holding d output / d it (where one can be told).

    The ``wrt`` nodes' gradients come from ``bwd.graph["grads"]``, the output's
    from the seed; an intermediate node's is the node ``gc.grad`` names
    ``d<key>`` (its summed adjoint) when that node's ``origin`` is the node or
    one of its consumers.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> g, _ = apple()
    >>> gradient_nodes(g, gc.grad(g, "price", g.graph["wrt"]))["apple_price"]
    'dapple_price'
    """
    found = {}
    for key, data in bwd.nodes(data=True):
        if data.get("role") == "seed" and _in(data.get("origin"), fwd):
            found[data["origin"]] = key
    for key in fwd.nodes:
        name = f"d{label(key)}"
        if key in found or name not in bwd:
            continue
        origin = bwd.nodes[name].get("origin")
        if bwd.nodes[name].get("role") != "forward_value" and _in(origin, fwd) and (
                origin == key or fwd.has_edge(key, origin)):
            found[key] = name
    grads = bwd.graph.get("grads")
    if isinstance(grads, dict):
        found.update({k: v for k, v in grads.items() if _in(k, fwd) and _in(v, bwd)})
    return found


def _entry(graph, key, side, element, values):
    data = graph.nodes[key]
    entry = {"id": element, "side": side, "key": display_key(key), "kind": node_kind(graph, key),
             "op": clean_text(data.get("op"), 60)}
    if data.get("label") is not None:
        entry["label"] = clean_text(data["label"], 200)
    for attr in ("rule", "role"):
        if data.get(attr) is not None:
            entry[attr] = clean_text(data[attr], 200)
    if data.get("origin") is not None:
        entry["origin"] = display_key(data["origin"])
    value = summarize(values.get(key)) if values and _has(values, key) else None
    if value is not None:
        entry["value"] = value
    if isinstance(data.get("shape"), tuple):
        entry["shape"] = "×".join(map(str, data["shape"])) if data["shape"] else "()"
    if data.get("dtype") is not None:
        entry["dtype"] = clean_text(data["dtype"], 40)
    if value is not None:
        entry.update({k: value[k] for k in ("shape", "dtype") if k in value})
    return entry


def _has(values, key):
    try:
        return key in values
    except TypeError:
        return False


def build_model(fwd, bwd=None, values=None, grads=None, *, title=None, diagram_ids=None):
    """The page's data and the index ``(side, key) -> position in data["nodes"]``.

    The data holds ``nodes`` (entries with ``links``), ``groups``, ``collapsed``
    and ``mode``; ``values`` holds forward values, ``grads`` backward values
    (either may hold both).  Chain-rule paths come from :mod:`gcompile.viewer.paths`.

    Examples
    --------
    >>> from gcompile.examples import two_layer_net
    >>> data, index = build_model(two_layer_net()[0])
    >>> [g["name"] for g in data["groups"]], data["collapsed"]
    (['data', 'affine1', 'affine2', 'sigmoid1', 'softmax_with_loss'], False)
    """
    values = dict(values or {})
    bvalues = {**values, **dict(grads or {})}
    ids = element_ids(fwd, bwd, diagram_ids)
    index = {}
    nodes = []
    for (side, key), element in ids.items():
        graph = fwd if side == "f" else bwd
        index[side, key] = len(nodes)
        nodes.append(_entry(graph, key, side, element, values if side == "f" else bvalues))
    for (side, key), i in index.items():
        nodes[i]["search"] = " ".join(
            [nodes[i]["key"], nodes[i].get("label", ""), nodes[i]["op"]]).lower()
        nodes[i]["links"] = []
    if bwd is not None:
        _link(fwd, bwd, index, nodes, bvalues)
    groups = _groups(fwd, bwd, index)
    data = {"mode": "pair" if bwd is not None else "single", "title": clean_text(title or "", 120),
            "nodes": nodes, "groups": groups,
            "collapsed": bool(groups) and len(nodes) > COLLAPSE_NODES}
    return data, index


def _link(fwd, bwd, index, nodes, bvalues):
    grad_of = gradient_nodes(fwd, bwd)
    for key, gkey in grad_of.items():
        entry = nodes[index["f", key]]
        if ("b", gkey) in index:
            entry["grad_node"] = index["b", gkey]
            entry["links"].append(index["b", gkey])
        gvalue = summarize(bvalues.get(gkey)) if _has(bvalues, gkey) else None
        if gvalue is not None:
            entry["grad"] = gvalue
        entry["grad_key"] = display_key(gkey)
    for (side, key), i in index.items():
        if side != "b":
            continue
        origin = bwd.nodes[key].get("origin")
        reads = [p for p in bwd.predecessors(key)
                 if bwd.nodes[p].get("role") == "forward_value" and ("f", p) in index]
        local = bwd.nodes[key].get("local")
        if _in(local, fwd) and ("f", local) in index and bwd.nodes[local].get("role") == "forward_value":
            reads.append(local)
        own = [index["f", origin]] if _in(origin, fwd) and ("f", origin) in index else []
        nodes[i]["links"] = list(dict.fromkeys(own + [index["f", p] for p in reads]))
        if own and i not in nodes[own[0]]["links"]:
            nodes[own[0]]["links"].append(i)


def _groups(fwd, bwd, index):
    """Groups from ``group`` attributes; a backward node joins its origin's group."""
    names, members = {}, []
    for key, group in fwd.nodes(data="group"):
        if group is None:
            continue
        name = clean_text(group, 80)
        if name not in names:
            names[name] = len(members)
            members.append([])
        members[names[name]].append(index["f", key])
    if bwd is not None:
        for (side, key), i in index.items():
            origin = bwd.nodes[key].get("origin") if side == "b" else None
            if side == "b" and _in(origin, fwd) and fwd.nodes[origin].get("group") is not None:
                members[names[clean_text(fwd.nodes[origin]["group"], 80)]].append(i)
    return [{"name": name, "members": members[j]} for name, j in names.items()]
