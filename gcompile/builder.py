"""The graph builder: nodes added one call (or one operator) at a time.

Node keys are the names you give (:meth:`GraphBuilder.input`,
:meth:`GraphBuilder.name`, ``name=``), otherwise the op name with a counter
(``mul``, ``mul_1``, ...) that skips every name you gave; they are assigned
when :attr:`GraphBuilder.graph` is read, so they never collide.  Constants are
copied, parameters stored as the format expects (sequences as tuples), and
shapes checked as soon as the operand shapes are known.

Examples
--------
>>> import gcompile as gc
>>> b = gc.GraphBuilder()
>>> x = b.input("x", shape=(3,))
>>> y = b.output(b.op("sum", x * x, 0, name="sumsq"))
>>> list(b.graph.edges(data=True))
[('x', 'mul', {'arg': [0, 1]}), ('mul', 'sumsq', {'arg': 0})]
"""
from __future__ import annotations

import contextlib
import numbers

import networkx as nx
import numpy as np

from .errors import GraphError, describe_value, did_you_mean
from .graph import from_records, unique_key
from .registry import lookup
from .shapes import shape_of
from .value import Value

__all__ = ["GraphBuilder"]


class GraphBuilder:
    """Build a forward DiGraph node by node, from :class:`Value` expressions.

    Examples
    --------
    >>> import numpy as np, gcompile as gc
    >>> b = gc.GraphBuilder(name="affine")
    >>> x = b.input("x", shape=(2, 3))
    >>> with b.group("affine1"):
    ...     y = b.name(x @ np.ones((3, 4)) + np.zeros(4), "y")
    >>> b.output(y).shape
    (2, 4)
    >>> [(n, d["op"], d.get("group")) for n, d in b.graph.nodes(data=True)]
    [('x', 'input', None), ('const', 'const', 'affine1'), ('matmul', 'matmul', 'affine1'), \
('const_1', 'const', 'affine1'), ('y', 'add', 'affine1')]
    """

    def __init__(self, name=None):
        self._ops, self._attrs, self._operands, self._shapes = [], [], [], []
        self._user = {}  # node id -> user name
        self._taken = {}  # user name -> node id
        self._groups = []
        self._outputs = []
        self._name = name

    # ------------------------------------------------------------------ nodes
    def _add(self, op, attrs, operands, shape, name):
        if self._groups:
            attrs["group"] = "/".join(self._groups)
        self._ops.append(op)
        self._attrs.append(attrs)
        self._operands.append(operands)
        self._shapes.append(shape)
        value = Value(self, len(self._ops) - 1)
        if name is not None:
            try:
                self.name(value, name)
            except GraphError:
                self._truncate(value.id)
                raise
        return value

    def _truncate(self, mark):
        """Forget nodes ``mark`` and later (a failed call leaves nothing behind)."""
        for nodes in (self._ops, self._attrs, self._operands, self._shapes):
            del nodes[mark:]

    def input(self, name, *, shape=None, value=None, label=None) -> Value:
        """An ``input`` node keyed ``name``, with optional declared ``shape``,
        default ``value`` and display ``label``."""
        attrs = {}
        if shape is not None:
            if (shape_of(shape) is None or not isinstance(shape, (tuple, list))
                    or any(d < 0 for d in shape)):
                raise GraphError(f"input {name!r}: shape must be a tuple of ints, got {shape!r}")
            attrs["shape"] = tuple(int(d) for d in shape)
        if value is not None:
            attrs["value"] = _const_value(value, f"default value of input {name!r}")
            got = shape_of(attrs["value"])
            if shape is not None and got != attrs["shape"]:
                raise GraphError(f"input {name!r} declares shape {attrs['shape']} but its value "
                                 f"has shape {got}")
        if label is not None:
            attrs["label"] = str(label)
        known = attrs.get("shape", shape_of(attrs.get("value")))
        return self._add("input", dict(op="input", **attrs), (), known, name)

    def const(self, value, *, name=None, label=None) -> Value:
        """A ``const`` node holding (a copy of) ``value``."""
        value = _const_value(value, "const")
        attrs = {"op": "const", "value": value}
        if label is not None:
            attrs["label"] = str(label)
        return self._add("const", attrs, (), shape_of(value), name)

    def op(self, op, *args, name=None, label=None, **params) -> Value:
        """A node applying registry op ``op``; operands beyond its arity fill its
        parameters in declaration order (``b.op("sum", x, 0)`` is ``axis=0``)."""
        opdef = lookup(op)
        operands, extra = args[:opdef.arity], args[opdef.arity:]
        if len(operands) < opdef.arity:
            raise GraphError(f"op {op!r} takes {opdef.arity} operand(s), got {len(operands)}")
        if len(extra) > len(opdef.params):
            raise GraphError(f"op {op!r} takes {opdef.arity} operand(s) and parameters "
                             f"{list(opdef.params)}, got {len(args)} positional arguments")
        for key, val in zip(opdef.params, extra):
            if key in params:
                raise GraphError(f"op {op!r}: parameter {key!r} given twice")
            params[key] = val
        for key in params:
            if key not in opdef.params:
                raise GraphError(f"op {op!r} has no parameter {key!r}" +
                                 (did_you_mean(key, opdef.params) or
                                  f" (it takes {list(opdef.params) or 'none'})"))
        params = {k: _param(v) for k, v in params.items()}
        mark = len(self._ops)
        try:
            ids = tuple(self._operand(a, op) for a in operands)
            shape = self._infer(opdef, ids, params)
        except GraphError:
            self._truncate(mark)
            raise
        attrs = dict(op=op, **params)
        if label is not None:
            attrs["label"] = str(label)
        return self._add(op, attrs, ids, shape, name)

    def _operand(self, arg, op):
        if isinstance(arg, Value):
            if arg.builder is not self:
                raise GraphError(f"op {op!r}: operand {arg.key!r} belongs to another graph builder")
            return arg.id
        return self.const(_const_value(arg, f"operand of op {op!r}")).id

    def _infer(self, opdef, ids, params):
        full = dict(opdef.params, **params)
        shapes = [self._shapes[i] for i in ids]
        try:
            return opdef.infer_shape(shapes, full)
        except GraphError as err:
            raise GraphError(f"op {opdef.name!r} on {self._describe(ids)}: {err}") from None
        except (TypeError, ValueError) as err:
            raise GraphError(f"op {opdef.name!r} on {self._describe(ids)}: bad parameters "
                             f"{params!r}: {err}") from None

    def _describe(self, ids):
        keys = self._keys()
        return ", ".join(f"{keys[i]!r} (shape {self._shapes[i]})" for i in ids)

    # ------------------------------------------------------------ naming, groups
    def name(self, value, name) -> Value:
        """Give ``value``'s node the key ``name``; returns ``value``."""
        if not isinstance(value, Value) or value.builder is not self:
            raise GraphError(f"cannot name {describe_value(value)} {name!r}: not a value of this builder")
        try:
            hash(name)
        except TypeError:
            raise GraphError(f"node name {name!r} is not hashable") from None
        if name is None:
            raise GraphError("node name must not be None")
        old = self._user.get(value.id)
        if old is not None and old != name:
            raise GraphError(f"node {old!r} is already named; it cannot also be named {name!r}")
        holder = self._taken.get(name)
        if holder is not None and holder != value.id:
            raise GraphError(f"node name {name!r} is already used by another node")
        self._user[value.id] = name
        self._taken[name] = value.id
        return value

    @contextlib.contextmanager
    def group(self, name):
        """Tag the nodes made inside the ``with`` block with ``group=name``
        (nested groups join with ``/``); the renderer draws a group as a cluster."""
        if not isinstance(name, str) or not name:
            raise GraphError(f"group name must be a non-empty string, got {name!r}")
        self._groups.append(name)
        try:
            yield self
        finally:
            self._groups.pop()

    def output(self, *values):
        """Mark the output node(s); returns the value (or the tuple of values)."""
        if not values:
            raise GraphError("output() needs at least one value")
        for v in values:
            if not isinstance(v, Value) or v.builder is not self:
                raise GraphError(f"output must be a value of this builder, got {describe_value(v)}")
        self._outputs = list(values)
        return values[0] if len(values) == 1 else values

    def _keys(self):
        keys = [self._user.get(i) for i in range(len(self._ops))]
        used, counters = set(self._taken), {}
        for i, key in enumerate(keys):
            if i not in self._user:
                keys[i] = unique_key(self._ops[i], used, first=1, counters=counters)
        return keys

    @property
    def graph(self) -> nx.DiGraph:
        """A new DiGraph of everything built so far (``graph["output"]`` set by
        :meth:`output`; with several outputs also ``graph["outputs"]``)."""
        keys = self._keys()
        g = from_records(keys, [{k: _fresh(v) for k, v in attrs.items()} for attrs in self._attrs],
                         self._operands)
        if self._name is not None:
            g.graph["name"] = self._name
        if self._outputs:
            g.graph["output"] = keys[self._outputs[0].id]
            if len(self._outputs) > 1:
                g.graph["outputs"] = [keys[v.id] for v in self._outputs]
        return g


def _const_value(value, what):
    """Numbers stay Python/numpy scalars; arrays are copied; the rest is an error."""
    if isinstance(value, Value):
        raise GraphError(f"{what}: expected a number or array, got traced value {value.key!r}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (numbers.Number, np.ndarray, np.generic, list, tuple)):
        raise GraphError(f"{what}: cannot use {describe_value(value)} (numbers and numeric "
                         "arrays only)")
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            value = np.array(value)
        except ValueError as err:
            raise GraphError(f"{what}: {describe_value(value)} is not a regular array: {err}") from None
        if value.dtype.kind not in "biufc":
            raise GraphError(f"{what}: {describe_value(value)} is not numeric")
    return value


def _param(value):
    """Parameters as the format stores them: sequences become tuples, numpy ints ints."""
    if isinstance(value, (list, tuple)):
        return tuple(_param(v) for v in value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return tuple(_param(v) for v in value.tolist())
    return value


def _fresh(value):
    return value.copy() if isinstance(value, np.ndarray) else value
