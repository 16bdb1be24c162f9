"""What every way of running budgeted work shares: the outcomes, the settings, the limit.

* ``OutOfTime`` and ``OutOfMemory``: how budgeted work ends when it is stopped.
* ``configure`` and ``Settings``: how work runs (in a worker thread, or in a forked process
  with a memory cap) and when a slow step is announced; the environment variables
  ``SYMDIFF_BUDGET_ISOLATION`` and ``SYMDIFF_BUDGET_MEMORY_MB`` give the starting values.
* ``limit``: one budget for a whole command or call, held in a ``contextvars`` variable,
  so that it belongs to the thread (or asyncio task) that set it; every ``run_within``
  under it gets at most the time left.
* ``allowed`` and ``Schedule``: the time one ``run_within`` may take, and when to say
  that it is still working.

Imports only ``symdiff.errors`` and the standard library.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import os
import threading
import time
from typing import Any, Callable, Iterator, Optional

from symdiff.errors import SymdiffError

SYMPY_SECONDS = 10.0
"""Default budget of the SymPy steps of ``sd.check`` and ``sd.verify`` (``sympy_seconds=``)
and of a ``symdiff`` command (``--sympy-seconds``)."""

NOTICE_SECONDS = 2.0
"""Default time after which work still running is announced (``configure(notice_seconds=)``)."""

WAIT_SLICE = 0.1
"""Longest single wait of a caller for its work (see ``Schedule.next_wait``)."""

ISOLATIONS = ("thread", "process")
"""The values ``configure(isolation=)`` and ``SYMDIFF_BUDGET_ISOLATION`` accept."""

LOG = logging.getLogger("symdiff.budget")
"""Where the Python API announces slow work (INFO, so silent unless logging is set up)."""


class OutOfTime(BaseException):
    """The work did not finish within its budget.

    A ``BaseException``, as KeyboardInterrupt is, because SymPy catches ``Exception`` in
    places and must not swallow it. ``seconds``: the time the work was given.
    """

    def __init__(self, message: str = "out of time", seconds: Optional[float] = None):
        super().__init__(message)
        self.seconds = seconds


class OutOfMemory(SymdiffError, MemoryError):
    """Work run in a process of its own (``configure(isolation="process")``) went past its
    memory cap, and was stopped; the caller's process is untouched."""


class WorkerError(SymdiffError):
    """Work run in a process of its own ended without an answer it could pass back (its
    result could not be pickled, or the process died)."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """How ``run_within`` runs work (see ``configure``)."""

    isolation: str = "thread"
    memory_mb: Optional[float] = None
    notice_seconds: float = NOTICE_SECONDS


_KEEP: Any = object()
_SETTINGS: Optional[Settings] = None
_SETTINGS_LOCK = threading.Lock()


def settings() -> Settings:
    """The settings in force: those of ``configure``, else the environment's, else the
    defaults (thread isolation, no memory cap, a notice after 2 s).

    >>> settings().notice_seconds > 0
    True
    """
    global _SETTINGS
    current = _SETTINGS
    if current is None:
        with _SETTINGS_LOCK:
            if _SETTINGS is None:
                _SETTINGS = _from_environment()
            current = _SETTINGS
    return current


def configure(*, isolation: str = _KEEP, memory_mb: Optional[float] = _KEEP,
              notice_seconds: float = _KEEP) -> Settings:
    """Set how budgeted work runs, for the whole process; returns the settings before.

    * ``isolation="thread"`` (the default): the work runs in a worker thread of this
      process and is stopped by an asynchronous exception. Cheap; shares memory, and a
      long call into C runs on until it returns.
    * ``isolation="process"``: the work runs in a forked child process, its result comes
      back pickled through a pipe, and a spent budget kills the child. With ``memory_mb``
      the child may take at most that much memory beyond what the process had (Linux:
      ``RLIMIT_AS``); past it the work ends with ``OutOfMemory``. For servers and
      notebooks, where a runaway SymPy step must not take the machine. POSIX only.
    * ``notice_seconds``: work still running after this long is announced, once: to the
      active ``limit``'s ``on_slow``, else as an INFO message of the ``symdiff.budget``
      logger.

    >>> before = configure(notice_seconds=5.0)
    >>> settings().notice_seconds
    5.0
    >>> _ = configure(**dataclasses.asdict(before))
    """
    global _SETTINGS
    with _SETTINGS_LOCK:
        before = _SETTINGS if _SETTINGS is not None else _from_environment()
        new = dataclasses.replace(
            before,
            **({} if isolation is _KEEP else {"isolation": _isolation(isolation, "isolation=")}),
            **({} if memory_mb is _KEEP else {"memory_mb": _memory(memory_mb, "memory_mb=")}),
            **({} if notice_seconds is _KEEP else
               {"notice_seconds": _positive(notice_seconds, "notice_seconds=")}))
        _SETTINGS = new
    return before


def _from_environment() -> Settings:
    isolation = os.environ.get("SYMDIFF_BUDGET_ISOLATION", "").strip() or "thread"
    memory = os.environ.get("SYMDIFF_BUDGET_MEMORY_MB", "").strip() or None
    if memory is not None:
        try:
            memory = float(memory)
        except ValueError:
            raise SymdiffError(f"SYMDIFF_BUDGET_MEMORY_MB={memory!r}: expected a number of "
                               "megabytes") from None
    return Settings(_isolation(isolation, "SYMDIFF_BUDGET_ISOLATION="),
                    _memory(memory, "SYMDIFF_BUDGET_MEMORY_MB="))


def _isolation(value: Any, where: str) -> str:
    text = str(value).strip().lower()
    if text not in ISOLATIONS:
        raise SymdiffError(f"{where}{value!r}: expected one of {', '.join(ISOLATIONS)}")
    if text == "process" and not hasattr(os, "fork"):
        raise SymdiffError(f"{where}'process': this platform cannot fork a worker process")
    return text


def _memory(value: Any, where: str) -> Optional[float]:
    return None if value is None else _positive(value, where)


def _positive(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise SymdiffError(f"{where}{value!r}: expected a positive number")
    return number


# ---- one budget for a whole command ---------------------------------------------------------

@dataclasses.dataclass
class Limit:
    """The budget ``limit`` set: ``seconds`` in all, ending at ``deadline``
    (``time.monotonic()``); ``busy``: the seconds budgeted work under it has taken so far;
    ``on_slow(seconds)`` is called once when that reaches ``notice_seconds``."""

    seconds: float
    deadline: float
    started: float
    on_slow: Optional[Callable[[float], None]] = None
    noticed: bool = False
    busy: float = 0.0

    def remaining(self) -> float:
        """Seconds left (0 when spent)."""
        return max(0.0, self.deadline - time.monotonic())


_LIMIT: contextvars.ContextVar[Optional[Limit]] = contextvars.ContextVar(
    "symdiff_budget_limit", default=None)


@contextlib.contextmanager
def limit(seconds: float, *, on_slow: Optional[Callable[[float], None]] = None
          ) -> Iterator[Limit]:
    """One budget of ``seconds`` for everything run under it: each ``run_within(s, ...)``
    inside gets at most ``min(s, time left)``, and once the time is spent raises
    ``OutOfTime`` at once. A limit inside another ends no later than the outer one. It
    belongs to the thread or asyncio task that set it (a ``contextvars`` variable), and
    work run by ``run_within`` sees it too. ``on_slow(seconds)`` is called once, in the
    waiting thread, when budgeted work under it has taken ``notice_seconds`` (see
    ``configure``) in all and is still running.

    >>> from symdiff.budget import run_within
    >>> with limit(5.0) as budget:
    ...     run_within(60.0, sum, [1, 2]), budget.remaining() <= 5.0
    (3, True)
    """
    now = time.monotonic()
    outer = _LIMIT.get()
    deadline = now + max(0.0, float(seconds))
    if outer is not None:
        deadline = min(deadline, outer.deadline)
        on_slow = on_slow if on_slow is not None else outer.on_slow
    token = _LIMIT.set(Limit(float(seconds), deadline, now, on_slow))
    try:
        yield _LIMIT.get()  # type: ignore[misc]
    finally:
        _LIMIT.reset(token)


def remaining() -> Optional[float]:
    """Seconds left of the active ``limit``, or None outside any.

    >>> remaining() is None
    True
    """
    active = _LIMIT.get()
    return None if active is None else active.remaining()


def allowed(seconds: float) -> float:
    """The time a ``run_within(seconds, ...)`` may take now; raises ``OutOfTime`` when it is
    none (a budget of 0 or less, or an active ``limit`` that is spent)."""
    active = _LIMIT.get()
    if active is not None:
        left = active.deadline - time.monotonic()
        if left <= 0:
            raise OutOfTime(f"the budget of {active.seconds:g} s is spent", active.seconds)
        seconds = min(seconds, left)
    if not seconds > 0:
        raise OutOfTime("no time given", 0.0)
    return seconds


class Schedule:
    """When one ``run_within`` ends and when it announces itself: the waiting loops call
    ``next_wait()`` for how long to wait, and ``tick()`` after each wait."""

    def __init__(self, seconds: float):
        now = time.monotonic()
        self.start, self.seconds, self.end = now, seconds, now + seconds
        self.active = _LIMIT.get()
        # announced when budgeted work has taken notice_seconds in all: a command's quick
        # SymPy steps after slow numbers are not "still working"
        busy = self.active.busy if self.active is not None else 0.0
        self.notice_at: Optional[float] = now + max(0.0, settings().notice_seconds - busy)
        if self.active is not None and self.active.noticed:
            self.notice_at = None

    def close(self) -> None:
        """The work has ended: count its time against the limit's notice."""
        if self.active is not None:
            self.active.busy += time.monotonic() - self.start

    def next_wait(self) -> float:
        """Seconds to wait before something is due (0 when the budget is spent), at most
        ``WAIT_SLICE``: a thread blocked in a wait does not see an exception raised in it
        from outside (a budget around its own, a Ctrl-C passed on) until the wait ends."""
        until = self.end if self.notice_at is None else min(self.end, self.notice_at)
        return min(WAIT_SLICE, max(0.0, until - time.monotonic()))

    def spent(self) -> bool:
        return time.monotonic() >= self.end

    def tick(self) -> None:
        """Announce the work if it is due (once)."""
        if self.notice_at is None or time.monotonic() < self.notice_at:
            return
        self.notice_at = None
        active = self.active
        if active is not None:
            if active.noticed:
                return
            active.noticed = True
            if active.on_slow is not None:
                active.on_slow(active.seconds)
                return
        LOG.info("SymPy is still working (budget %g s; sympy_seconds= or symdiff.budget.limit "
                 "sets it)", active.seconds if active is not None else self.seconds)
