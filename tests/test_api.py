"""Every public function raises GraphError, never a bare TypeError, on a wrong argument (issue 11 item 6).

The valid call of each function of ``gcompile.__all__`` is written once below; the tests
replace one argument at a time by values of the wrong type, add an unknown keyword, and
drop a required argument: only GraphError may come out.
"""
import inspect
import signal
import warnings

import networkx as nx
import numpy as np
import pytest

import gcompile as gc
from gcompile.examples import apple


def _fixtures(tmp):
    g, feeds = apple()
    wrt = ["apple", "tax"]
    bwd = gc.grad(g, "price", wrt)
    hv = gc.hvp(g, "price", wrt)
    hs = gc.hessian(g, "price", wrt)
    path = str(tmp / "g.json")
    gc.save(g, path)
    v = {"apple": 1.0, "tax": 0.5}
    return {
        "CompiledGradient": ((g, "price", wrt), {}),
        "check_grads": ((g, feeds, "price", wrt), {}),
        "compile": ((g, "price", wrt), {}),
        "evaluate": ((g, feeds), {}),
        "from_json": ((gc.to_json(g),), {}),
        "grad": ((g, "price", wrt), {}),
        "gradients": ((g, feeds, "price", wrt), {}),
        "infer_shapes": ((g,), {}),
        "load": ((path,), {}),
        "lookup": (("mul",), {}),
        "plan": ((g,), {}),
        "render": ((g, str(tmp / "r.svg")), {}),
        "render_pair": ((g, bwd, str(tmp / "p.svg")), {}),
        "save": ((g, str(tmp / "s.json")), {}),
        "to_dot": ((g,), {}),
        "to_json": ((g,), {}),
        "trace": ((lambda a: a * a, "a"), {}),
        "compare": ((g, bwd), {}),
        "eliminate_common_subexpressions": ((bwd,), {}),
        "eliminate_dead_code": ((bwd,), {}),
        "explain": ((g, feeds, "price", "tax"), {}),
        "fold_constants": ((bwd,), {}),
        "hessian": ((g, "price", wrt), {}),
        "hessian_values": ((hs, feeds), {}),
        "hvp": ((g, "price", wrt), {}),
        "hvp_values": ((hv, feeds, v), {}),
        "joint_graph": ((g, bwd), {}),
        "optimize": ((bwd,), {}),
        "render_passes": ((bwd, str(tmp / "d.svg")), {}),
        "step_through": ((g, feeds, "price", wrt, str(tmp / "s.html")), {}),
        "defop": (("api_test_op", 1, lambda xp, x: x), {"replace": True}),
        "registered_ops": ((), {}),
        "to_onnx": ((g,), {"feeds": feeds}),
        "to_sympy": ((g,), {}),
        "from_sympy": ((__import__("sympy").Symbol("x") * 2,), {}),
        "view": ((g, bwd, str(tmp / "v.html")), {}),
    }


def _takes_a_graph(name):
    obj = getattr(gc, name)
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return bool({"graph", "fwd", "bwd", "hessian_graph", "hvp_graph"} & set(params))


def test_every_public_function_that_takes_a_graph_is_covered(tmp_path):
    calls = _fixtures(tmp_path)
    graph_takers = {n for n in gc.__all__ if _takes_a_graph(n)}
    assert graph_takers <= set(calls), graph_takers - set(calls)
    for name, (args, kwargs) in calls.items():  # the valid calls are valid
        getattr(gc, name)(*args, **kwargs)


def _alarm(*_):
    raise TimeoutError("took more than 20 s")


def _only_graph_errors(fn, args, kwargs):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fn(*args, **kwargs)
    except gc.GraphError:
        pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


_JUNK = [None, 3.5, [1, "a"], object(), nx.Graph(), {"a": object()}, "nope", np.zeros((2, 2))]


@pytest.mark.parametrize("name", ["CompiledGradient", "check_grads", "compile", "evaluate", "from_json",
                          "grad", "gradients", "infer_shapes", "load", "lookup", "plan", "render",
                          "render_pair", "save", "to_dot", "to_json", "trace", "compare",
                          "eliminate_common_subexpressions", "eliminate_dead_code", "explain",
                          "fold_constants", "hessian", "hessian_values", "hvp", "hvp_values",
                          "joint_graph", "optimize", "render_passes", "step_through", "defop",
                          "to_onnx", "to_sympy", "from_sympy", "view"])
def test_wrong_argument_types_unknown_keywords_and_missing_arguments(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a junk path like "nope" must not land in the repo
    args, kwargs = _fixtures(tmp_path)[name]
    fn = getattr(gc, name)
    with pytest.raises(gc.GraphError, match="unexpected keyword argument 'bogus'"):
        fn(*args, bogus=1, **kwargs)
    with pytest.raises(gc.GraphError, match="missing a required argument"):
        fn()
    with pytest.raises(gc.GraphError, match="too many positional arguments|bad argument"):
        fn(*args, *[None] * 6)
    for i in range(len(args)):
        for junk in _JUNK:
            bad = list(args)
            bad[i] = junk
            _only_graph_errors(fn, bad, kwargs)
    sig = inspect.signature(fn.__init__ if inspect.isclass(fn) else fn)
    for pname, p in sig.parameters.items():
        if p.kind is p.KEYWORD_ONLY:
            for junk in _JUNK[:4]:
                _only_graph_errors(fn, args, {**kwargs, pname: junk})


def test_the_cases_named_in_the_issue(tmp_path):
    g, feeds = apple()
    with pytest.raises(gc.GraphError, match=r"render\(\): unexpected keyword argument 'foo' "
                                            r"\(accepted: path, values, engine, dpi, rankdir"):
        gc.render(g, str(tmp_path / "x.png"), foo=1)
    with pytest.raises(gc.GraphError, match=r"step_through\(\): feeds must be a mapping"):
        gc.step_through(g, None, "price", ["tax"], str(tmp_path / "s.html"))
    with pytest.raises(gc.GraphError, match=r"render_pair\(\): unexpected keyword argument"):
        gc.render_pair(g, gc.grad(g, "price", ["tax"]), None, colour="red")
    with pytest.raises(gc.GraphError, match=r"evaluate\(\): expected a networkx DiGraph"):
        gc.evaluate([1, 2], feeds)
    with pytest.raises(gc.GraphError, match=r"grad\(\): missing a required argument: 'wrt'"):
        gc.grad(g, "price")
    with pytest.raises(gc.GraphError, match=r"compare\(\): the backward graph: expected a "
                                            r"networkx DiGraph, got list"):
        gc.compare(g, [])


def test_wrapped_functions_keep_name_docstring_and_signature():
    from gcompile.drawing import draw
    assert gc.render.__name__ == "render" and gc.render.__doc__ == draw.render.__doc__
    assert inspect.signature(gc.render) == inspect.signature(draw.render)
    assert gc.render.__wrapped__ is draw.render
    for name in gc.__all__:
        obj = getattr(gc, name)
        if inspect.isfunction(obj):
            assert obj.__doc__ and obj.__name__ == name, name
