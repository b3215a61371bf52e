"""sympy both ways: :func:`from_sympy` builds a graph from expressions, :func:`to_sympy` reads one back.

``to_sympy`` of a backward graph joined with its forward graph
(:func:`gcompile.joint_graph`) gives closed-form gradients a learner can read.
Both handle scalar graphs (every node one number); sympy is needed only when
they are called (it is in the ``test`` extra; ``pip install sympy``).

Examples
--------
>>> import sympy, gcompile as gc
>>> x, y = sympy.symbols("x y")
>>> g = gc.from_sympy(x * sympy.exp(y) + x, "f")
>>> float(gc.evaluate(g, {"x": 2.0, "y": 0.0})["f"])
4.0
>>> bwd = gc.grad(g, "f", ["x", "y"])
>>> exprs = gc.to_sympy(gc.joint_graph(g, bwd))
>>> exprs[bwd.graph["grads"]["x"]], exprs[bwd.graph["grads"]["y"]]
(exp(y) + 1, x*exp(y))
"""
from __future__ import annotations

import networkx as nx

from .errors import GraphError, describe_value
from .graph import plan as make_plan

__all__ = ["from_sympy", "to_sympy"]


def _sympy():
    try:
        import sympy
    except ImportError:
        raise GraphError("sympy support needs sympy: pip install sympy") from None
    return sympy


# ----------------------------------------------------------------- graph -> sympy
def _rules(sp):
    half = sp.Rational(1, 2)
    same = lambda x, **p: x  # noqa: E731  (shape ops are the identity on scalars)
    return {
        "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y, "neg": lambda x: -x, "pow": lambda x, y: x ** y,
        "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tanh": sp.tanh,
        "sigmoid": lambda x: 1 / (1 + sp.exp(-x)), "relu": lambda x: sp.Max(x, 0),
        "sqrt": sp.sqrt, "abs": sp.Abs, "maximum": sp.Max, "minimum": sp.Min,
        "step": lambda x: sp.Heaviside(x, 0), "sign": sp.sign,
        "max_weight": lambda x, y: sp.Piecewise((1, x > y), (half, sp.Eq(x, y)), (0, True)),
        "ones_like": lambda x: sp.Integer(1), "zeros_like": lambda x: sp.Integer(0),
        "sum": same, "mean": same, "max": same, "reshape": same, "transpose": same,
        "broadcast_to": same, "count": lambda x, **p: sp.Integer(1),
        "reshape_like": lambda a, ref: a, "broadcast_like": lambda a, ref, **p: a,
        "sum_to_like": lambda a, ref: a, "max_mask": lambda x, out, **p: sp.Integer(1),
    }


def to_sympy(graph, symbols=None) -> dict:
    """``{node: sympy expression}`` for every node of a scalar graph.

    Inputs become symbols named after their keys (or ``symbols[key]``);
    constants become sympy numbers; a backward graph's forward values stay
    symbols unless the graph is joined with its forward graph first.

    Raises
    ------
    GraphError
        For an op with no scalar meaning (``matmul``, ``conv2d``...), naming the node.

    Examples
    --------
    >>> import gcompile as gc
    >>> from gcompile.examples import apple
    >>> gc.to_sympy(apple()[0])["price"]
    apple*apple_num*tax
    """
    sp = _sympy()
    rules = _rules(sp)
    p = make_plan(graph)
    if symbols is not None and not hasattr(symbols, "get"):
        raise GraphError(f"to_sympy: symbols must be a mapping of input node -> sympy symbol, "
                         f"got {type(symbols).__name__} {symbols!r}")
    symbols = dict(symbols or {})
    out = {}
    for v in p.order:
        data = graph.nodes[v]
        op = data["op"]
        if op == "input":
            out[v] = symbols.get(v, sp.Symbol(v if isinstance(v, str) else str(v)))
            continue
        if op == "const":
            out[v] = _number(sp, data["value"], v)
            continue
        rule = rules.get(op)
        if rule is None:
            raise GraphError(f"to_sympy: node {v!r} has op {op!r}, which has no scalar sympy form "
                             f"(supported: {', '.join(sorted(rules))})")
        args = [out[u] for u in p.operands[v]]
        params = {k: val for k, val in p.params[v].items()}
        out[v] = rule(*args, **params) if op in ("sum", "mean", "max", "reshape", "transpose",
                                                  "broadcast_to", "count", "broadcast_like",
                                                  "max_mask") else rule(*args)
    return out


def _number(sp, value, node):
    import numpy as np

    arr = np.asarray(value)
    if arr.size != 1:
        raise GraphError(f"to_sympy: const node {node!r} holds {describe_value(value)}; "
                         "only scalar graphs have a sympy form")
    x = arr.reshape(()).item()
    if isinstance(x, bool) or (isinstance(x, float) and x.is_integer()):
        return sp.Integer(int(x))
    return sp.Integer(x) if isinstance(x, int) else sp.Float(x)


# ----------------------------------------------------------------- sympy -> graph
def from_sympy(exprs, name="output") -> nx.DiGraph:
    """A forward DiGraph computing sympy expression(s).

    Parameters
    ----------
    exprs : sympy expression, or dict ``{output name: expression}``
    name : str
        The output node's key when ``exprs`` is one expression.

    Symbols become ``input`` nodes keyed by their names; equal subexpressions
    share one node; ``graph["output"]`` is the (first) output and
    ``graph["wrt"]`` the symbols, sorted.

    Examples
    --------
    >>> import sympy, gcompile as gc
    >>> x = sympy.Symbol("x")
    >>> g = gc.from_sympy(sympy.sin(x) ** 2 + sympy.sin(x), "y")
    >>> sorted(d["op"] for _, d in g.nodes(data=True))
    ['add', 'const', 'input', 'pow', 'sin']
    """
    sp = _sympy()
    if isinstance(exprs, dict):
        items = list(exprs.items())
    else:
        items = [(name, exprs)]
    builder = _Builder(sp)
    for key, expr in items:
        try:
            parsed = sp.sympify(expr, strict=True)
        except (sp.SympifyError, TypeError, ValueError):
            parsed = None
        if not isinstance(parsed, sp.Expr):
            raise GraphError(f"from_sympy: {describe_value(expr)} is not a sympy expression")
        expr = parsed
        builder.build(expr, final=key)
    g = builder.g
    g.graph["output"] = items[0][0]
    g.graph["outputs"] = [k for k, _ in items]
    g.graph["wrt"] = sorted(v for v, d in g.nodes(data=True) if d["op"] == "input")
    return g


class _Builder:
    def __init__(self, sp):
        self.sp = sp
        self.g = nx.DiGraph()
        self.memo = {}
        self.unary = {sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos",
                      sp.tanh: "tanh", sp.Abs: "abs", sp.sign: "sign"}

    def node(self, key, op, operands=(), **attrs):
        if key in self.g:
            key = f"{key}#{len(self.g)}"
        self.g.add_node(key, op=op, **attrs)
        for pos, u in enumerate(operands):
            if self.g.has_edge(u, key):
                self.g.edges[u, key]["arg"] = [self.g.edges[u, key]["arg"], pos]
            else:
                self.g.add_edge(u, key, arg=pos)
        return key

    def build(self, expr, final=None):
        if final is None and expr in self.memo:
            return self.memo[expr]
        sp = self.sp
        key = final if final is not None else _short(expr)
        if expr.is_Symbol:
            node = self.memo.get(expr) or self.node(expr.name, "input")
            self.memo[expr] = node
            if final is not None:  # the output is a bare symbol: a named copy
                return self.node(final, "mul", [node, self.build(sp.Integer(1))])
            return node
        if expr.is_Number:
            if not expr.is_real:
                raise GraphError(f"from_sympy: {expr} is not a real number")
            node = self.node(key, "const", value=float(expr))
        elif expr.is_Add or expr.is_Mul:
            node = self._chain(expr, key)
        elif expr.is_Pow:
            base, exp = expr.args
            if exp == sp.Rational(1, 2):
                node = self.node(key, "sqrt", [self.build(base)])
            elif exp == -1:
                node = self.node(key, "div", [self.build(sp.Integer(1)), self.build(base)])
            else:
                node = self.node(key, "pow", [self.build(base), self.build(exp)])
        elif expr.func in self.unary:
            node = self.node(key, self.unary[expr.func], [self.build(expr.args[0])])
        elif expr.func in (sp.Max, sp.Min):
            op = "maximum" if expr.func is sp.Max else "minimum"
            node = self.build(expr.args[0])
            for k, arg in enumerate(expr.args[1:], start=1):
                last = k == len(expr.args) - 1
                node = self.node(key if last else f"{key}.{k}", op, [node, self.build(arg)])
        else:
            raise GraphError(f"from_sympy: no op for {type(expr).__name__} in {expr} "
                             "(supported: +, *, **, exp, log, sin, cos, tanh, sqrt, Abs, sign, "
                             "Max, Min)")
        if final is None:
            self.memo[expr] = node
        return node

    def _chain(self, expr, key):
        op = "add" if expr.is_Add else "mul"
        args = list(expr.args)
        node = self.build(args[0])
        for k, arg in enumerate(args[1:], start=1):
            last = k == len(args) - 1
            node = self.node(key if last else f"{key}.{k}", op, [node, self.build(arg)])
        return node


def _short(expr):
    text = str(expr).replace(" ", "")
    return text if len(text) <= 30 else text[:27] + "..."
