"""bench.peers' CasADi peer and the code of bench.run / bench.report that reads it.

A smoke test so the benchmark's peer path does not rot (``.ci/run`` runs no
benchmark): small sizes, tiny time budgets, and the answers checked against
the workloads' own plain-Python references (an independent oracle: the
reverse sweep over the op list, and the closed-form tanh-chain derivative).
Skipped when CasADi is not installed (``pip install -e '.[bench]'``).
"""
import pytest

from bench import peers
from bench.workloads import make_w1, w1_inputs, w1_reference, w3_reference

casadi = pytest.importorskip("casadi")


def test_casadi_w1_agrees_with_the_reference_sweep():
    ops = make_w1(1000)
    peer = peers.casadi_w1(ops, w1_inputs())
    assert peer["build_s"] > 0 and peer["gradient_s"] > 0
    value, grads = peer["result"](peer["run"]())
    want_value, want_grads = w1_reference(ops)
    assert value == pytest.approx(3.403812879636224, abs=1e-12)  # WORKLOADS.md's check number
    assert grads[0] == pytest.approx(0.3839252469915564, abs=1e-12)
    assert max(abs(a - b) for a, b in zip(grads, want_grads)) < 1e-12
    assert value == pytest.approx(want_value, abs=1e-12)


def test_casadi_w3_agrees_with_the_chain_rule():
    peer = peers.casadi_w3(10000)
    value, grad = peer["result"](peer["run"]())
    want_value, want_grad = w3_reference(10000)
    assert value == pytest.approx(want_value, rel=1e-13)
    assert grad == pytest.approx(1.4307663467725206e-05, rel=1e-12)  # WORKLOADS.md's oracle
    assert grad == pytest.approx(want_grad, rel=1e-12)


def test_libm_floor_w3_is_the_chain_rule():
    pytest.importorskip("numba")
    value, grad = peers.libm_floor_w3(10000)()
    want_value, want_grad = w3_reference(10000)
    assert value == pytest.approx(want_value, rel=1e-13)
    assert grad == pytest.approx(1.4307663467725206e-05, rel=1e-12)  # WORKLOADS.md's oracle


def test_run_measures_casadi_columns_and_the_issue16_targets(monkeypatch):
    from bench import run
    from bench.report import _targets16, compile_table

    assert "casadi" in peers.available()
    monkeypatch.setattr(peers, "available", lambda: ["casadi"])  # the other peers: not here
    (row,) = run.run_w1([1000], budget=0.01, profile_n=None)
    assert row["casadi_err"] < 1e-12 and row["casadi"]["median"] > 0
    assert row["casadi_once"] == row["casadi_build"] + row["casadi_gradient"]
    (once,) = run.run_w1_compile([1000])
    assert once["err"] < 1e-12 and once["once"] >= once["compile_total"] > 0
    assert once["casadi_once"] > 0
    table = compile_table([once])
    assert table[3].startswith("| 1,000 (python) |") and table[3].count("|") == 13
    w3, _ = run.run_w3([1000], budget=0.01)
    assert w3[0]["casadi_err"] < 1e-12
    if peers.libm_floor_w3(10) is not None:
        assert w3[0]["floor"]["median"] > 0
    w2 = {"gc": {"median": 2.0}, "tight": {"median": 2.5}, "peak_gc": 9, "peak_tight": 10}
    text = "\n".join(_targets16({"w1": [row], "w1_compile": [once], "w2": w2, "w3": w3}))
    assert "Targets of issue 16" in text
    assert "W2: compiled loss + gradient <= 1.05x `w2_numpy_reference` | 2.00 s / 2.50 s = 0.80x | met" in text
    assert "N=10,000: compiled call <= 0.5x CasADi's call | not run" in text
    assert "see Big graphs" in text and "--compile-sizes 1000000" in text


def test_compile_sizes_argument():
    from bench.run import _sizes

    assert _sizes("1000000") == (1000000,) and _sizes("1_000,20000") == (1000, 20000)
