"""Points on both sides of every branch boundary of f, the claims and the truths.

A claim can be wrong only past a threshold: ``2*x`` for the derivative of ``min(x, 10)**2``
is right below 10 and wrong above it, and ``2*x + where(x > 10, 1, 0)`` for that of
``x**2`` likewise. Points drawn from one box around the origin never see it. So every op
that switches branch (its row's ``Domain.boundary``: relu and abs at 0, maximum and the
comparisons where their inputs tie, ...) is followed along lines through a starting point,
over scales from 10⁻³ to 10¹², and each place where its switch changes sign is located by
bisection; points just past it on either side, between consecutive crossings and beyond
the last ones are then compared like any other, wherever the threshold lies.

May import numpy, ``numeric``, ``symdiff.graph`` and ``symdiff.lowering``.

>>> import numpy as np
>>> import symdiff as sd
>>> from symdiff.lowering.lower import bind, lower
>>> x = sd.var("x")
>>> f = sd.minimum(x, 10.0) ** 2
>>> lowered = lower(f)
>>> start = bind(lowered, {"x": 1.0}, {})
>>> crossings = [float(start[0] + t) for t in crossings_along(lowered, f.nodes(), start, [np.ones(())])]
>>> [round(c, 9) for c in crossings]
[10.0]
>>> [[round(float(p[0]), 6) for p in group]
...  for group in points_around(lowered, f.nodes(), start, [np.ones(())])]
[[9.991, 9.91, 9.1, 1.0], [10.009, 10.09, 10.9, 19.0], [-80.0], [100.0]]
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from numeric import PRIMITIVES
from symdiff.graph.node import Node

MAX_SWITCHES = 24
"""Ops with a boundary followed per line (the first ones in the graph's order)."""
MAX_ENTRIES = 16
"""Entries of an array switch followed per line."""
MAX_CROSSINGS = 12
"""Crossings kept per line: the points around them are what the search compares."""

_DECADES = np.concatenate([[0.0], 10.0 ** np.arange(-3.0, 12.5, 0.5)])
STEPS = np.concatenate([-_DECADES[:0:-1], _DECADES])
"""Where a line is sampled: 0 and ±10^k for k = -3, -2.5, ..., 12 (sorted)."""
_BISECTIONS = 60
SIDE = (1e-3, 1e-2, 0.1, 1.0)
"""Offsets past a crossing tried on each side, relative to max(1, |t|): the first whose
point the search accepts (away from every kink) is used."""


def switches(nodes: Sequence[Node]) -> list[Node]:
    """The ops among ``nodes`` whose row has a ``Domain.boundary``, at most ``MAX_SWITCHES``.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> [n.op for n in switches((sd.relu(x) + sd.abs(x - 1)).nodes())]
    ['relu', 'abs']
    """
    out = [n for n in nodes if not n.is_leaf and PRIMITIVES[n.op].domain.boundary is not None]
    return out[:MAX_SWITCHES]


def _switch_values(lowered: Any, nodes: list[Node], args: list) -> list[np.ndarray]:
    vals = lowered.program.values(*args)
    out = []
    with np.errstate(all="ignore"):
        for n in nodes:
            xs = [vals[lowered.slots[id(a)]] for a in n.args]
            s = np.asarray(PRIMITIVES[n.op].domain.boundary(*xs, **n.params), dtype=float)
            # elementwise rows give the switch in the output's shape (broadcast a scalar);
            # a reduction's (norm with ord=1) is per input entry, kept as it is
            flat = s.reshape(-1) if s.ndim and s.shape != n.shape and s.size != 1 \
                else np.broadcast_to(s, n.shape).reshape(-1)
            out.append(flat[:MAX_ENTRIES])
    return out


def _moved(start: list, direction: list, t: float) -> list:
    return [np.asarray(a, dtype=float) + t * d for a, d in zip(start, direction)]


def crossings_along(lowered: Any, nodes: Sequence[Node], start: list,
                    direction: list) -> list[float]:
    """The t at which some switch of ``nodes`` changes sign along start + t·direction
    (``start`` and ``direction``: one array per input of ``lowered``), sorted, at most
    ``MAX_CROSSINGS``."""
    sw = switches(nodes)
    if not sw:
        return []
    samples = [_switch_values(lowered, sw, _moved(start, direction, t)) for t in STEPS]
    found: set[float] = set()
    for k in range(len(sw)):
        for e in range(len(samples[0][k])):
            column = np.array([s[k][e] for s in samples])
            for i in range(len(STEPS) - 1):
                a, b = column[i], column[i + 1]
                if not (np.isfinite(a) and np.isfinite(b)) or np.sign(a) * np.sign(b) > 0 \
                        or (a == 0 and b == 0):
                    continue
                found.add(_bisect(lowered, sw, k, e, start, direction,
                                  STEPS[i], STEPS[i + 1], a))
    return sorted(found)[:MAX_CROSSINGS]


def _bisect(lowered: Any, sw: list, k: int, e: int, start: list, direction: list,
            lo: float, hi: float, s_lo: float) -> float:
    if s_lo == 0:
        return float(lo)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        s = _switch_values(lowered, sw, _moved(start, direction, mid))[k][e]
        if not np.isfinite(s):
            break
        if s == 0:
            return float(mid)
        if (s < 0) == (s_lo < 0):
            lo, s_lo = mid, s
        else:
            hi = mid
    return float(0.5 * (lo + hi))


def points_around(lowered: Any, nodes: Sequence[Node], start: list,
                  direction: list) -> Iterator[list[list]]:
    """Groups of candidate points along start + t·direction: for each crossing, one group
    on each side (nearest first, ``SIDE``); then the midpoints between consecutive
    crossings and a point beyond the first and the last, one group each. The caller keeps
    the first candidate of a group that it accepts (not at or near a kink)."""
    ts = crossings_along(lowered, nodes, start, direction)
    for t in ts:
        scale = max(1.0, abs(t))
        for sign in (-1.0, 1.0):
            yield [_moved(start, direction, t + sign * h * scale) for h in SIDE]
    for a, b in zip(ts, ts[1:]):
        yield [_moved(start, direction, 0.5 * (a + b))]
    if ts:
        for t, sign in ((ts[0], -1.0), (ts[-1], 1.0)):
            yield [_moved(start, direction, t + sign * 10.0 * max(1.0, abs(t)))]
