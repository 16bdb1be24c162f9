"""Budgeted work in a forked child process, with a memory cap (``isolation="process"``).

The child is a copy of the caller made by ``fork``, so the work needs no pickling (a
closure is fine) and finds everything the caller had built (the warm-up of
``symdiff.budget.warm`` runs before the fork). It caps its own address space
(``RLIMIT_AS``: the size it had plus ``memory_mb``), runs the work under the caller's
limit (less a tenth, at most 1 s, in which it can still answer what nested work did
when that ran out), and writes the result, pickled, to a pipe; it ends with ``os._exit``, so it never
runs the caller's exit handlers or flushes the caller's buffers. The caller reads the
pipe until the budget is spent, then kills the child (SIGKILL stops a long call into C as
well, which a thread cannot). What the work changed in the child (caches) stays there.

A ``MemoryError`` in the child, or a child killed or aborted under a memory cap (a C
library that cannot allocate may abort), is ``OutOfMemory`` in the caller. Work run by
``run_within`` inside the child uses threads, as the child is isolated already.

Imports ``symdiff.budget.core`` and the standard library.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import time
from typing import Any, Callable, Optional

from symdiff.budget.core import OutOfMemory, OutOfTime, Schedule, WorkerError, limit

IN_CHILD = False
"""True in a child process of this module (where nested work runs in threads)."""

_CHUNK = 1 << 16


def run(seconds: float, work: Callable[..., Any], args: tuple,
        memory_mb: Optional[float]) -> Any:
    """``work(*args)`` in a forked child; ``OutOfTime`` after ``seconds`` (the child is
    killed), ``OutOfMemory`` past ``memory_mb`` more megabytes."""
    schedule = Schedule(seconds)
    for stream in (sys.stdout, sys.stderr):  # else the child inherits unwritten text
        with contextlib.suppress(Exception):
            stream.flush()
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        os.close(read_end)
        _child(write_end, seconds, work, args, memory_mb)
    os.close(write_end)
    reaped = False
    try:
        data = _read(read_end, schedule)
        status = _wait_for_exit(pid, schedule)
        reaped = True
    finally:
        os.close(read_end)
        if not reaped:  # out of time, or interrupted while waiting: the child goes too
            _kill(pid)
        schedule.close()
    return _outcome(data, status, memory_mb)


def _read(fd: int, schedule: Schedule) -> bytes:
    """All the child writes, or OutOfTime when the budget is spent first."""
    chunks = []
    poller = select.poll()   # not select(): a server's descriptors may pass FD_SETSIZE
    poller.register(fd, select.POLLIN)
    while True:
        if poller.poll(schedule.next_wait() * 1000):
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
        elif schedule.spent():
            raise OutOfTime(f"did not finish within {schedule.seconds:g} s", schedule.seconds)
        else:
            schedule.tick()


def _wait_for_exit(pid: int, schedule: Schedule) -> int:
    """The child's exit status once it has answered (it exits at once, unless the work
    left something running that holds it: then it is out of time as well)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if schedule.spent():
            raise OutOfTime(f"did not finish within {schedule.seconds:g} s", schedule.seconds)
        time.sleep(0.002)


def _reap(pid: int) -> int:
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:  # pragma: no cover - PEP 475 retries; belt and braces
            continue


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)


def _outcome(data: bytes, status: int, memory_mb: Optional[float]) -> Any:
    if data:
        try:
            kind, payload = pickle.loads(data)
        except Exception as e:  # noqa: BLE001 - a class the caller cannot rebuild
            raise WorkerError(f"the worker process's answer could not be read "
                              f"({type(e).__name__}: {e})") from None
        if kind == "value":
            return payload
        if kind == "memory":
            raise OutOfMemory(_memory_message(memory_mb))
        if kind == "unpicklable":
            raise WorkerError(payload)
        raise payload
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        if memory_mb is not None and os.WTERMSIG(status) in (signal.SIGKILL, signal.SIGABRT,
                                                            signal.SIGSEGV, signal.SIGBUS):
            raise OutOfMemory(f"{_memory_message(memory_mb)} (the worker process ended "
                              f"with {name})")
        raise WorkerError(f"the worker process ended with {name} before it answered")
    raise WorkerError(f"the worker process exited with status "
                      f"{os.WEXITSTATUS(status)} before it answered")


def _memory_message(memory_mb: Optional[float]) -> str:
    if memory_mb is None:
        return "out of memory in the worker process"
    return f"the work needed more than its memory cap of {memory_mb:g} MB " \
           "(SYMDIFF_BUDGET_MEMORY_MB or symdiff.budget.configure(memory_mb=) sets it)"


def _child(fd: int, seconds: float, work: Callable[..., Any], args: tuple,
           memory_mb: Optional[float]) -> None:  # pragma: no cover - measured in tests
    code = 0
    try:
        global IN_CHILD
        IN_CHILD = True
        # Ctrl-C reaches the whole process group: the caller handles it and kills us
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if memory_mb is not None:
            _cap_memory(memory_mb)
        try:
            # nested work takes its time from what is left, less a margin in which the
            # child can still answer what it does then; the caller announces it
            with limit(seconds - min(1.0, seconds / 10), on_slow=_silent):
                answer: tuple = ("value", work(*args))
        except MemoryError:
            answer = ("memory", None)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            answer = ("error", _portable(e))
        data = _dumps(answer)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        for stream in (sys.stdout, sys.stderr):  # what the work printed
            with contextlib.suppress(Exception):
                stream.flush()
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        code = 70
    finally:
        os._exit(code)


def _silent(seconds: float) -> None:
    """The child's notice: none, the waiting caller gives it."""


def _portable(error: BaseException) -> BaseException:
    """``error`` if the caller can rebuild it from a pickle, else a WorkerError naming it
    (an exception class whose ``__init__`` takes other arguments than its ``args``)."""
    try:
        pickle.loads(pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL))
        return error
    except Exception:  # noqa: BLE001
        return WorkerError(f"{type(error).__name__}: {str(error)[:500]}")


def _dumps(answer: tuple) -> bytes:
    try:
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        return pickle.dumps(("memory", None))
    except Exception as e:  # noqa: BLE001 - unpicklable results and exceptions
        what = "result" if answer[0] == "value" else f"exception ({answer[1]!r:.200})"
        return pickle.dumps(("unpicklable", (
            f"process isolation: the work's {what} could not be passed back "
            f"({type(e).__name__}: {str(e)[:200]}); results must be picklable")))


def _cap_memory(memory_mb: float) -> None:
    import resource
    try:
        with open("/proc/self/statm") as statm:  # Linux: address space in pages
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        size = 0
    cap = size + int(memory_mb * 2**20)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
