"""Budgeted work in a worker thread, stopped by an asynchronous exception.

The work runs in a worker thread while the caller waits; once the budget is spent,
``OutOfTime`` is raised inside the worker through CPython's ``PyThreadState_SetAsyncExc``
(it arrives at the next bytecode boundary, the way KeyboardInterrupt does). Nothing
watches the work while the budget lasts, unlike a trace function, which slowed SymPy 2.3x.
SymPy only caches what it has finished, so stopping it leaves nothing half-built behind.

Such an exception can land where the interpreter swallows it (a ``__del__``, a weakref
callback; one property-test run in three hung on a single shot), so it is raised again
every ``RETRY_SECONDS`` until the work has stopped, and only a thread that runs nothing
but the work can take repeated shots safely. Three rules keep the shots where they
belong:

* The caller never ``join``s the worker: a ``join`` interrupted by Ctrl-C releases the
  thread's state lock on CPython 3.11 and ``is_alive()`` then reads False while the worker
  runs on (it burned a core after Ctrl-C in ``sd.check``). The worker sets events
  instead, and any exception in the waiting thread (KeyboardInterrupt, an exception from
  a signal handler) stops the work before it propagates.
* Shots are fired under a lock, only between the start of the work and the moment the
  worker marks it done; marking it done clears a shot still pending, so none reaches the
  threading machinery after the work.
* The hook that keeps swallowed shots quiet (``sys.unraisablehook``) is installed by the
  first stopper and removed by the last, so stoppers in several threads never leave it
  behind.

Imports only ``symdiff.budget.core`` and the standard library.
"""
from __future__ import annotations

import contextlib
import contextvars
import ctypes
import sys
import threading
from typing import Any, Callable, Iterator, Optional

from symdiff.budget.core import OutOfTime, Schedule

RETRY_SECONDS = 0.05
"""Interval at which a spent budget raises again until the work has stopped."""

WORKER_NAME = "symdiff-time-budget"
"""Name of the worker threads (and, with ``-reaper``, of a thread that finishes stopping
one after the caller was interrupted twice)."""


def _bind(arg_type: Any) -> Any:
    if not hasattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc"):
        return None
    # a prototype of its own for each argument type: ctypes sets argtypes per object
    return ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, arg_type)(
        ("PyThreadState_SetAsyncExc", ctypes.pythonapi))


_SET_ASYNC_EXC = _bind(ctypes.py_object)
_CLEAR_ASYNC_EXC = _bind(ctypes.c_void_p)     # called with None: NULL clears a pending one

AVAILABLE = _SET_ASYNC_EXC is not None
"""Whether work can be stopped this way (not on interpreters without ``ctypes.pythonapi``,
such as PyPy, where the budget is not enforced)."""


_SHIELD_LOCK = threading.Lock()
_shielded: set = set()
"""Idents of threads starting a thread: no shot may land there. ``Thread.start`` waits,
without a timeout, for the new thread to say it has started; a shot landing in that wait
left the starting thread (a worker whose own budget was being stopped) waiting forever:
Ctrl-C on the command line hung one run in five under load."""


class _Shield:
    """``with _Shield():`` around a ``Thread.start`` in a thread that may be shot at. A
    shot already on its way is withdrawn (the shooter tries again every RETRY_SECONDS)."""

    def __enter__(self) -> None:
        me = threading.get_ident()
        with _SHIELD_LOCK:
            _shielded.add(me)
            if _CLEAR_ASYNC_EXC is not None:
                _CLEAR_ASYNC_EXC(me, None)

    def __exit__(self, *exc: Any) -> None:
        with _SHIELD_LOCK:
            _shielded.discard(threading.get_ident())


class _Job:
    """One piece of work and what the worker and the caller share about it."""

    def __init__(self) -> None:
        self.guard = threading.Lock()     # held while shooting and while marking done
        self.started = False              # shots only land in the work...
        self.done = False                 # ...and never after it
        self.ended = threading.Event()    # the worker has nothing left to run
        self.value: Any = None
        self.error: Optional[BaseException] = None


def run(seconds: float, work: Callable[..., Any], args: tuple) -> Any:
    """``work(*args)`` in a worker thread, stopped with ``OutOfTime`` after ``seconds``."""
    job = _Job()
    context = contextvars.copy_context()  # the worker sees the caller's limit
    worker = threading.Thread(target=_body, args=(job, context, work, args),
                              name=WORKER_NAME, daemon=True)
    schedule = Schedule(seconds)
    try:
        with _Shield():
            worker.start()
        while not job.ended.wait(schedule.next_wait()):
            if schedule.spent():
                raise OutOfTime(f"did not finish within {seconds:g} s", seconds)
            schedule.tick()
    except BaseException:
        # out of time, or interrupted while waiting (Ctrl-C): the work must stop too
        _stop(job, worker)
        raise
    finally:
        schedule.close()
    if job.error is not None:
        raise job.error
    return job.value


def _body(job: _Job, context: contextvars.Context, work: Callable[..., Any],
          args: tuple) -> None:
    try:
        try:
            job.started = True
            job.value = context.run(work, *args)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            job.error = e
    except OutOfTime:               # a second shot, landing in the handler above
        if job.error is None:
            job.error = OutOfTime()
    while True:                     # a shot may land until done is marked
        try:
            with job.guard:
                job.done = True
                _CLEAR_ASYNC_EXC(threading.get_ident(), None)
            break
        except OutOfTime:
            continue
    job.ended.set()


def _stop(job: _Job, worker: threading.Thread) -> None:
    """Raise OutOfTime in the worker until it has ended. Interrupted (a second Ctrl-C), a
    reaper thread takes over the shooting and the interruption goes on to the caller."""
    try:
        _shoot_until_ended(job, worker)
    except BaseException:
        reaper = threading.Thread(target=_shoot_until_ended, args=(job, worker), daemon=True,
                                  name=WORKER_NAME + "-reaper")
        with _Shield():
            reaper.start()
        raise


def _shoot_until_ended(job: _Job, worker: threading.Thread) -> None:
    with _quiet_unraisable():
        # is_alive() can be trusted: nobody joins the worker (see the module docstring)
        while not job.ended.is_set() and worker.is_alive():
            with job.guard, _SHIELD_LOCK:
                # started: the worker has its ident; shielded: it is starting a thread
                if job.started and not job.done and worker.ident not in _shielded:
                    _SET_ASYNC_EXC(worker.ident, OutOfTime)
            job.ended.wait(RETRY_SECONDS)


_HOOK_LOCK = threading.Lock()
_hook_users = 0
_saved_hook: Any = None


def _quiet(unraisable: Any) -> None:
    # a shot swallowed in a __del__ or weakref callback would print "Exception ignored in
    # ..." with a traceback; it is expected, and the next shot follows
    if not isinstance(unraisable.exc_value, OutOfTime):
        (_saved_hook or sys.__unraisablehook__)(unraisable)


@contextlib.contextmanager
def _quiet_unraisable() -> Iterator[None]:
    """``sys.unraisablehook`` quiet about OutOfTime while any stopper runs: counted, so
    the first stopper installs it and the last restores what was there."""
    global _hook_users, _saved_hook
    with _HOOK_LOCK:
        if _hook_users == 0:
            _saved_hook = sys.unraisablehook
            sys.unraisablehook = _quiet
        _hook_users += 1
    try:
        yield
    finally:
        with _HOOK_LOCK:
            _hook_users -= 1
            if _hook_users == 0:
                if sys.unraisablehook is _quiet:  # unless someone has set another since
                    sys.unraisablehook = _saved_hook
                _saved_hook = None
