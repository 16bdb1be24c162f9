"""Process isolation of budgeted work (symdiff/budget/process.py): a forked child with a
memory cap, results pickled back, killed when its time is up."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy

import symdiff as sd
from symdiff import budget
from symdiff.budget import OutOfMemory, OutOfTime, WorkerError, limit, run_within

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="process isolation forks")


@pytest.fixture(autouse=True)
def process_isolation():
    before = budget.configure(isolation="process", memory_mb=None)
    yield
    budget.configure(isolation=before.isolation, memory_mb=before.memory_mb,
                     notice_seconds=before.notice_seconds)


def _spin() -> None:
    while True:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_results_and_errors_come_back():
    x = sympy.Symbol("x")
    assert run_within(30.0, sum, [1, 2, 3]) == 6
    assert run_within(30.0, lambda: sympy.diff(sympy.tanh(x) ** 2, x)) == \
        sympy.diff(sympy.tanh(x) ** 2, x)       # SymPy objects pickle
    with pytest.raises(ZeroDivisionError):
        run_within(30.0, lambda: 1 / 0)
    with pytest.raises(sd.ParseError) as caught:   # symdiff's errors keep their fields
        run_within(30.0, sd.parse, "x +* 2")
    assert caught.value.position == 3 and caught.value.text == "x +* 2"
    assert os.getpid() == run_within(30.0, os.getppid)   # it did run in a child


def test_a_result_that_cannot_be_pickled_is_a_clear_error():
    with pytest.raises(WorkerError, match="could not be passed back.*must be picklable"):
        run_within(30.0, lambda: (lambda: 1))


def test_out_of_time_kills_the_child_even_inside_a_call_into_c(tmp_path):
    # a thread is stopped only when a call into C returns (time.sleep here); a process is
    # killed
    pid_file = tmp_path / "pid"

    def sleep_in_c() -> None:
        pid_file.write_text(str(os.getpid()))
        time.sleep(600)

    start = time.perf_counter()
    with pytest.raises(OutOfTime):
        run_within(1.0, sleep_in_c)
    assert time.perf_counter() - start < 8.0
    assert not _alive(int(pid_file.read_text()))     # killed and reaped


def test_work_past_its_memory_cap_is_out_of_memory_and_the_caller_is_untouched():
    budget.configure(memory_mb=200)
    before = _rss_mb()
    with pytest.raises(OutOfMemory, match="memory cap of 200 MB"):
        run_within(30.0, lambda: bytearray(2 * 2**30))
    x = sympy.Symbol("x")
    start = time.perf_counter()
    with pytest.raises(OutOfMemory):   # SymPy's exact arithmetic, growing by ~100 MB/s
        run_within(60.0, lambda: sympy.expand((x + 1) ** (10**6)))
    assert time.perf_counter() - start < 40.0
    assert _rss_mb() < before + 100
    assert isinstance(OutOfMemory("m"), sd.SymdiffError)
    assert sd.OutOfMemory is OutOfMemory


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_a_child_that_dies_is_a_clear_error():
    with pytest.raises(WorkerError, match="SIGKILL"):
        run_within(30.0, lambda: os.kill(os.getpid(), signal.SIGKILL))
    budget.configure(memory_mb=500)     # under a cap, a kill is the kernel's answer to it
    with pytest.raises(OutOfMemory, match="ended with SIGKILL"):
        run_within(30.0, lambda: os.kill(os.getpid(), signal.SIGKILL))


def test_nested_work_runs_in_threads_of_the_child_within_the_limit():
    def nested() -> tuple:
        inner = run_within(30.0, os.getpid)          # a thread of the same child
        try:
            run_within(30.0, _spin)
        except OutOfTime:
            return inner, os.getpid(), "stopped"
        return inner, os.getpid(), "finished"

    with limit(1.0):
        inner, child, outcome = run_within(30.0, nested)
    assert inner == child != os.getpid()
    assert outcome == "stopped"


def test_an_interruption_while_waiting_kills_the_child(tmp_path):
    pid_file = tmp_path / "pid"

    def spin_and_tell() -> None:
        pid_file.write_text(str(os.getpid()))
        _spin()

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    budget.configure(notice_seconds=0.5)
    with pytest.raises(KeyboardInterrupt):
        with limit(60.0, on_slow=interrupt):
            run_within(60.0, spin_and_tell)
    assert not _alive(int(pid_file.read_text()))


def test_the_finding_verify_of_a_huge_power_ends_with_a_verdict_under_a_cap():
    # `symdiff verify "(x+1)**(10**6)" --claim "x=0"` reached 3.7 GB in 11 s. verify no
    # longer multiplies such powers out (exact evaluation decides), so under process
    # isolation with a 200 MB cap it ends with its verdict, well inside the cap
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMDIFF_BUDGET_ISOLATION="process",
               SYMDIFF_BUDGET_MEMORY_MB="200")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "symdiff", "verify", "(x+1)**(10**6)",
                           "--claim", "x=0", "--sympy-seconds", "120"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert time.perf_counter() - start < 100
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "WRONG" in proc.stdout and "Traceback" not in proc.stderr
