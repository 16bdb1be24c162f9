"""Telling 0 from small: a symbolic difference SymPy could not reduce, evaluated exactly.

When SymPy leaves ``claim - symdiff`` unreduced, the float comparison alone cannot settle
it: ``2*x + where(x > 1e7, 1, 0)`` for the derivative of ``x**2`` differs by 1 only where
2x is above 2e7, below any sensible relative tolerance, and a claim with a constant off
by 1e-10 is below it everywhere. So the difference is evaluated in ``DIGITS``-digit
arithmetic at the points the search compared, points on both sides of every branch
boundary first: a value that stays put when the precision doubles is a counterexample;
one that is 0, or shrinks with the precision (cancellation in the working digits), is 0
there. Only a difference that is 0 at every such point counts as equal.

May import numpy, SymPy, ``symdiff.budget``, ``symdiff.lowering`` and ``symdiff.checking``
(points, difference).

>>> import symdiff as sd
>>> from symdiff.checking.difference import difference
>>> from symdiff.checking.points import Evaluator, search
>>> from symdiff.lowering.lower import lower
>>> x = sd.var("x")
>>> f = x ** 2
>>> claim, truths = 2 * x + sd.where(x > 1e7, 1.0, 0.0), sd.grad(f, [x])
>>> ev = Evaluator(f, lower(f, retain=[claim, *truths]), [claim], truths, [x], 1e-9, 1e-7)
>>> found, compared, _ = search(ev, ev.lowered, [x], points=20, seed=0)
>>> found                                    # the floats see no difference
[]
>>> verdict = exact_judge(ev, x, difference(claim, truths[0], True).expr, 10.0)
>>> args, value = verdict.nonzero
>>> float(args[0]) > 1e7, value
(True, 1.0)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from symdiff.budget import OutOfMemory, OutOfTime, run_within
from symdiff.checking.difference import DIGITS, residual
from symdiff.checking.points import Evaluator
from symdiff.lowering.domain import values_at

MAX_EXACT_POINTS = 32
"""Points the difference is evaluated at: every boundary point first (up to this many),
then structured and random ones."""
_SHRINK = 1e-12   # a value that shrinks this much from DIGITS to 2*DIGITS digits is 0


@dataclass
class ExactVerdict:
    """``nonzero``: (args, |claim - symdiff|) at the first point where the difference is
    not 0; else ``zero``: the number of points where it is 0 (0 when none could be
    evaluated)."""

    nonzero: Optional[tuple] = None
    zero: int = 0


def exact_judge(ev: Evaluator, w: Any, d: Any, seconds: float) -> ExactVerdict:
    """Evaluate ``d`` (claim - truth of variable ``w``) exactly at the points ``ev``
    compared, within ``seconds`` in all."""
    by_kind: dict[str, list] = {"boundary": [], "structured": [], "random": []}
    for kind, args in ev.compared:
        by_kind.setdefault(kind, []).append(args)
    chosen = (by_kind["boundary"] + by_kind["structured"][:6] + by_kind["random"][:6])
    chosen = chosen[:MAX_EXACT_POINTS]
    deadline = time.monotonic() + seconds

    def judge() -> ExactVerdict:
        zero = 0
        for args in chosen:
            point = ev.point_of(args)
            r = residual(d, point)
            if r is None:
                continue
            scale = _scale(ev, args, w)
            if r == 0 or r <= 1e-25 * scale:
                zero += 1
                continue
            r2 = residual(d, point, 2 * DIGITS)
            if r2 is not None and r2 <= _SHRINK * r:
                zero += 1
                continue
            return ExactVerdict((args, r), zero)
        return ExactVerdict(None, zero)

    try:
        return run_within(max(deadline - time.monotonic(), 0.0), judge)
    except (OutOfTime, OutOfMemory):  # a step past its time or its memory cap
        return ExactVerdict()


def _scale(ev: Evaluator, args: list, w: Any) -> float:
    """The size of the claim and the truth of ``w`` at ``args`` (what a residual of
    rounding size is measured against)."""
    value = values_at(ev.lowered, args)
    k = [v.name for v in ev.wrt].index(w.name)
    c = np.asarray(value(ev.claims[k]), dtype=float)
    t = np.asarray(value(ev.truths[k]), dtype=float)
    return float(max(np.max(np.abs(c), initial=0.0), np.max(np.abs(t), initial=0.0), 1e-300))
