"""What budgeted work needs, built once per process before the first worker starts.

Stopping work is safe when the shot lands in SymPy's own arithmetic: SymPy caches only
what it has finished. It is not safe inside code that builds shared state the first time
it runs: the table's SymPy templates (read by symdiff's parser, which raises the recursion
limit under a lock while it parses), SymPy's lazily imported modules (the import system
holds locks), caches filled in several steps. An interruption there could leave a lock
held or a limit raised. So the layers above register what their SymPy steps need with
``before_first_worker``, and ``run_within`` runs it in the calling thread, unbudgeted (it
is fixed work on fixed inputs: about 0.2 s), before it starts its first worker; in process
isolation the forked children inherit it.

Imports only the standard library.
"""
from __future__ import annotations

import threading
import warnings
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable[[], None])

_WARM_UPS: list[Callable[[], None]] = []
_DONE = 0               # how many of _WARM_UPS have run
_LOCK = threading.RLock()
_RUNNING = threading.local()


def before_first_worker(warm_up: F) -> F:
    """Register ``warm_up()`` to run once per process before budgeted work first runs (or
    at the next ``run_within``, when registered after the first); usable as a decorator.

    >>> calls = []
    >>> _ = before_first_worker(lambda: calls.append("templates"))
    >>> ensure_warm(); ensure_warm(); calls
    ['templates']
    """
    with _LOCK:
        _WARM_UPS.append(warm_up)
    return warm_up


def ensure_warm() -> None:
    """Run the warm-ups not run yet, in this thread (a warm-up that itself runs budgeted
    work does not start them again). One that fails is reported as a RuntimeWarning and
    skipped: it costs a protection, never the call."""
    global _DONE
    if _DONE == len(_WARM_UPS) or getattr(_RUNNING, "active", False):
        return
    with _LOCK:
        _RUNNING.active = True
        try:
            while _DONE < len(_WARM_UPS):
                warm_up = _WARM_UPS[_DONE]
                _DONE += 1          # counted first: a warm-up that fails is not retried
                try:
                    warm_up()
                except Exception as e:  # noqa: BLE001 - it only loses a protection
                    warnings.warn(f"symdiff.budget: the warm-up {warm_up!r} failed "
                                  f"({type(e).__name__}: {e}); budgeted work may build "
                                  "what it needs itself", RuntimeWarning, stacklevel=2)
        finally:
            _RUNNING.active = False
