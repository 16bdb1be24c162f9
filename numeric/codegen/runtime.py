"""What generated code sees when it runs: its globals, and the helpers it calls.

``Namespace`` collects the globals of one generated function (numpy, the table's
functions with their params bound, constants, zero-strided stand-ins); ``own`` and
``fix_shape`` are called by the generated array code; ``arena_factory`` makes its
per-thread buffers. Imports numpy and ``numeric.primitives`` only.

>>> import numpy as np
>>> x = np.ones(2)
>>> own(x, set()) is x, own(x, {id(x)}) is x
(True, False)
>>> fix_shape(np.ones((3, 2)), (2,)).tolist()
[3.0, 3.0]
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

import numpy as np

from numeric.primitives import sum_to


def fix_shape(c: Any, shape: tuple) -> Any:
    """Unbroadcast a structural row's cotangent when (and only when) its shape differs."""
    return c if np.shape(c) == shape else sum_to(c, shape)


def own(c: Any, seen: set) -> Any:
    """``c`` itself if the call allocated it and hands it out once, else a float64 copy:
    a result never aliases an input, a constant, the seed or another result."""
    if type(c) is np.ndarray and c.flags.owndata and c.flags.writeable and \
            c.dtype == np.float64 and id(c) not in seen:
        seen.add(id(c))
        return c
    return np.array(c, dtype=np.float64)


def arena_factory(shapes: list) -> Callable[[], list]:
    """Per-thread buffers for a program's temporaries, allocated on a thread's first call.

    Reusing them spares the page faults of fresh allocations (glibc returns freed memory
    to the system once enough sits at the top of the heap, and the next call faults it
    back in): on the MLP workload that was a sixth of the time. Each thread has its own
    list, so calls in flight on different threads never share a buffer; results handed to
    the caller are never arena buffers."""
    local = threading.local()

    def arena() -> list:
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            bufs = local.bufs = [np.empty(s) for s in shapes]
        return bufs
    return arena


def bind(fn: Callable, params: dict) -> Callable:
    """``fn`` with a row's static params bound (``fn`` itself when there are none)."""
    return functools.partial(fn, **params) if params else fn


class Namespace:
    """Globals of the generated function: each distinct object bound once, by name."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"np": np, "_sum_to": sum_to, "_fix": fix_shape,
                                   "_own": own}
        self._ids: dict[int, str] = {}
        self._stand_ins: dict[tuple, str] = {}

    def add(self, prefix: str, obj: Any) -> str:
        """The global name of ``obj`` (``prefix`` and a number), binding it on first use."""
        key = id(obj)
        name = self._ids.get(key)
        if name is None:
            name = f"{prefix}{len(self._ids)}"
            self._ids[key] = name
            self.ns[name] = obj
        return name

    def stand_in(self, shape: tuple) -> str:
        """The global name of a zero-strided array of ``shape``, one per shape: what a
        VJP that reads only its inputs' shapes is given in place of an input."""
        name = self._stand_ins.get(shape)
        if name is None:
            name = self._stand_ins[shape] = self.add("Z", np.broadcast_to(np.zeros(()), shape))
        return name
