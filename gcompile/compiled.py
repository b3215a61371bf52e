"""``gc.compile``: a forward graph and its gradient as one generated Python function.

``compile(graph, output, wrt)`` returns a callable ``f``; ``f(feeds)`` returns
``(value, {wrt node: gradient})``.  On the first call with a new *signature*
(each input fed a Python float, or an array of some dtype and shape) it builds
the backward graph with :func:`gcompile.grad` for those shapes, lowers both
graphs into one simplified program (:mod:`gcompile.lowering`), writes it as
straight-line Python (:mod:`gcompile.emit`) and compiles it; later calls
with the same signature run that function directly: no networkx, no dispatch
per node.  Float scalars run as pure-Python ``math`` code, arrays as numpy
calls.  Tensors and dask arrays run the same way on their own library:
the namespace comes from the feeds (:mod:`gcompile.namespace`), is part of the
signature, and their code has no ``math`` fast path.  ``f.source`` is the generated code of the latest signature: one line
per computed node, commented with the node's key and op (and the single-use
nodes fused into it).  Before differentiating, known compositions become the
fused table op computing them the same way (softmax, sigmoid:
:mod:`gcompile.fusion`), and static shapes turn gradient helpers into plain
ops (:mod:`gcompile.specialize`).  With ``backend="native"`` (or ``"auto"``,
for large all-scalar programs, when numba is installed) the program runs as an
instruction tape in one numba kernel instead (:mod:`gcompile.native`; ``f.tape``
lists it, ``f.source`` still shows the equivalent Python, lowered again and
written on first access: the program is not kept).  Each intermediate is released (``del``) on the line
that reads it last; ``f.peak_bytes(feeds)`` reports the peak bytes one call
allocates (measured with :mod:`tracemalloc`).

If the generated code raises (a math domain error, an overflow, a shape error
numpy finds only at run time), the call is repeated by the interpreter
(:func:`gcompile.evaluate` of both graphs), which gives numpy's answer (``inf``,
``nan``) or a :class:`~gcompile.GraphError` naming the node; ``f.fallbacks``
counts such calls.

Huge graphs compile to one function: CPython's ``compile()`` takes time
roughly proportional to the bytecode (measured on the 2-core bench machine:
about 6-15 us per simple line, ~60 us per fused line of W1), hits no limit at
400,000 lines, and was not faster when the same lines were split into chunk
functions of 500-20,000 lines -- which would also have to pass every live
value between chunks (at the turn to the backward pass nearly every forward
value is live).  Fusing single-use values into the line that reads them keeps
the line count near the number of forward nodes.

Examples
--------
>>> import gcompile as gc
>>> from gcompile.examples import apple
>>> g, feeds = apple()
>>> f = gc.compile(g, "price", ["apple", "apple_num", "tax"])
>>> value, grads = f(feeds)
>>> round(value, 6), {k: round(v, 6) for k, v in grads.items()}
(220.0, {'apple': 2.2, 'apple_num': 110.0, 'tax': 200.0})
>>> print(f.source.splitlines()[1])
    v0 = (i0 * i1)  # 'apple_price': mul
"""
from __future__ import annotations

import builtins
import linecache
import time
import tracemalloc
from collections.abc import Mapping

import numpy as np

from .autodiff import grad, paused_gc
from .errors import GraphError, describe_value
from .evaluate import evaluate
from .feeds import MISSING, check_shape, read_input
from .fusion import fuse
from .graph import as_node_list, node_dicts, plan as make_plan
from .limits import check_sizes, checked_shapes
from . import native
from .emit import emit
from .lowering import F8, OP, demand_order, lower_records
from .namespace import device_of, is_foreign_array, library_of, namespace_of
from .sweep import backward_records

__all__ = ["compile", "CompiledGradient"]

_SCALAR = "float"
_counter = [0]


def compile(graph, output=None, wrt=None, *, feeds=None, release=True,  # noqa: A001
            backend="auto"):
    """Compile value and gradient of ``output`` w.r.t. ``wrt`` into one Python function.

    Parameters
    ----------
    graph : nx.DiGraph
        The forward graph; read now and again for each new feed signature, so
        it must not change while ``f`` is in use.  Never modified.
    output, wrt : node, node or list of nodes
        Default to ``graph.graph["output"]`` and ``graph.graph["wrt"]``.
    feeds : dict, optional
        Example feeds: compile for their signature now rather than on the
        first call (inputs with a ``value`` attribute are used when not fed).
    release : bool
        Write ``del`` statements releasing each intermediate after its last use.
    backend : {"auto", "python", "native"}
        ``"python"``: generated Python source.  ``"native"``: an instruction
        tape run by one numba kernel (:mod:`gcompile.native`; all-scalar
        float64 signatures of its ops; needs ``pip install gcompile[native]``).
        ``"auto"`` (default): native where it applies, numba is installed and
        the tape has at least ``gcompile.native.AUTO_MIN`` instructions, else
        Python.  ``f.source`` is the generated Python either way;
        ``f.tape`` lists the native tape.

    Returns
    -------
    CompiledGradient
        ``f(feeds) -> (value, grads)``.

    Examples
    --------
    >>> import networkx as nx, gcompile as gc
    >>> g = nx.DiGraph([("x", "y")]); g.nodes["x"]["op"] = "input"; g.nodes["y"]["op"] = "tanh"
    >>> f = gc.compile(g, "y", "x")
    >>> value, grads = f({"x": 0.5})
    >>> round(value, 6), round(grads["x"], 6)
    (0.462117, 0.786448)
    """
    return CompiledGradient(graph, output, wrt, feeds=feeds, release=release, backend=backend)


class CompiledGradient:
    """The callable :func:`compile` returns; one generated function per feed signature.

    Attributes
    ----------
    source : str
        Generated code of the latest signature (``""`` before the first).
    signatures : dict
        Signature -> generated function info, one entry per compiled signature.
    fallbacks : int
        Calls the interpreter answered because the generated code raised.
    """

    def __init__(self, graph, output=None, wrt=None, *, feeds=None, release=True,
                 backend="auto"):
        if backend not in ("auto", "python", "native"):
            raise GraphError(f"backend must be 'auto', 'python' or 'native', got {backend!r}")
        if backend == "native":
            native.require()
        self.backend = backend
        with paused_gc():  # millions of small objects and no cycles (see paused_gc)
            self._setup(graph, output, wrt, release)
        self.signatures = {}
        self.fallbacks = 0
        self._last = None
        if feeds is not None or all(d is not MISSING for _, d, _ in self._inputs):
            self._specialize(*self._arguments(feeds or {}))

    def _setup(self, graph, output, wrt, release):
        self._plan = p = make_plan(graph)
        if output is None:
            output = graph.graph.get("output")
        if wrt is None:
            wrt = graph.graph.get("wrt")
        if output is None or wrt is None:
            raise GraphError("compile needs output and wrt (or graph.graph['output'/'wrt'])")
        (self.output,) = as_node_list(graph, [output], "output")
        self.wrt = as_node_list(graph, wrt, "wrt")
        if len(set(self.wrt)) != len(self.wrt):
            raise GraphError(f"wrt lists a node twice: {self.wrt!r}")
        self.graph = graph
        self.release = release
        self._fingerprint = _fingerprint(graph)
        nodes = node_dicts(graph)[0]
        leaves = [v for v in p.order if v not in p.ops]
        consts = {v: nodes[v].get("value") for v in leaves if nodes[v]["op"] == "const"}
        # what gc.grad's records and the lowering read: compositions fused (gcompile.fusion)
        self._fused = fuse(p, {self.output, *self.wrt}, consts, graph)
        self._fused_graph = getattr(self._fused, "graph", None) or graph  # holds added nodes
        # the order lowering numbers the forward nodes in (the same for every signature)
        self._order = demand_order(self._fused, [self.output] + self.wrt)
        wanted = set(self._order) if self._fused is p else _ancestors(p, [self.output] + self.wrt)
        self._inputs = [(v, nodes[v].get("value", MISSING), _declared(nodes[v]))
                        for v in leaves if v in wanted and nodes[v]["op"] == "input"]

    def __call__(self, feeds):
        """Return ``(value, {wrt node: gradient})`` at ``feeds``."""
        args, sig = self._arguments(feeds)
        entry = self.signatures.get(sig)
        if entry is None:
            entry = self._specialize(args, sig)
        try:
            value, grads = entry["fn"](*args)
        except Exception:  # noqa: BLE001 -- the interpreter answers or names the node
            self.fallbacks += 1
            return self._interpret(feeds)
        return value, dict(zip(self.wrt, grads))

    def peak_bytes(self, feeds):
        """Peak bytes allocated during one call at ``feeds``, above what was held before.

        Measured with :mod:`tracemalloc` (numpy reports its array buffers to
        it): the peak of traced memory during the call minus the traced memory
        before it.  The caller's inputs are not counted; the returned value and
        gradients are.  The call is compiled first if needed, so only the run
        is measured.
        """
        args, sig = self._arguments(feeds)
        if sig not in self.signatures:
            self._specialize(args, sig)
        started = not tracemalloc.is_tracing()
        if started:
            tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            result = self(feeds)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            if started:
                tracemalloc.stop()
        del result
        return peak - before

    def source_for(self, feeds):
        """The generated code for the signature of ``feeds`` (compiling it if needed)."""
        args, sig = self._arguments(feeds)
        entry = self.signatures.get(sig) or self._specialize(args, sig)
        return _source(self, entry)

    def _arguments(self, feeds):
        """Positional arguments and signature; bad feeds are a GraphError naming the input."""
        if not isinstance(feeds, Mapping):
            raise GraphError(f"feeds must be a mapping from node to value, got {type(feeds).__name__}")
        args, sig = [], []
        foreign = False
        for node, default, declared in self._inputs:
            value = feeds.get(node, default)
            kind = type(value)
            if kind is float:  # fast paths: what read_input keeps as it is (floats as float64)
                key = _SCALAR
            elif kind is np.ndarray and value.dtype.kind in "biuf" and value.ndim:
                key = (value.dtype.str, value.shape)
            else:
                value, key = _convert(read_input(node, value, None), node)
                foreign = foreign or len(key) == 3
            if declared is not None and (() if key is _SCALAR else key[1]) != declared:
                check_shape(node, value, declared)
            args.append(value)
            sig.append(key)
        if foreign:  # one library for all feeds (GraphError naming the inputs otherwise)
            namespace_of([(node, value) for (node, _, _), value in zip(self._inputs, args)])
        return args, tuple(sig)

    def _specialize(self, args, sig):
        xp = np
        if any(key is not _SCALAR and len(key) == 3 for key in sig):
            xp = namespace_of([(node, value) for (node, _, _), value in zip(self._inputs, args)])
        with paused_gc():
            return self._build(sig, xp)

    def _build(self, sig, xp=np):
        if self._fingerprint != _fingerprint(self.graph):
            raise GraphError("the graph changed after gc.compile: compile it again")
        signature = {}
        for (node, _, _), key in zip(self._inputs, sig):
            signature[node] = ((), F8) if key is _SCALAR else (key[1], key[0][1:])
        t0 = time.perf_counter()
        prog, targets, t1 = self._lower(signature, xp)
        t2 = time.perf_counter()
        if self.backend != "python" and xp is np:
            entry = self._native(prog, targets, len(sig), t1 - t0, t2 - t1, signature)
            if entry is not None:
                self.signatures[sig] = entry
                self._last = sig
                return entry
        emitted = emit(prog, targets, release=self.release, xp=xp)
        t3 = time.perf_counter()
        _counter[0] += 1
        filename = f"<gcompile-{_counter[0]}>"
        text = emitted.code(comments=False)
        code = builtins.compile(text, filename, "exec")
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        namespace = dict(emitted.namespace)
        exec(code, namespace)  # noqa: S102 -- generated from numbered names only, see gcompile.emit
        t4 = time.perf_counter()
        entry = {"fn": namespace["gcompiled"], "emitted": emitted, "filename": filename,
                 "backend": "python",
                 "lines": len(emitted.lines),
                 "values": emitted.n_values, "folded": prog.folded,
                 "seconds": {"grad": t1 - t0, "lower": t2 - t1, "emit": t3 - t2,
                             "compile": t4 - t3}}
        self.signatures[sig] = entry
        self._last = sig
        return entry

    def _lower(self, signature, xp=np):
        """The lowered program of ``signature``, the ids of its targets (output, gradients)
        and the ``perf_counter`` time between the records and the lowering."""
        shapes = {node: s for node, (s, _) in signature.items()}
        graph, fused = self._fused_graph, self._fused
        if graph is self.graph:  # the memory limit (gcompile.limits) and the shapes in one walk
            static = checked_shapes(graph, fused, shapes)
        else:  # fusion added nodes: the limit counts the user's graph, as it always has
            check_sizes(self.graph, self._plan, shapes)
            static = None
        # gc.grad's records, lowered without building its DiGraph (same program)
        # and named only when a listing or the source asks (the native tape runs on ids)
        records = backward_records(graph, self.output, self.wrt, shapes, "zero", fused,
                                   static=static, full=False, named=False)
        del static
        records_done = time.perf_counter()
        prog = lower_records(graph, records, self.output, signature, fused, self._order)
        if xp is not np:  # no math.* on a tensor: every node calls the namespace
            prog.scalar = [False] * len(prog.scalar)
        del records
        targets = [prog.alias[self.output]] + [prog.grad_ids[w] for w in self.wrt]
        return prog, targets, records_done

    def _source_of(self, signature):
        """The Python source of a native entry, lowered again when asked (the program is not
        kept: its objects would cost the garbage collector more than lowering costs)."""
        if self._fingerprint != _fingerprint(self.graph):
            raise GraphError("the graph changed after gc.compile: compile it again")
        with paused_gc():
            prog, targets, _ = self._lower(signature)
            return emit(prog, targets, release=self.release)

    def _native(self, prog, targets, n_args, grad_s, lower_s, signature):
        """The native entry of ``prog``, or ``None`` (Python) where the tape does not apply."""
        if self.backend == "auto" and (not native.available() or
                                       prog.kinds.count(OP) < native.AUTO_MIN):
            return None  # a tape has at most one instruction per op: too small, numba not loaded
        t0 = time.perf_counter()
        tape = native.build_tape(prog, targets, n_args)
        if isinstance(tape, str):
            if self.backend == "native":
                raise GraphError(f"backend='native' runs all-scalar float64 programs of the ops "
                                 f"{', '.join(sorted(native.OPCODES))}: {tape}")
            return None
        if self.backend == "auto" and len(tape.code) < native.AUTO_MIN:
            return None
        tape.warm()  # load the kernel (numba's cache) now, not in the first call
        return {"fn": tape, "tape": tape, "backend": "native", "filename": None,
                "signature": signature,  # the source is written when asked: _source
                "lines": len(tape.code), "values": len(tape.slots), "folded": prog.folded,
                "seconds": {"grad": grad_s, "lower": lower_s,
                            "emit": time.perf_counter() - t0, "compile": 0.0}}

    @property
    def tape(self):
        """The native tape listing of the latest signature (``""`` if it runs Python)."""
        entry = self.signatures.get(self._last) if self._last is not None else None
        return entry["tape"].listing() if entry and "tape" in entry else ""

    @property
    def source(self):
        """The generated code of the latest signature, commented (``""`` before the first)."""
        return "" if self._last is None else _source(self, self.signatures[self._last])

    def _interpret(self, feeds):
        """The interpreter's answer (or its GraphError naming the node)."""
        values = evaluate(self.graph, feeds)
        shapes = {node: getattr(values[node], "shape", ()) for node, _, _ in self._inputs}
        bwd = grad(self.graph, self.output, self.wrt, shapes=shapes)
        back = evaluate(bwd, values)
        return values[self.output], {w: back[bwd.graph["grads"][w]] for w in self.wrt}

    def __repr__(self):
        return (f"<compiled gradient of {self.output!r} w.r.t. {len(self.wrt)} node(s), "
                f"{len(self.signatures)} signature(s)>")


def _ancestors(p, targets):
    """The nodes ``targets`` depend on, ``targets`` included (the plan's order, backwards)."""
    seen = set(targets)
    operands = p.operands
    for v in reversed(p.order):
        if v in seen:
            args = operands.get(v)
            if args:
                seen.update(args)
    return seen


def _fingerprint(graph):
    """``(nodes, edges)`` of ``graph``: a change after compiling is refused (counted without
    networkx's views, which cost a call per node)."""
    succ = node_dicts(graph, succ=True)[2]
    return len(succ), sum(map(len, succ.values()))


def _source(compiled, entry):
    """Write an entry's commented source once (comments cost time: only when asked)."""
    if "source" not in entry:
        if "emitted" in entry:
            source = entry.pop("emitted").code(comments=True)
        else:  # native: the same program as Python, lowered again and written when asked
            source = compiled._source_of(entry["signature"]).code(comments=True)
        if entry["filename"] is not None:
            linecache.cache[entry["filename"]] = (len(source), None, source.splitlines(True),
                                                  entry["filename"])
        entry["source"] = source
    return entry["source"]


def _declared(data):
    shape = data.get("shape")
    return None if shape is None else tuple(shape)


def _convert(value, node):
    """A feed read by :func:`gcompile.feeds.read_input` and its signature key: float64
    scalars run as Python floats; every other value keeps its dtype, 0-d ones too."""
    if is_foreign_array(value):  # torch, dask...: the library and device are in the key
        dtype = _dtype_str(value.dtype)
        return value, (dtype, tuple(value.shape), (library_of(value), device_of(value)))
    if isinstance(value, np.float64):
        return float(value), _SCALAR
    if not isinstance(value, (np.ndarray, np.generic)):
        raise GraphError(f"feed for input {node!r}: compiled code runs on arrays, got "
                         f"{describe_value(value)}")
    if value.dtype.kind == "f" and value.dtype.itemsize == 8 and value.shape == () \
            and isinstance(value, np.ndarray):
        return value, (value.dtype.str, ())
    return value, (value.dtype.str, tuple(value.shape))


def _dtype_str(dtype):
    """numpy's ``dtype.str`` of an array's dtype (torch.float64 -> '<f8'; else its name)."""
    text = getattr(dtype, "str", None)
    if isinstance(text, str):
        return text
    name = str(dtype).rsplit(".", 1)[-1]
    try:
        return np.dtype(name).str
    except TypeError:
        return "|" + name
