"""The wall-clock budget that keeps sd.check's SymPy step from hanging (time_budget.py)."""
from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

import symdiff as sd
from symdiff.budget import OutOfTime, run_within


def _spin(seconds: float) -> int:
    """Pure-Python work for about ``seconds``."""
    end, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        n += 1
    return n


class Swallower:
    """Runs Python code in __del__, where an asynchronous exception is swallowed."""

    def __del__(self) -> None:
        _spin(0.0005)


def _spin_with_swallowers(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        Swallower()            # a fifth of the time is spent inside __del__
        _spin(0.002)


def test_work_past_its_budget_is_stopped_soon_after():
    start = time.perf_counter()
    with pytest.raises(OutOfTime):
        run_within(0.1, _spin, 10.0)
    assert time.perf_counter() - start < 2.0


def test_work_that_swallows_the_first_shots_is_still_stopped_quietly(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    start = time.perf_counter()
    with pytest.raises(OutOfTime):
        run_within(0.1, _spin_with_swallowers, 30.0)
    assert time.perf_counter() - start < 15.0   # loaded CI machines are slow to switch
    assert reported == []           # the swallowed shots print nothing
    assert sys.unraisablehook == reported.append


def test_result_and_errors_come_back_to_the_caller():
    assert run_within(5.0, _spin, 0.01) > 0
    with pytest.raises(ZeroDivisionError):
        run_within(5.0, lambda: 1 / 0)
    _spin(0.2)   # a late OutOfTime would surface here, in the caller's thread


def test_budgets_spent_as_the_work_ends_never_reach_the_caller():
    outcomes = set()
    for k in range(60):
        try:
            run_within(0.01 * (k % 5), _spin, 0.03)
            outcomes.add("finished")
        except OutOfTime:
            outcomes.add("stopped")
        _spin(0.002)
    assert outcomes == {"finished", "stopped"}


def test_budgets_in_threads_stop_only_their_own_work():
    results: dict = {}

    def slow() -> None:
        try:
            run_within(0.1, _spin, 10.0)
            results["slow"] = "finished"
        except OutOfTime:
            results["slow"] = "stopped"

    def quick() -> None:
        results["quick"] = run_within(5.0, _spin, 0.5) > 0

    threads = [threading.Thread(target=slow), threading.Thread(target=quick)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == {"slow": "stopped", "quick": True}


def test_check_falls_back_to_the_derivative_graph_when_sympy_is_out_of_time():
    x, W = sd.var("x", (3,)), sd.var("W", (2, 3))
    h = sd.tanh(W @ x)
    f = sd.sum(sd.log(1 + sd.exp(h)) * sd.sigmoid(h)) + sd.sum(sd.sin(x) ** 2)
    at = {"x": np.array([0.3, -0.2, 0.5]), "W": np.arange(6.0).reshape(2, 3) / 10}
    full = sd.check(f, at=at)
    assert full.ok and not any("did not finish" in n for n in full.notes)
    cut = sd.check(f, at=at, sympy_seconds=0.0)
    assert cut.ok, cut
    assert any("SymPy did not finish within 0 s" in n and "sd.grad" in n for n in cut.notes)
    for a, b in zip(full.entries, cut.entries):
        assert a.closed == pytest.approx(b.closed, rel=1e-12, abs=1e-14)


def test_verify_notes_when_sympy_is_out_of_time_and_judges_by_the_numbers():
    x = sd.var("x")
    f = sd.tanh(sd.log(1 + sd.exp(sd.sin(x))))
    claim = "(1 - tanh(log(1 + exp(sin(x))))**2) * exp(sin(x)) * cos(x) / (1 + exp(sin(x)))"
    full = sd.verify(f, {"x": claim})
    assert full.ok and full.proven["x"] is not None
    cut = sd.verify(f, {"x": claim}, sympy_seconds=0.0)
    assert cut.ok and cut.proven["x"] is None
    assert any("SymPy did not finish" in n for n in cut.notes), cut.notes
    wrong = sd.verify(f, {"x": claim.replace("cos", "sin", 1)}, sympy_seconds=0.0)
    assert not wrong.ok and wrong.wrong == ["x"]
