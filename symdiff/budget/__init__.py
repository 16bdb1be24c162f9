"""A wall-clock budget for pure-Python work that cannot be cancelled otherwise (SymPy).

SymPy's automatic simplification can be exponential on nested functions (``sd.check`` on a
random 50-node graph of tanh, log and where: minutes in assumption queries), and no size
estimate predicts it well (graphs of the same size and depth took 0.1 s and 20 s). So
every SymPy step a user can trigger runs under a budget: ``run_within(seconds, work)``.

* ``limit(seconds)`` sets one budget for a whole command or call: every ``run_within``
  under it gets at most the time left, so ten steps of 10 s each cannot make 100 s.
* By default the work runs in a worker thread and is stopped by an asynchronous exception
  (``threads``); ``configure(isolation="process", memory_mb=...)`` runs it in a forked
  child with a memory cap instead (``process``), which a time-out kills.
* Work still running after ``notice_seconds`` (2 s) is announced once: to the limit's
  ``on_slow`` (the command line prints a line on stderr), else as an INFO message of the
  ``symdiff.budget`` logger.
* What the work needs is built once per process before the first worker (``warm``).
* ``gc_paused`` (``pauses``) pauses the garbage collector during work on many objects.

``OutOfTime`` derives from ``BaseException`` because SymPy catches ``Exception`` in
places. Where the interpreter has no ``ctypes.pythonapi`` (PyPy), thread isolation
cannot stop work and the budget is not enforced.

This package is at the bottom of symdiff with ``symdiff.errors``: it imports only that,
and the standard library.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from symdiff.budget import process, threads
from symdiff.budget.core import (NOTICE_SECONDS, SYMPY_SECONDS, Limit, OutOfMemory, OutOfTime,
                                 Settings, WorkerError, allowed, configure, limit, remaining,
                                 settings)
from symdiff.budget.pauses import PAUSE_GC_AT, gc_paused
from symdiff.budget.threads import RETRY_SECONDS
from symdiff.budget.warm import before_first_worker, ensure_warm

__all__ = ["run_within", "run_in_thread", "OutOfTime", "OutOfMemory", "WorkerError", "SYMPY_SECONDS",
           "NOTICE_SECONDS", "RETRY_SECONDS", "limit", "Limit", "remaining", "configure",
           "settings", "Settings", "before_first_worker", "gc_paused", "PAUSE_GC_AT"]

T = TypeVar("T")


def run_within(seconds: float, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)``, stopped with ``OutOfTime`` if it runs longer than ``seconds`` (or
    than what is left of an active ``limit``).

    The work runs in a worker (a thread, or a forked process: see ``configure``) while
    the caller waits; its result is returned and its exceptions are raised in the caller.
    In a thread, a long call into C (one huge numpy operation) is only stopped when it
    returns. An interrupt (Ctrl-C) while waiting stops the work too. A budget of 0 or
    less, or a spent limit, raises ``OutOfTime`` without starting the work.

    >>> def spin():
    ...     while True:
    ...         pass
    >>> try:
    ...     run_within(0.05, spin)
    ... except OutOfTime:
    ...     print("stopped")
    stopped
    >>> run_within(5.0, sum, [1, 2, 3])
    6
    """
    seconds = allowed(seconds)
    ensure_warm()
    if settings().isolation == "process" and not process.IN_CHILD:
        return process.run(seconds, work, args, settings().memory_mb)
    if not threads.AVAILABLE:
        return work(*args)
    return threads.run(seconds, work, args)


def run_in_thread(seconds: float, work: Callable[..., T], *args: Any) -> T:
    """``run_within`` always in a worker thread of this process, whatever ``configure``
    says: for work that must share the caller's streams and state, such as a whole
    command of the command line (its SymPy steps still follow ``configure``).

    >>> run_in_thread(5.0, max, 1, 2)
    2
    """
    seconds = allowed(seconds)
    ensure_warm()
    if not threads.AVAILABLE:
        return work(*args)
    return threads.run(seconds, work, args)
