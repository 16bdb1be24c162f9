"""Which gradient entries ``sd.check`` compares, and their numeric opinions, in bounded time.

Every numeric opinion costs evaluations of f: two per entry for a central difference,
eighteen for the step sweep, one complex evaluation for the complex step, three for the
one-sided slopes at a kink. One entry at a time, that grew without bound with the input:
39 s for ``sum(sin(v))`` over 10^6 entries, 117 s for ``sum(W @ W)`` with a 1000x1000
``W``, and quadratic in the number of scalar variables (each evaluation touches all of
them: 3,000 variables took 94 s). So they share a time budget, ``fd_seconds``
(``FD_SECONDS`` by default), spent in this order, each stage until its share of the
budget is used up (a stage that finishes early leaves its time to the next):

1. central differences (half of the budget), over the entries of every variable in one
   seeded random order, each variable contributing at most ``MAX_ENTRIES`` (a random
   sample of larger ones); at least ``MIN_ENTRIES`` entries are checked whatever the time;
2. the step sweep (to 70%), on at most ``MAX_SWEEP_ENTRIES`` checked entries per variable;
3. the complex step (to 90%), on the checked entries;
4. at a kink, the one-sided slopes (to 100%), on at most ``MAX_ONE_SIDED_ENTRIES``
   checked entries per variable.

Whatever a stage leaves out is said in the report's notes; an entry without a central
difference is nan in ``report.finite_difference`` and has no row in the table. The
checked entries are the same on every run as long as the budget is not reached.

May import numpy, ``numeric`` and symdiff's layers below ``checking``.

>>> import numpy as np, symdiff as sd
>>> from symdiff.lowering.lower import bind, lower
>>> x = sd.var("x", (3,))
>>> lowered = lower(sd.sum(x * x), [x])
>>> args = bind(lowered, {"x": [1.0, 2.0, 3.0]}, {})
>>> s = central_differences(lowered, args, [x], np.random.default_rng(0), 1e-6, 4.0)
>>> s.checked["x"], np.round(s.fd["x"], 6).tolist(), s.notes
([(0,), (1,), (2,)], [2.0, 4.0, 6.0], [])
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from numeric import PRIMITIVES
from numeric.finite_diff import complex_forward, complex_step, entry_difference, one_sided, \
    step_sweep, STEPS

from symdiff.graph.node import Node

FD_SECONDS = 4.0
"""Default time budget of ``sd.check``'s numeric opinions (``fd_seconds=``)."""

MAX_ENTRIES = 1000            # entries per variable checked one by one; above, a sample
MIN_ENTRIES = 10              # entries checked by central differences whatever the time
MAX_SWEEP_ENTRIES = 20        # entries per variable in the step-size sweep
MAX_ONE_SIDED_ENTRIES = 100   # entries per variable given one-sided slopes at a kink
SHARES = (0.5, 0.7, 0.9, 1.0)
"""Where the stages (differences, sweep, complex step, one-sided slopes) must stop, as
fractions of the budget from its start."""


@dataclass
class Sample:
    """The entries checked by central differences, their values, and notes on what was
    left out; ``deadline(stage)`` is when a later stage must stop."""

    checked: dict                       # name -> sorted list of index tuples
    fd: dict                            # name -> array of differences (nan: not checked)
    start: float
    seconds: float
    notes: list = field(default_factory=list)

    def deadline(self, stage: int) -> float:
        return self.start + SHARES[stage] * self.seconds


def central_differences(lowered: Any, args: list, wrt: list[Node], rng: np.random.Generator,
                        eps: float, seconds: float) -> Sample:
    """Central differences of a sample of the gradient entries of ``wrt`` (see the module
    docstring), within the first share of ``seconds``."""
    pos = {leaf.name: i for i, leaf in enumerate(lowered.leaves)}
    notes: list[str] = []
    candidates: list[tuple[int, int]] = []
    for k, w in enumerate(wrt):
        size = max(int(np.prod(w.shape, dtype=np.int64)), 1)
        if size > MAX_ENTRIES:
            flat = sorted(rng.choice(size, MAX_ENTRIES, replace=False).tolist())
            notes.append(f"{w.name} has {size} entries: checked a random sample of {MAX_ENTRIES}")
        else:
            flat = range(size)
        candidates.extend((k, i) for i in flat)
    order = rng.permutation(len(candidates)) if len(candidates) > 1 else range(len(candidates))
    start = time.perf_counter()
    deadline = start + SHARES[0] * seconds
    fd = [np.full(w.shape, np.nan) for w in wrt]
    done: list[list[int]] = [[] for _ in wrt]
    forward = lowered.program.forward
    count = 0
    for c in order:
        if count >= MIN_ENTRIES and time.perf_counter() > deadline:
            break
        k, i = candidates[c]
        w = wrt[k]
        idx = np.unravel_index(i, w.shape) if w.shape else ()
        fd[k][idx] = entry_difference(forward, args, pos[w.name], idx, eps)
        done[k].append(i)
        count += 1
    if count < len(candidates):
        missing = sum(1 for d in done if not d)
        notes.append(
            f"finite differences: checked a random sample of {count:,} of the "
            f"{len(candidates):,} entries within the time budget (fd_seconds = {seconds:g} s)"
            + (f"; {missing:,} of the {len(wrt):,} variables have none" if missing else "")
            + ": the others are nan in finite_difference and not in the table")
    checked = {w.name: [tuple(int(j) for j in np.unravel_index(i, w.shape)) if w.shape else ()
                        for i in sorted(d)] for w, d in zip(wrt, done)}
    values = {w.name: float(a) if a.ndim == 0 else a for w, a in zip(wrt, fd)}
    return Sample(checked, values, start, seconds, notes)


def diagnostics(report: Any, F: Node, order: list[Node], wrt: list[Node], reverse: list,
                lowered: Any, args: list, sample: Sample, kink: bool,
                rng: np.random.Generator) -> None:
    """Step-size sweep, complex step and (at a kink) one-sided slopes into ``report``, each
    until its deadline (see the module docstring)."""
    forward = lowered.program.forward
    pos = {leaf.name: i for i, leaf in enumerate(lowered.leaves)}
    not_analytic = sorted({n.op for n in order if not n.is_leaf
                           and not PRIMITIVES[n.op].analytic})
    if not_analytic:
        report.complex_note = (f"not available ({', '.join(not_analytic)} "
                               f"{'is' if len(not_analytic) == 1 else 'are'} not analytic)")
    names = [leaf.name for leaf in lowered.leaves]

    def complex_f(*xs: Any) -> Any:
        return complex_evaluation(order, F, dict(zip(names, xs)))

    late: dict[str, list] = {"step sweep": [], "complex step": [], "one-sided slopes": []}
    for w, rev in zip(wrt, reverse):
        k, idxs, rev = pos[w.name], sample.checked[w.name], np.asarray(rev)
        sweep = idxs if len(idxs) <= MAX_SWEEP_ENTRIES else \
            [idxs[i] for i in sorted(rng.choice(len(idxs), MAX_SWEEP_ENTRIES, replace=False))]
        errs = np.zeros(len(STEPS))

        def sweep_one(idx: tuple) -> None:
            with np.errstate(invalid="ignore"):
                # np.maximum, not fmax: a nan difference must show as nan, not vanish
                np.maximum(errs, np.abs(step_sweep(forward, args, k, idx) - rev[idx]), out=errs)
        swept = _until(sample.deadline(1), sweep, sweep_one)
        if swept:
            report.step_errors[w.name] = errs
            report.best_step[w.name] = STEPS[int(np.nanargmin(errs))] \
                if np.any(np.isfinite(errs)) else float("nan")
        if 0 < len(swept) < len(idxs):
            report.notes.append(f"step sweep over a sample of {len(swept)} entries of {w.name}")
        elif idxs and not swept:
            late["step sweep"].append(w.name)
        if not_analytic:
            report.complex_step[w.name] = None
        else:
            cs = np.full(w.shape, np.nan)

            def complex_one(idx: tuple) -> None:
                cs[idx] = complex_step(complex_f, args, k, idx)
            done = _until(sample.deadline(2), idxs, complex_one)
            if len(done) < len(idxs):
                late["complex step"].append(w.name)
            report.complex_step[w.name] = float(cs) if cs.ndim == 0 else cs
        if kink:
            left, right = np.full(w.shape, np.nan), np.full(w.shape, np.nan)

            def slopes(idx: tuple) -> None:
                left[idx], right[idx] = one_sided(forward, args, k, idx)
            done = _until(sample.deadline(3), idxs[:MAX_ONE_SIDED_ENTRIES], slopes)
            if len(done) < len(idxs[:MAX_ONE_SIDED_ENTRIES]):
                late["one-sided slopes"].append(w.name)
            report.one_sided[w.name] = (left, right) if w.shape else (float(left), float(right))
    for stage, names_late in late.items():
        if names_late:
            shown = ", ".join(names_late[:5]) + (", …" if len(names_late) > 5 else "")
            report.notes.append(f"{stage}: left out (or partly) for {len(names_late):,} "
                                f"variable(s) ({shown}) to keep within fd_seconds = "
                                f"{sample.seconds:g} s (nan where not computed)")


def _until(deadline: float, items: list, work: Callable[[Any], None]) -> list:
    """Run ``work`` on ``items`` in order until ``deadline``; the items it ran on."""
    done = []
    for item in items:
        if time.perf_counter() > deadline:
            break
        work(item)
        done.append(item)
    return done


def complex_evaluation(order: list[Node], root: Node, values: dict) -> Any:
    """``root``'s value with the table's forwards run on (complex) leaf values.

    >>> import symdiff as sd
    >>> f = sd.sin(sd.var("x"))
    >>> complex(complex_evaluation(f.nodes(), f, {"x": 1j}))
    1.1752011936438014j
    """
    vals: dict[int, Any] = {}
    with np.errstate(all="ignore"):
        for n in order:
            if n.op in ("var", "tensor"):
                vals[id(n)] = values[n.name]
            elif n.op == "const":
                vals[id(n)] = n._value
            else:
                row = PRIMITIVES[n.op]
                vals[id(n)] = complex_forward(row)(*[vals[id(a)] for a in n.args], **n.params)
    return vals[id(root)]
