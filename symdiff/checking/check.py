"""``sd.check``: the closed form, reverse mode and finite differences, side by side.

Three independent opinions on every gradient entry:

* **closed form**: ``sympy.diff`` of ``f``'s SymPy expression, evaluated at the point
  (for graphs too large to expand, the symbolic reverse-mode graph of ``sd.grad``, whose
  elementwise rules also come from SymPy; the report says which);
* **reverse mode**: the lowered numpy program with its hand-written VJPs;
* **finite differences**: central differences in float64.

Tolerances: closed form vs reverse mode must agree to 1e-10 relative; finite differences
follow PyTorch's gradcheck (eps 1e-6, atol 1e-5, rtol 1e-3). A point where an op is not
differentiable (relu or abs at 0, maximum at a tie) or a value is not finite is reported
by name and makes ``ok`` False: never a silent pass. At kinks the gradients follow
PyTorch's convention: relu'(0) = 0, abs'(0) = 0, ties of maximum/minimum split 0.5/0.5,
and the report adds the one-sided slopes (left and right difference quotients along each
coordinate, ``report.one_sided``).

Two diagnostics beyond pass/fail (they do not change ``ok``):

* ``report.step_errors``: per variable, the largest |central difference - reverse mode|
  at each step of ``report.steps`` (1e-2 ... 1e-10), and ``report.best_step``: truncation
  error shrinks as h**2, rounding error grows as 1e-16/h, so the table shows where a
  finite-difference check can be trusted;
* ``report.complex_step``: ``Im f(x + ih)/h`` with h = 1e-20, exact to about 1e-15, when
  every op of ``f`` is analytic (``Primitive.analytic``); None otherwise, and
  ``report.complex_note`` says which op is not analytic.

Bounded time: the SymPy step has its own budget (``sympy_seconds``; past it, or past
``MAX_SYMBOLIC_NODES``, the closed form comes from ``sd.grad``'s graph, one program for
every gradient), and the numeric opinions share ``fd_seconds``: on large inputs they cover
a random sample of the entries, and the notes say which (``symdiff.checking.entries``).

The domain and kink scan is ``symdiff.lowering.domain``'s, the finite differences
``numeric.finite_diff``'s, the printing ``symdiff.checking.report``'s. May import numpy,
SymPy, ``numeric`` and symdiff's layers below ``checking`` (budget, errors, graph,
lowering, symbolic, derivatives), never ``teaching`` or the CLI.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> r = sd.check(x**2 + 3, at={"x": 7})
>>> r.ok, r.closed_form["x"], r.reverse_mode["x"], round(r.finite_difference["x"], 6)
(True, 14.0, 14.0, 14.0)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import sympy

from numeric import ATOL, EPS, RTOL
from numeric.finite_diff import COMPLEX_STEP, ONE_SIDED_STEP, STEPS

from symdiff.budget import OutOfMemory, OutOfTime, run_within
from symdiff.checking.entries import FD_SECONDS, MAX_ENTRIES, central_differences, diagnostics
from symdiff.checking.report import (array_text, bad_entries, columns, entry_label,
                                     inputs_text, num, slopes_text)
from symdiff.graph.arguments import as_function, as_point, check_wrt
from symdiff.errors import SymdiffError
from symdiff.graph.node import Node, apply, const
from symdiff.graph.values import as_real, as_seed
from symdiff.graph.walks import topological
from symdiff.lowering.domain import OUTSIDE, domain_problems, values_at
from symdiff.lowering.lower import bind, graph_leaves, lower
from symdiff.symbolic.bounded import SYMPY_FAILURES, failure_text, seconds_or_default
from symdiff.symbolic.closed_form import build, element_symbols
from symdiff.symbolic.functions import NUMPY_FUNCTIONS

__all__ = ["check", "CheckReport", "Entry", "MAX_ENTRIES", "FD_SECONDS"]

CLOSED_RTOL = 1e-10
MAX_SYMBOLIC_NODES = 400      # graphs (nodes x elements) above this use sd.grad's graph


@dataclass
class Entry:
    """One gradient entry: the three estimates, their errors and a verdict."""

    variable: str
    index: tuple
    closed: float
    reverse: float
    finite: float
    verdict: str

    @property
    def label(self) -> str:
        return entry_label(self.variable, self.index)

    @property
    def closed_error(self) -> float:
        return abs(self.closed - self.reverse)

    @property
    def finite_error(self) -> float:
        return abs(self.finite - self.reverse)


@dataclass
class CheckReport:
    """Result of ``sd.check``; ``str(report)`` is a readable table."""

    ok: bool
    value: Any
    closed_form: dict
    reverse_mode: dict
    finite_difference: dict
    entries: list
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    point: dict = field(default_factory=dict)
    steps: tuple = STEPS
    step_errors: dict = field(default_factory=dict)   # name -> max |fd - rev| per step
    best_step: dict = field(default_factory=dict)     # name -> the step with the least error
    complex_step: dict = field(default_factory=dict)  # name -> estimates, or None
    complex_note: str = ""                            # why there is no complex step
    one_sided: dict = field(default_factory=dict)     # name -> (left, right) at a kink

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        at = ", ".join(f"{k} = {array_text(v)}" for k, v in self.point.items())
        lines = [f"check at {at or 'the bound values'}: {'OK' if self.ok else 'FAILED'}",
                 f"value: {array_text(self.value)}"]
        head = ("entry", "closed form", "reverse mode", "finite diff", "|closed-rev|",
                "|fd-rev|", "rel err", "verdict")
        rows = [head]
        for e in self.entries:
            rel = e.finite_error / max(abs(e.reverse), 1e-300) if e.reverse else e.finite_error
            rows.append((e.label, num(e.closed), num(e.reverse), num(e.finite),
                         f"{e.closed_error:.1e}", f"{e.finite_error:.1e}", f"{rel:.1e}", e.verdict))
        lines += columns(rows)
        lines += self._diagnostics()
        for p in self.problems:
            lines.append(f"! {p}")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)

    def _diagnostics(self) -> list[str]:
        lines = []
        if self.step_errors:
            lines.append("finite differences by step h, max |fd - rev|:")
            rows = [("h", *(f"{h:.0e}" for h in self.steps), "best")]
            for name, errs in self.step_errors.items():
                rows.append((name, *(f"{e:.1e}" for e in errs),
                             f"{self.best_step[name]:.0e}"))
            lines += columns(rows)
        if self.complex_note:
            lines.append(f"complex step: {self.complex_note}")
        elif self.complex_step:
            errs = []
            for name, cs in self.complex_step.items():
                rev = np.asarray(self.reverse_mode[name])
                with np.errstate(invalid="ignore"):   # inf - inf where f is not finite
                    diff = np.abs(np.asarray(cs) - rev)
                worst = np.nanmax(diff) if np.any(np.isfinite(diff)) else np.nan
                errs.append(f"{name} {worst:.1e}")
            lines.append(f"complex step (h = {COMPLEX_STEP:.0e}), max |cs - rev|: "
                         + ", ".join(errs))
        for name, (left, right) in self.one_sided.items():
            shown = slopes_text(name, left, right, differing_only=True)
            if shown:
                lines.append(f"one-sided slopes (h = {ONE_SIDED_STEP:.0e}): {shown}")
        return lines

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(str(self))}</pre>"


def check(f: Node, at: Optional[Mapping[Any, Any]] = None, wrt: Optional[Sequence[Node]] = None,
          *, eps: float = EPS, atol: float = ATOL, rtol: float = RTOL, seed: int = 0,
          sympy_seconds: Optional[float] = None, fd_seconds: float = FD_SECONDS) -> CheckReport:
    """Cross-check ``f``'s gradient at a point three ways; see the module docstring.

    ``at`` maps variables (names or nodes) to values; bound tensors default to their value.
    ``wrt`` defaults to every variable and every tensor with ``requires_grad``.
    A non-scalar ``f`` is checked through ``sum(f * r)`` for a fixed random ``r``.
    The closed-form column comes from SymPy (``sympy.diff`` of ``f``'s explicit closed
    form) when that takes under ``sympy_seconds`` (None: ``symdiff.budget.SYMPY_SECONDS``);
    otherwise, and for graphs over ``MAX_SYMBOLIC_NODES`` element operations, from
    ``sd.grad``'s derivative graph, and a note says which and why. Finite differences,
    the step sweep, the complex step and one-sided slopes share ``fd_seconds``: on large
    inputs they cover a random sample of the entries, and the notes say which part
    (``symdiff.checking.entries``).

    >>> import symdiff as sd
    >>> r = sd.check(sd.relu(sd.var("x")), at={"x": 0.0})
    >>> r.ok, r.problems[0].startswith("relu")
    (False, True)
    """
    f, at = as_function(f, "sd.check", context=[wrt, at]), as_point(at, "sd.check")
    wrt = None if wrt is None else check_wrt(f, wrt, "sd.check")[0]
    eps = as_real(eps, "sd.check", "eps", 0.0, strict=True)
    atol, rtol = as_real(atol, "sd.check", "atol", 0.0), as_real(rtol, "sd.check", "rtol", 0.0)
    seed = as_seed(seed, "sd.check")
    if sympy_seconds is not None:   # None: the budget's default, read at the call
        sympy_seconds = as_real(sympy_seconds, "sd.check", "sympy_seconds", 0.0)
    fd_seconds = as_real(fd_seconds, "sd.check", "fd_seconds", 0.0)
    notes: list[str] = []
    F = f
    if f.shape != () and f.size == 1:
        F = apply("sum", f, axis=None, keepdims=False)   # a one-element array: its element
    elif f.size != 1:
        r = np.random.default_rng(seed).standard_normal(f.shape)
        F = apply("sum", apply("mul", f, const(r)), axis=None, keepdims=False)
        notes.append(f"f has shape {f.shape}: checked the gradient of sum(f * r) for a fixed "
                     "random r (a vector-Jacobian product)")
    order = topological([F])
    if wrt is None:
        wrt = [n for n in graph_leaves(order).values() if n.op == "var" or n.requires_grad]
    wrt = list(wrt)
    lowered = lower(F, wrt)
    args = bind(lowered, at, {})
    point = {leaf.name: a for leaf, a in zip(lowered.leaves, args) if leaf.op == "var"}
    value, reverse = lowered.program(*args)
    value = float(np.asarray(value).reshape(()))
    problems = _problems(order, lowered, args)

    closed, how = _closed_form(F, order, wrt, lowered, args, seconds_or_default(sympy_seconds))
    if how:
        notes.append(how)
    rng = np.random.default_rng(seed)
    sample = central_differences(lowered, args, wrt, rng, eps, fd_seconds)
    notes += sample.notes
    entries: list[Entry] = []
    for w, rev, clo in zip(wrt, reverse, closed):
        fd = np.asarray(sample.fd[w.name])
        for idx in sample.checked[w.name]:
            c, r_, d = float(np.asarray(clo)[idx]), float(np.asarray(rev)[idx]), float(fd[idx])
            entries.append(Entry(w.name, tuple(int(j) for j in idx), c, r_, d,
                                 _verdict(c, r_, d, atol, rtol)))
    if not np.isfinite(value):
        problems.append(f"the value of f is {value} (not finite)")
    kink = any("not differentiable" in p for p in problems)
    if kink:
        # a disagreement at a kink is the kink's doing, not a wrong rule: say so
        for e in entries:
            if e.verdict != "ok":
                e.verdict = "not differentiable here"
    ok = not problems and all(e.verdict == "ok" for e in entries)
    out = lambda arrs: {w.name: (float(a) if np.ndim(a) == 0 else np.asarray(a))
                        for w, a in zip(wrt, arrs)}
    report = CheckReport(ok, value, out(closed), out(reverse), sample.fd, entries, problems,
                         notes, point)
    diagnostics(report, F, order, wrt, reverse, lowered, args, sample, kink, rng)
    return report


def _verdict(c: float, r: float, d: float, atol: float, rtol: float) -> str:
    if not (np.isfinite(c) and np.isfinite(r) and np.isfinite(d)):
        return "not finite"
    if abs(c - r) > CLOSED_RTOL * max(abs(c), abs(r)) + 1e-12:
        return "closed form != reverse mode"
    if abs(d - r) > atol + rtol * abs(d):
        return "finite diff != reverse mode"
    return "ok"


def _problems(order: list[Node], lowered: Any, args: list) -> list[str]:
    """Ops evaluated outside their domain or at a kink, named with where it happened."""
    problems = []
    for p in domain_problems(order, values_at(lowered, args)):
        op, note, where = p.node.op, p.domain.note, inputs_text(p.node, p.inputs, array_text)
        if p.kind == OUTSIDE:
            problems.append(f"{op} outside its domain ({note}) at {where}"
                            f"{bad_entries(p.valid, p.node.shape)}: value not finite")
        else:
            problems.append(f"{op} is not differentiable here ({note}) at {where}")
    return problems


def _closed_form(F: Node, order: list[Node], wrt: list[Node], lowered: Any,
                 args: list, seconds: float) -> tuple[list, str]:
    """Closed-form gradients at the point, and a note on how they were obtained."""
    work = sum(max(n.size, 1) for n in order)
    if work <= MAX_SYMBOLIC_NODES:
        try:
            return run_within(seconds, _sympy_gradients, F, wrt, lowered, args), ""
        except (OutOfTime, OutOfMemory):  # a step past its time or its memory cap
            reason = (f"SymPy did not finish within {seconds:g} s (its simplification of "
                      "nested functions can be exponential; sympy_seconds= sets the budget)")
        except SymdiffError as e:
            reason = f"SymPy could not build it ({str(e).splitlines()[0]})"
        except SYMPY_FAILURES as e:
            reason = f"SymPy could not evaluate it ({failure_text(e)})"
    else:
        reason = f"the graph is too large to expand ({work} element operations)"
    from symdiff.derivatives.reverse import grad
    graphs = grad(F, wrt)
    # one program for every gradient graph: they share their subgraphs, and lowering
    # each alone would be quadratic in the number of variables
    values = {leaf.name: a for leaf, a in zip(lowered.leaves, args)}
    sub = lower(graphs[0], retain=graphs[1:], optimize=False) if graphs else None
    out = []
    if sub is not None:
        slots = sub.program.values(*[values.get(l.name, l._value) for l in sub.leaves])
        out = [slots[sub.slots[id(g)]] for g in graphs]
    return out, (f"closed form column from the symbolic derivative graph (sd.grad): {reason}")


def _sympy_gradients(F: Node, wrt: list[Node], lowered: Any, args: list) -> list:
    expr = build(F, explicit=True)
    # real dummies per element: differentiation of Abs, Max... needs real symbols
    flat_syms, flat_vals, by_leaf = [], [], {}
    for leaf, a in zip(lowered.leaves, args):
        elems = element_symbols(leaf)
        dummies = np.empty(elems.shape, dtype=object)
        for idx in np.ndindex(*elems.shape):
            d = sympy.Dummy(f"{leaf.name}", real=True)
            dummies[idx] = d
            flat_syms.append(d)
            flat_vals.append(np.float64(np.asarray(a)[idx]))  # numpy semantics: 1/0 -> inf
        by_leaf[leaf.name] = (elems, dummies)
    mapping = {}
    for elems, dummies in by_leaf.values():
        for idx in np.ndindex(*elems.shape):
            mapping[elems[idx]] = dummies[idx]
    expr = sympy.sympify(expr).xreplace(mapping)
    exprs, where = [], []
    for k, w in enumerate(wrt):
        _, dummies = by_leaf[w.name]
        for idx in np.ndindex(*w.shape):
            d = sympy.diff(expr, dummies[idx]).replace(sympy.DiracDelta, lambda *a: sympy.S.Zero)
            if d.has(sympy.Derivative):
                raise NotImplementedError("unevaluated derivative")
            exprs.append(d)
            where.append((k, idx))
    # one generated function for every entry: lambdify is the slow step, not evaluation.
    # Not cse=True: SymPy 1.14's cse turns Heaviside(Piecewise(...), 0) into 1.
    fn = sympy.lambdify(flat_syms, exprs, modules=[NUMPY_FUNCTIONS, "numpy"])
    with np.errstate(all="ignore"):
        values = fn(*flat_vals)
    out = [np.empty(w.shape, dtype=np.float64) for w in wrt]
    for (k, idx), v in zip(where, values):
        out[k][idx] = float(np.asarray(v, dtype=np.float64))
    return [float(g) if g.ndim == 0 else g for g in out]
