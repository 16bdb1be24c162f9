"""A wall-clock budget for pure-Python work that cannot be cancelled otherwise (SymPy).

SymPy's automatic simplification can be exponential on nested functions (``sd.check`` on a
random 50-node graph of tanh, log and where: minutes in assumption queries), and no size
estimate predicts it well (graphs of the same size and depth took 0.1 s and 20 s). So the
SymPy step of ``sd.check`` runs under a budget: ``run_within`` runs it in a worker thread,
waits, and once the budget is spent raises ``OutOfTime`` inside the worker through
CPython's ``PyThreadState_SetAsyncExc`` (it arrives at the next bytecode boundary, the way
KeyboardInterrupt does). Nothing watches the work while the budget lasts, unlike a trace
function, which slowed SymPy 2.3x. SymPy only caches what it has finished, so stopping it
leaves nothing half-built behind.

Why a worker thread: an exception raised this way can land where the interpreter swallows
it (a ``__del__``, a weakref callback; one property-test run in three hung on a single
shot), so it is raised again every ``RETRY_SECONDS`` until the work has stopped, and only
a thread that runs nothing but the work can take repeated shots safely. ``OutOfTime``
derives from ``BaseException`` because SymPy catches ``Exception`` in places. Where the
interpreter has no ``ctypes.pythonapi`` (PyPy), the budget is not enforced.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import sys
import threading
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")

SYMPY_SECONDS = 10.0
"""Default budget of the SymPy steps of ``sd.check`` and ``sd.verify`` (``sympy_seconds=``)."""

RETRY_SECONDS = 0.05
"""Interval at which a spent budget raises again until the work has stopped."""


class OutOfTime(BaseException):
    """The work did not finish within its budget."""


def _async_exc() -> Any:
    try:
        fn = ctypes.pythonapi.PyThreadState_SetAsyncExc
    except AttributeError:
        return None
    fn.argtypes, fn.restype = [ctypes.c_ulong, ctypes.py_object], ctypes.c_int
    return fn


_SET_ASYNC_EXC = _async_exc()


def run_within(seconds: float, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)``, stopped with ``OutOfTime`` if it runs longer than ``seconds``.

    The work runs in a worker thread while the caller waits; its result is returned and
    its exceptions are raised in the caller. Long calls into C (one huge numpy operation)
    are only stopped when they return. An interrupt (Ctrl-C) while waiting stops the work
    too. A budget of 0 or less raises ``OutOfTime`` without starting the work.

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
    if seconds <= 0:
        raise OutOfTime("no time given")
    if _SET_ASYNC_EXC is None:
        return work(*args)
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            try:
                box["value"] = work(*args)
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = e
        except OutOfTime:           # a second shot, landing in the handler above
            box.setdefault("error", OutOfTime())
        box["done"] = True

    worker = threading.Thread(target=run, name="symdiff-time-budget", daemon=True)
    worker.start()
    try:
        worker.join(seconds)
    except BaseException:
        _stop(worker, box)
        raise
    if worker.is_alive():
        _stop(worker, box)
        raise OutOfTime(f"did not finish within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _stop(worker: threading.Thread, box: dict) -> None:
    """Raise OutOfTime in the worker until it has ended."""
    previous = sys.unraisablehook

    def quiet(unraisable: Any) -> None:
        # a shot swallowed in a __del__ or weakref callback would print "Exception
        # ignored in ..." with a traceback; it is expected, and the next shot follows
        if not isinstance(unraisable.exc_value, OutOfTime):
            previous(unraisable)

    sys.unraisablehook = quiet
    try:
        while worker.is_alive():
            if not box.get("done") and worker.ident is not None:
                _SET_ASYNC_EXC(worker.ident, OutOfTime)
            worker.join(RETRY_SECONDS)
    finally:
        sys.unraisablehook = previous


PAUSE_GC_AT = 2_000
"""Work on more objects than this (characters of a formula, nodes of a graph) runs with
the cyclic garbage collector paused."""


@contextlib.contextmanager
def gc_paused(size: int, threshold: int = PAUSE_GC_AT) -> Iterator[None]:
    """Pause the cyclic garbage collector while work of ``size`` objects above
    ``threshold`` runs. Parsing a long formula and differentiating a large graph build
    tens of thousands of objects and make no reference cycles, yet every automatic
    collection walks all of them again (a third of the time of a long formula, over half
    of ``sd.diff`` on a 100,000-node chain). Nothing is left for the collector to find.

    >>> import gc
    >>> with gc_paused(10**6):
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    if size <= threshold or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
