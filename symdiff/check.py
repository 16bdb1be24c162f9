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
PyTorch's convention: relu'(0) = 0, abs'(0) = 0, ties of maximum/minimum split 0.5/0.5.

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

from numeric import ATOL, EPS, PRIMITIVES, RTOL

from .closed_form import element_symbols
from .errors import ClosedFormError, SymdiffError
from .lower import bind, graph_leaves, lower
from .node import Node, apply, const, topological
from .sympy_functions import NUMPY_FUNCTIONS

CLOSED_RTOL = 1e-10
MAX_ENTRIES = 1000            # entries per variable checked one by one; above, a sample
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
        return self.variable + (str(list(self.index)) if self.index else "")

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

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        at = ", ".join(f"{k} = {_fmt_value(v)}" for k, v in self.point.items())
        lines = [f"check at {at or 'the bound values'}: {'OK' if self.ok else 'FAILED'}",
                 f"value: {_fmt_value(self.value)}"]
        head = ("entry", "closed form", "reverse mode", "finite diff", "|closed-rev|",
                "|fd-rev|", "rel err", "verdict")
        rows = [head]
        for e in self.entries:
            rel = e.finite_error / max(abs(e.reverse), 1e-300) if e.reverse else e.finite_error
            rows.append((e.label, _num(e.closed), _num(e.reverse), _num(e.finite),
                         f"{e.closed_error:.1e}", f"{e.finite_error:.1e}", f"{rel:.1e}", e.verdict))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        for r in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        for p in self.problems:
            lines.append(f"! {p}")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(str(self))}</pre>"


def _num(v: float) -> str:
    return f"{v + 0.0:.10g}"  # + 0.0 turns -0.0 into 0.0


def _fmt_value(v: Any) -> str:
    arr = np.asarray(v)
    return _num(float(arr)) if arr.ndim == 0 else \
        np.array2string(arr + 0.0, precision=6, separator=", ", max_line_width=10_000)


def check(f: Node, at: Optional[Mapping[Any, Any]] = None, wrt: Optional[Sequence[Node]] = None,
          *, eps: float = EPS, atol: float = ATOL, rtol: float = RTOL,
          seed: int = 0) -> CheckReport:
    """Cross-check ``f``'s gradient at a point three ways; see the module docstring.

    ``at`` maps variables (names or nodes) to values; bound tensors default to their value.
    ``wrt`` defaults to every variable and every tensor with ``requires_grad``.
    A non-scalar ``f`` is checked through ``sum(f * r)`` for a fixed random ``r``.

    >>> import symdiff as sd
    >>> r = sd.check(sd.relu(sd.var("x")), at={"x": 0.0})
    >>> r.ok, r.problems[0].startswith("relu")
    (False, True)
    """
    if not isinstance(f, Node):
        raise SymdiffError(f"check() needs a symdiff Node, got {type(f).__name__}")
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

    closed, how = _closed_form(F, order, wrt, lowered, args)
    if how:
        notes.append(how)
    rng = np.random.default_rng(seed)
    entries: list[Entry] = []
    fd_out: dict = {}
    pos = {leaf.name: i for i, leaf in enumerate(lowered.leaves)}
    for w, rev, clo in zip(wrt, reverse, closed):
        k = pos[w.name]
        size = max(int(np.prod(w.shape, dtype=np.int64)), 1)
        flat = range(size) if size <= MAX_ENTRIES else \
            sorted(rng.choice(size, MAX_ENTRIES, replace=False).tolist())
        if size > MAX_ENTRIES:
            notes.append(f"{w.name} has {size} entries: checked a random sample of {MAX_ENTRIES}")
        fd = np.full(w.shape, np.nan)
        for i in flat:
            idx = np.unravel_index(i, w.shape) if w.shape else ()
            fd[idx] = _central(lowered.program, args, k, idx, eps)
            c, r_, d = float(np.asarray(clo)[idx]), float(np.asarray(rev)[idx]), float(fd[idx])
            entries.append(Entry(w.name, tuple(int(j) for j in idx), c, r_, d,
                                 _verdict(c, r_, d, atol, rtol)))
        fd_out[w.name] = float(fd) if fd.ndim == 0 else fd
    if not np.isfinite(value):
        problems.append(f"the value of f is {value} (not finite)")
    if any("not differentiable" in p for p in problems):
        # a disagreement at a kink is the kink's doing, not a wrong rule: say so
        for e in entries:
            if e.verdict != "ok":
                e.verdict = "not differentiable here"
    ok = not problems and all(e.verdict == "ok" for e in entries)
    out = lambda arrs: {w.name: (float(a) if np.ndim(a) == 0 else np.asarray(a))
                        for w, a in zip(wrt, arrs)}
    return CheckReport(ok, value, out(closed), out(reverse), fd_out, entries, problems, notes,
                       point)


def _central(program: Any, args: list, k: int, idx: tuple, eps: float) -> float:
    x = np.array(args[k], dtype=np.float64)
    hi, lo = x.copy(), x.copy()
    hi[idx] += eps
    lo[idx] -= eps
    fh = program.forward(*args[:k], hi, *args[k + 1:])
    fl = program.forward(*args[:k], lo, *args[k + 1:])
    with np.errstate(all="ignore"):
        return float((np.asarray(fh) - np.asarray(fl)).reshape(()) / (2 * eps))


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
    vals = lowered.program.values(*args)
    problems = []
    for n in order:
        if n.is_leaf:
            continue
        dom = PRIMITIVES[n.op].domain
        xs = [vals[lowered.slots[id(a)]] for a in n.args]
        where = _inputs_text(n, xs)
        if dom.valid is not None and not np.all(dom.valid(*xs, **n.params)):
            problems.append(f"{n.op} outside its domain ({dom.note}) at {where}: value not finite")
        elif dom.kink is not None and np.any(dom.kink(*xs, **n.params)):
            problems.append(f"{n.op} is not differentiable here ({dom.note}) at {where}")
    return problems


def _inputs_text(n: Node, xs: list) -> str:
    parts = []
    for a, x in zip(n.args, xs):
        label = a.name if a.name else a.op
        parts.append(f"{label} = {_fmt_value(x)}")
    return ", ".join(parts)


def _closed_form(F: Node, order: list[Node], wrt: list[Node], lowered: Any,
                 args: list) -> tuple[list, str]:
    """Closed-form gradients at the point, and a note on how they were obtained."""
    work = sum(max(n.size, 1) for n in order)
    if work <= MAX_SYMBOLIC_NODES:
        try:
            return _sympy_gradients(F, wrt, lowered, args), ""
        except (ClosedFormError, TypeError, ValueError, NotImplementedError, AttributeError,
                ArithmeticError) as e:
            reason = f"SymPy could not evaluate it ({type(e).__name__})"
    else:
        reason = f"the graph is too large to expand ({work} element operations)"
    from .derivative import grad
    graphs = grad(F, wrt)
    values = {leaf.name: a for leaf, a in zip(lowered.leaves, args)}
    out = []
    for g in graphs:
        sub = lower(g)
        out.append(sub.program.forward(*[values.get(l.name, l._value) for l in sub.leaves]))
    return out, (f"closed form column from the symbolic derivative graph (sd.grad): {reason}")


def _sympy_gradients(F: Node, wrt: list[Node], lowered: Any, args: list) -> list:
    expr = F.sympy(explicit=True)
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
