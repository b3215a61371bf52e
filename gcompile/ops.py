"""Every registry op as a function on traced values: ``gc.ops.exp(x)``.

The functions are made from the registry when asked for, so an op declared
later with :func:`gcompile.defop` is available here at once.  Each takes the
op's operands (traced values, Python numbers or numpy arrays, which become
``const`` nodes), then its parameters, positionally in declaration order or
by keyword, and the keywords ``name=`` (the node key) and ``label=`` (display
text).  Wrong operand counts and unknown parameters are a
:class:`~gcompile.GraphError`.

Examples
--------
>>> import gcompile as gc
>>> def loss(x, t):
...     return gc.ops.softmax_cross_entropy(gc.ops.exp(x), t, name="loss")
>>> g = gc.trace(loss, "x", "t")
>>> list(g.nodes), g.graph["output"]
(['x', 't', 'exp', 'loss'], 'loss')
>>> gc.trace(lambda x: gc.ops.sum(x, axis=1, keepdims=True), "x").nodes["sum"]
{'op': 'sum', 'axis': 1, 'keepdims': True}
>>> gc.ops.exp(1.0, 2.0)
Traceback (most recent call last):
...
gcompile.errors.GraphError: op 'exp' takes 1 operand(s) and parameters [], got 2 positional arguments
"""
from __future__ import annotations

from .errors import GraphError
from .registry import registered_ops
from .value import Value, op_attribute

__all__: list = []  # the op functions come from the registry: see dir(gcompile.ops)


_MADE: dict = {}  # name -> (OpDef, function); remade when the op is re-declared


def __getattr__(name):
    opdef = op_attribute(name)
    made = _MADE.get(name)
    if made is None or made[0] is not opdef:
        made = _MADE[name] = (opdef, _op_function(opdef))
    return made[1]


def __dir__():
    return sorted(set(globals()) | set(registered_ops()))


def _op_function(opdef):
    name = opdef.name

    def apply(*args, **params):
        builder = next((a.builder for a in args if isinstance(a, Value)), None)
        if builder is None:
            if len(args) < opdef.arity or len(args) > opdef.arity + len(opdef.params):
                raise GraphError(f"op {name!r} takes {opdef.arity} operand(s) and parameters "
                                 f"{list(opdef.params)}, got {len(args)} positional arguments")
            raise GraphError(f"gc.ops.{name}: no operand is a traced value; call it on values "
                             "given by gc.trace or a gc.GraphBuilder")
        return builder.op(name, *args, **params)

    apply.__name__ = apply.__qualname__ = name
    rules = "; ".join(r for r in opdef.rules if r)
    params = ", ".join(f"{k}={v!r}" for k, v in opdef.params.items())
    apply.__doc__ = (f"Add a {name!r} node ({opdef.symbol}) of {opdef.arity} operand(s)"
                     + (f", parameters {params}" if params else "") + "."
                     + (f"\n\n{opdef.doc}" if opdef.doc else "")
                     + (f"\n\nLocal derivatives: {rules}." if rules else ""))
    return apply
