"""Parallel chunks: one thread pool per process, and the fixed-order sum of chunk partials.

A fused step (``numeric.fusion.kernel``) splits its elements into chunks of a fixed size
and hands contiguous runs of chunks to ``run``, which gives one run to each thread: the
caller's own thread takes the first, the pool's workers the others. numpy releases the GIL
inside its ufuncs and ctypes around a C call, so the runs proceed on separate cores.

How many threads: the ``threads=`` a program was built with, else the environment
variable ``SYMDIFF_THREADS``, else the number of CPUs this process may run on
(``os.sched_getaffinity``). The pool's workers never call BLAS (fused steps hold only
elementwise ops), so they do not compete with BLAS's own threads: a matmul runs while the
pool sleeps.

Every chunk writes its partial sums to its own slot, and ``pairwise`` adds them in one
fixed order (halving, as numpy's pairwise summation does within an array): the result
depends on the chunk size, never on the number of threads or the order they finish in.
Imports the standard library only.

>>> pairwise([1.0, 2.0, 3.0, 4.0, 5.0])
15.0
>>> resolve_threads(1)
1
"""
from __future__ import annotations

import operator
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, Sequence

ENV = "SYMDIFF_THREADS"

_lock = threading.Lock()
_pool: Optional[ThreadPoolExecutor] = None
_pool_size = 0


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def check_threads(threads: object) -> Optional[int]:
    """``threads`` as given to a program: None (decided when run: ``resolve_threads``) or
    a whole number at least 1; 0, -1, 2.0, True or "two" raise ``ValueError``.

    >>> check_threads(2), check_threads(None)
    (2, None)
    """
    if threads is None:
        return None
    try:
        count = None if isinstance(threads, bool) else operator.index(threads)  # type: ignore
    except TypeError:
        count = None
    if count is None or count < 1:
        raise ValueError(f"threads must be a whole number at least 1 (or None: ${ENV}, "
                         f"else every CPU), got {threads!r}")
    return count


def resolve_threads(threads: Optional[int] = None) -> int:
    """The thread count to use: ``threads`` if given, else ``$SYMDIFF_THREADS``, else the
    CPUs this process may use. Always at least 1."""
    if threads is None:
        env = os.environ.get(ENV, "").strip()
        if env:
            try:
                threads = int(env)
            except ValueError:
                raise ValueError(f"{ENV}={env!r}: expected a whole number of threads") from None
        else:
            threads = cpu_count()
    return max(1, int(threads))


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < workers:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="symdiff")
            _pool_size = workers
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def run(work: Callable[[int, int], None], n_chunks: int, threads: int) -> None:
    """Call ``work(first, stop)`` on contiguous runs of chunks ``0 .. n_chunks-1``, one run
    per thread (at most ``threads``), and wait for all; the first error is raised."""
    threads = max(1, min(threads, n_chunks))
    if threads == 1:
        work(0, n_chunks)
        return
    bounds = [n_chunks * t // threads for t in range(threads + 1)]
    pool = _executor(threads - 1)
    futures = [pool.submit(work, bounds[t], bounds[t + 1]) for t in range(1, threads)]
    try:
        work(bounds[0], bounds[1])
    finally:
        errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e


def pairwise(parts: Sequence[float]) -> float:
    """The sum of ``parts`` in a fixed pairwise order (adjacent pairs, level by level)."""
    xs = [float(p) for p in parts]
    if not xs:
        return 0.0
    while len(xs) > 1:
        nxt = [xs[i] + xs[i + 1] for i in range(0, len(xs) - 1, 2)]
        if len(xs) % 2:
            nxt.append(xs[-1])
        xs = nxt
    return xs[0]
