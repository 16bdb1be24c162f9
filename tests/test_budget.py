"""The wall-clock budget of SymPy work (symdiff/budget/): stopping work in a worker thread,
interruptions, one limit for a whole call, the notice of slow work, the warm-up before the
first worker. Process isolation has its own file (test_budget_process.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import symdiff as sd
from symdiff import budget
from symdiff.budget import OutOfTime, limit, remaining, run_within

ROOT = Path(__file__).resolve().parents[1]
WORKER = "symdiff-time-budget"


@pytest.fixture(autouse=True)
def thread_isolation():
    """These tests are about the worker thread, whatever SYMDIFF_BUDGET_ISOLATION says."""
    before = budget.configure(isolation="thread")
    yield
    budget.configure(isolation=before.isolation, memory_mb=before.memory_mb,
                     notice_seconds=before.notice_seconds)


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


def _workers_alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(WORKER)]


def _wait_until(condition, seconds: float) -> bool:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


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


def test_two_threads_stopping_at_once_leave_the_unraisablehook_as_it_was(monkeypatch):
    # each stopper swapped the hook in and out on its own: the second saved the first's
    # quiet hook as "previous" and put it back last, so it stayed installed for good
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    for _ in range(3):
        barrier, outcomes = threading.Barrier(2), []

        def stopped() -> None:
            barrier.wait()
            try:
                run_within(0.2, _spin_with_swallowers, 30.0)
            except OutOfTime:
                outcomes.append("stopped")

        threads = [threading.Thread(target=stopped) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert outcomes == ["stopped", "stopped"]
        assert sys.unraisablehook == reported.append
    assert reported == []


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
    assert _wait_until(lambda: not _workers_alive(), 5.0), _workers_alive()


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


# ---- interruptions: Ctrl-C while waiting stops the worker too ---------------------------

def test_an_exception_in_the_waiting_thread_stops_the_worker():
    # Ctrl-C arrives as an exception in the waiting thread; here the notice raises it
    counter = [0]

    def count_forever() -> None:
        while True:
            counter[0] += 1

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    budget.configure(notice_seconds=0.2)
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        with limit(60.0, on_slow=interrupt):
            run_within(60.0, count_forever)
    assert _wait_until(lambda: not _workers_alive(), 5.0), _workers_alive()
    assert time.perf_counter() - start < 8.0
    seen = counter[0]
    time.sleep(0.3)
    assert counter[0] == seen          # nothing runs on


CTRL_C = r"""
import json, logging, resource, sys, threading, time
import symdiff as sd
from symdiff import budget
budget.configure(isolation="thread", notice_seconds=0.5)

class Ready(logging.Handler):           # the notice: the worker runs, the caller waits
    def emit(self, record):
        print("working", flush=True)

logging.getLogger("symdiff.budget").addHandler(Ready())
logging.getLogger("symdiff.budget").setLevel(logging.INFO)
x = sd.var("x")
f = x
for _ in range(40):      # SymPy works for minutes on this nest in sd.check
    f = sd.tanh(sd.log(1 + f ** 2) + x)
try:
    sd.check(f, at={"x": 0.3}, sympy_seconds=60)
    outcome = "finished"
except KeyboardInterrupt:
    outcome = "interrupted"
stopped = time.perf_counter()
while time.perf_counter() - stopped < 5 and any(
        t.name.startswith("symdiff-time-budget") for t in threading.enumerate()):
    time.sleep(0.02)
gone = time.perf_counter() - stopped
cpu = time.process_time()
time.sleep(1.0)
print(json.dumps({"outcome": outcome, "gone_after": gone, "cpu_while_idle": time.process_time() - cpu,
                  "threads": [t.name for t in threading.enumerate()]}), flush=True)
"""


def test_ctrl_c_during_check_stops_the_worker():
    # Finding: Ctrl-C in sd.check on exp(exp(exp(10.5)))*x raised KeyboardInterrupt, but
    # the worker burned a core until its budget ran out (an interrupted join made
    # is_alive() read False). A real SIGINT, in a process of its own.
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "working", proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["outcome"] == "interrupted", err
    assert report["gone_after"] < 4.0
    assert not any(name.startswith(WORKER) for name in report["threads"])
    assert report["cpu_while_idle"] < 0.5        # the worker burned a whole core here
    assert "Traceback" not in err


# ---- one limit for a whole call ------------------------------------------------------

def test_steps_under_a_limit_share_it():
    # Finding: ten closed forms took one 10 s budget each (110 s); under one limit every
    # step gets what is left, and once it is spent the rest stop at once
    start, outcomes = time.perf_counter(), []
    with limit(1.0):
        for _ in range(10):
            try:
                run_within(budget.SYMPY_SECONDS, _spin, 30.0)
                outcomes.append("finished")
            except OutOfTime:
                outcomes.append("stopped")
    assert outcomes == ["stopped"] * 10
    assert time.perf_counter() - start < 8.0


def test_a_spent_limit_raises_at_once_without_starting_the_work():
    ran = []
    with limit(0.2):
        with pytest.raises(OutOfTime):
            run_within(60.0, _spin, 30.0)
        with pytest.raises(OutOfTime, match="budget of 0.2 s is spent"):
            run_within(60.0, ran.append, 1)
        assert remaining() == 0.0
    assert ran == []
    assert remaining() is None
    assert run_within(5.0, sum, [1, 2]) == 3      # the limit ended with its block


def test_limits_nest_and_belong_to_their_thread():
    with limit(60.0):
        with limit(0.5):
            assert remaining() <= 0.5
            with limit(30.0):          # an inner limit ends no later than the outer
                assert remaining() <= 0.5
        assert remaining() > 1.0
        seen = {}

        def other_thread() -> None:
            seen["remaining"] = remaining()
            seen["sum"] = run_within(5.0, sum, [1, 2])

        t = threading.Thread(target=other_thread)
        t.start()
        t.join(20)
        assert seen == {"remaining": None, "sum": 3}


def test_work_in_a_worker_sees_the_limit_and_nested_budgets_take_from_it():
    with limit(0.5):
        assert run_within(60.0, remaining) <= 0.5
        start = time.perf_counter()
        with pytest.raises(OutOfTime):
            run_within(60.0, lambda: run_within(60.0, _spin, 30.0))
        assert time.perf_counter() - start < 8.0
    assert _wait_until(lambda: not _workers_alive(), 5.0), _workers_alive()


def test_check_under_a_limit_takes_its_sympy_time_from_it():
    # sd.check asks for its default 10 s; the limit gives it one
    x = sd.var("x")
    f = x
    for _ in range(40):      # SymPy works for minutes on this nest in sd.check
        f = sd.tanh(sd.log(1 + f ** 2) + x)
    start = time.perf_counter()
    with limit(1.0):
        report = sd.check(f, at={"x": 0.3})
    assert time.perf_counter() - start < 8.0
    assert any("SymPy did not finish" in n for n in report.notes), report.notes


# ---- telling that work is still running ------------------------------------------------

def test_slow_work_is_announced_once_per_limit():
    budget.configure(notice_seconds=0.4)
    calls = []
    with limit(30.0, on_slow=calls.append):
        run_within(30.0, _spin, 0.8)
        run_within(30.0, _spin, 0.8)
    assert calls == [30.0]
    calls.clear()
    with limit(30.0, on_slow=calls.append):
        run_within(30.0, _spin, 0.01)
    assert calls == []


def test_without_a_limit_slow_work_is_an_info_message(caplog):
    budget.configure(notice_seconds=0.4)
    with caplog.at_level("INFO", logger="symdiff.budget"):
        run_within(30.0, _spin, 0.8)
        run_within(30.0, _spin, 0.01)
    messages = [r.getMessage() for r in caplog.records if r.name == "symdiff.budget"]
    assert len(messages) == 1 and "SymPy is still working" in messages[0], messages


def test_settings_are_checked():
    for bad in [{"isolation": "fiber"}, {"notice_seconds": 0}, {"memory_mb": -5},
                {"notice_seconds": float("nan")}]:
        with pytest.raises(sd.SymdiffError):
            budget.configure(**bad)
    assert budget.settings().isolation == "thread"


BAD_ENVIRONMENT = r"""
import symdiff as sd
from symdiff.budget import run_within
try:
    run_within(5.0, sum, [1])
except sd.SymdiffError as e:
    print("refused:", e)
"""


def test_a_bad_environment_variable_is_a_clear_error():
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMDIFF_BUDGET_ISOLATION="fork-bomb")
    proc = subprocess.run([sys.executable, "-c", BAD_ENVIRONMENT], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.stdout.startswith("refused: SYMDIFF_BUDGET_ISOLATION='fork-bomb': expected "
                                  "one of thread, process"), proc.stdout + proc.stderr


# ---- the warm-up: shared state is built before any worker runs ----------------------------

WARM = r"""
import json, sys, threading
import numpy as np
import symdiff as sd
import symdiff.text.reader as reader
from numeric import PRIMITIVES
from symdiff.budget import warm
if sys.argv[1] == "cold":
    warm._WARM_UPS.clear()          # what happened before the warm-up existed
parsed_in = set()
original = reader._ast_parse

def recording(body):
    parsed_in.add(threading.current_thread().name)
    return original(body)

reader._ast_parse = recording
x = sd.var("x")
f = sd.tanh(sd.sigmoid(x)) * sd.log(1 + sd.exp(x)) + sd.sqrt(sd.abs(x) + 1)
report = sd.check(f, at={"x": 0.3})
from symdiff.budget import run_within               # and every row's template, budgeted
from symdiff.symbolic.functions import template
for name, row in PRIMITIVES.items():
    if row.kind == "elementwise":
        run_within(30.0, template, name)
print(json.dumps({"ok": bool(report.ok), "parsed_in": sorted(parsed_in)}))
"""


@pytest.mark.parametrize("state", ["warm", "cold"])
def test_the_parser_never_runs_in_a_worker(state):
    # a worker stopped inside the parser could leave its lock held and the recursion
    # limit raised; the warm-up builds every template before the first worker starts
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMDIFF_BUDGET_ISOLATION="thread")
    proc = subprocess.run([sys.executable, "-c", WARM, state], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ok"]
    in_worker = [name for name in out["parsed_in"] if name.startswith(WORKER)]
    if state == "warm":
        assert in_worker == [], out
    else:                               # the probe does see it without the warm-up
        assert in_worker, out


def test_warm_ups_run_once_in_the_calling_thread_before_the_first_worker():
    ran_in = []
    budget.before_first_worker(lambda: ran_in.append(threading.current_thread().name))
    run_within(5.0, sum, [1])
    run_within(5.0, sum, [2])
    assert ran_in == [threading.current_thread().name]


def test_a_failing_warm_up_is_a_warning_not_a_failure():
    def broken() -> None:
        raise ImportError("a module that moved")

    budget.before_first_worker(broken)
    with pytest.warns(RuntimeWarning, match="warm-up .* failed .*a module that moved"):
        assert run_within(5.0, sum, [1, 2]) == 3


# ---- sd.check and sd.verify fall back when SymPy is out of time ----------------------------

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
