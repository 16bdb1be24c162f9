"""The symbolic judge of ``sd.verify``: claim - truth, formed and reduced by SymPy.

``difference(claim, truth, equal)`` forms claim - truth element by element from the
explicit forms at small shapes, else from the matrix forms, and reduces it with bounded
steps (SymPy's ``simplify`` can run for minutes): 0 proves the claim. When the numbers
already say the two differ (``equal`` False) the difference is only tidied for display.

May import SymPy, numpy, ``symdiff.errors``, ``symdiff.graph`` and ``symdiff.symbolic``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> difference(2 * sd.sin(x) * sd.cos(x), sd.diff(sd.sin(x) ** 2, x), True)
Difference(expr=0, proven=True, note='', rounded=False)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import itertools
import threading

import numpy as np
import sympy

from symdiff.errors import ClosedFormError
from symdiff.graph.node import Node
from symdiff.symbolic.closed_form import build
from symdiff.graph.walks import topological

MAX_SYMBOLIC = 400
"""Largest claim + truth graph (nodes x elements) expanded into SymPy element formulas."""


_HEAVY = ("inv", "det", "logdet")


@dataclass
class Difference:
    """claim - truth as SymPy formed it: ``expr`` (None when not formed), ``proven`` (it
    reduced to 0), ``rounded`` (to 0 only once a float constant was read as the simple
    fraction it is within rounding of: "equal to rounding", not "proven") and a ``note``."""

    expr: Any
    proven: Optional[bool]
    note: str = ""
    rounded: bool = False


def difference(claim: Node, truth: Node, equal: bool) -> Difference:
    """claim - truth, reduced. ``equal``: the numbers agreed, so try hard to prove 0;
    otherwise only tidy the difference for display.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> d = difference(sd.cos(x ** 2), sd.diff(sd.sin(x ** 2), x), False)
    >>> d.expr, d.proven
    ((1 - 2*x)*cos(x**2), False)
    >>> d = difference(2 * x + 1e-15, sd.diff(x ** 2, x), True)
    >>> d.expr, d.proven, d.rounded
    (0, True, True)
    """
    _ROUNDED.flag = False
    expr, proven, note = _difference(claim, truth, equal)
    return Difference(expr, proven, note, bool(proven) and _ROUNDED.flag)


def _difference(claim: Node, truth: Node, equal: bool) -> tuple[Any, Optional[bool], str]:
    order = topological([claim, truth])
    work = sum(max(n.size, 1) for n in order)
    heavy = any(n.op in _HEAVY and n.args[0].shape[-1] > 2 for n in order)
    if claim.shape != () and not equal:
        # a wrong array claim: the matrix difference (-A.T*(A*x - b)) reads best
        try:
            return _matrix_difference(claim, truth, equal)
        except (ClosedFormError, TypeError, ValueError, NotImplementedError, AttributeError,
                ArithmeticError, RecursionError):
            pass
    try:
        if work <= MAX_SYMBOLIC and not heavy:
            # each side's float constants read as the fractions they print or round to,
            # before they meet: what is left over is a real difference
            c, t = _rationalize_all(build(claim, explicit=True)), \
                _rationalize_all(build(truth, explicit=True))
            rules = simplex_rules(order, matrix=False)
            if rules:   # sum(t) = 1: t's last entry is 1 minus the others
                c, t = (e.xreplace(rules) if isinstance(e, sympy.Basic) else e
                        for e in (c, t))
            labels = label_entries(order) if equal else {}
            if claim.shape == ():
                d = _by_labels(_reduce(sympy.sympify(c) - sympy.sympify(t), equal), labels)
                return d, d == 0, ""
            cs, ts = np.array(c.tolist(), dtype=object), np.array(t.tolist(), dtype=object)
            ds = np.empty(cs.shape, dtype=object)
            for idx in np.ndindex(*cs.shape):
                ds[idx] = _by_labels(_reduce(sympy.sympify(cs[idx]) - sympy.sympify(ts[idx]),
                                             equal), labels)
            if all(e == 0 for e in ds.flat):
                return sympy.S.Zero, True, ""
            return sympy.ImmutableDenseNDimArray(ds.tolist(), ds.shape), False, ""
        return _matrix_difference(claim, truth, equal)
    except (ClosedFormError, TypeError, ValueError, NotImplementedError, AttributeError,
            ArithmeticError, RecursionError) as e:
        return None, None, f"SymPy could not form claim - symdiff ({type(e).__name__})"


DIGITS = 30
"""Working precision of ``residual``: a difference SymPy could not reduce is evaluated
with this many digits at the points the search compared."""
MAX_RESIDUAL_ENTRIES = 400
"""Largest explicit difference (entries) evaluated by ``residual``; matrix forms of more
entries are left to the float comparison."""


def residual(d: Any, point: dict, digits: int = DIGITS) -> Optional[float]:
    """max |d| at ``point`` (name -> value) in ``digits``-digit arithmetic, or None where
    it cannot be evaluated (unknown symbols, too many entries, a SymPy failure).
    Variables are the symbols the closed forms use: ``x``, ``W[i, j]`` in explicit
    forms, ``MatrixSymbol`` W in matrix forms (a vector of shape (n,) an n×1 column).

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> residual(sympy.Piecewise((1, x > 10**7), (0, True)), {"x": 1.5e7})
    1.0
    >>> residual(sympy.sin(x)**2 + sympy.cos(x)**2 - 1, {"x": 0.3}) < 1e-25
    True
    """
    subs: dict = {}
    try:
        labels = {i.base.label for i in d.atoms(sympy.Indexed)}
        for s in d.free_symbols - labels:
            if isinstance(s, sympy.Indexed):
                v = point.get(str(s.base))
                if v is None:
                    return None
                subs[s] = sympy.Float(float(np.asarray(v)[tuple(int(i) for i in s.indices)]),
                                      digits + 10)
            elif isinstance(s, sympy.MatrixSymbol):
                v = point.get(s.name)
                if v is None:
                    return None
                m = np.asarray(v, dtype=float).reshape(s.shape)
                subs[s] = sympy.ImmutableMatrix(m.shape[0], m.shape[1],
                                                [sympy.Float(float(e), digits + 10)
                                                 for e in m.reshape(-1)])
            elif isinstance(s, sympy.Symbol):
                if s.name not in point or np.ndim(point[s.name]) != 0:
                    return None
                subs[s] = sympy.Float(float(point[s.name]), digits + 10)
            elif not isinstance(s, sympy.IndexedBase):
                return None
        e = d.xreplace(subs)
        if isinstance(e, sympy.NDimArray):
            entries = list(sympy.flatten(e.tolist()))
        elif getattr(e, "is_Matrix", False):
            if e.shape[0] * e.shape[1] > MAX_RESIDUAL_ENTRIES:
                return None
            entries = list(e.doit().as_explicit())
        else:
            entries = [e]
        if len(entries) > MAX_RESIDUAL_ENTRIES:
            return None
        worst = 0.0
        for entry in entries:
            v = sympy.N(entry, digits)
            if not v.is_number:
                return None
            worst = max(worst, abs(complex(v)))
        return worst
    except (TypeError, ValueError, ArithmeticError, AttributeError, NotImplementedError,
            RecursionError, IndexError):
        return None


def _matrix_difference(claim: Node, truth: Node, equal: bool) -> tuple[Any, bool, str]:
    """claim - truth from the matrix forms: 0 only when they are the same expression."""
    c, t = _canonical(build(claim)), _canonical(build(truth))
    if c == t or str(c) == str(t):
        return sympy.S.Zero, True, ""
    d = c - t
    try:
        d = d.doit()
    except Exception:  # noqa: BLE001 - keep the undone difference
        pass
    if d == 0 or isinstance(d, sympy.ZeroMatrix) or \
            (isinstance(d, sympy.MatrixBase) and all(e == 0 for e in d)):
        return sympy.S.Zero, True, ""
    if not getattr(d, "is_Matrix", False):
        d = _reduce(d, equal)
        return d, d == 0, ""
    return d, False, ""


_PIECEWISE = (sympy.Heaviside, sympy.Max, sympy.Min, sympy.Abs, sympy.sign, sympy.Piecewise)


def _canonical(expr: Any) -> Any:
    """The same dummy for the same name (tanh.(X) carries Lambda(_t, tanh(_t)) with a
    fresh dummy each time), so equal matrix expressions compare equal."""
    dummies = expr.atoms(sympy.Dummy)
    return expr.xreplace({d: sympy.Symbol(f"_{d.name}") for d in dummies}) if dummies else expr


def _reduce(d: Any, equal: bool) -> Any:
    """``d`` reduced with bounded steps (SymPy's ``simplify`` can run for minutes on
    hyperbolic functions): 0 when they prove it; for a difference the numbers say is not
    0 (``equal`` False), only tidied for display."""
    d = _rationalize(d)
    if d == 0:
        return sympy.S.Zero
    ops = sympy.count_ops(d)
    if ops > 2000 or not _expandable(d):
        return d
    e = sympy.expand(d)
    if e == 0 or d.is_polynomial():
        return e   # polynomials are decided by expanding
    if not equal:
        return sympy.factor_terms(e)
    if sympy.cancel(sympy.together(e)) == 0:
        return sympy.S.Zero
    if ops <= 300 and e.has(sympy.exp, sympy.sin, sympy.cos, sympy.tan, sympy.tanh,
                            sympy.sinh, sympy.cosh):
        from symdiff.symbolic.functions import sigmoid
        r = sympy.expand(e.rewrite(sigmoid, sympy.exp).rewrite(sympy.exp))
        if r == 0 or sympy.cancel(sympy.together(r)) == 0:
            return sympy.S.Zero
    from symdiff.symbolic.functions import relu
    if ops <= 300 and d.has(relu, *_PIECEWISE):
        # relu(x) - x*Heaviside(x, 0) is 0 as a piecewise function
        p = sympy.piecewise_fold(d.rewrite(sympy.Max).rewrite(sympy.Piecewise))
        if sympy.expand(p) == 0 or sympy.cancel(sympy.together(sympy.expand(p))) == 0:
            return sympy.S.Zero
    return d


PRINTED = 5e-15
"""Relative distance from a simple fraction within which a float is that fraction as
printed (SymPy prints 15 digits: 0.166666666666667 is 1/6)."""
ROUNDING = 1e-13
"""Absolute distance (for numbers up to 1, relative beyond) within which a float is read
as a simple fraction it rounds to (1e-15 as 0): then the claim equals symdiff's only to
rounding, and the report says so instead of "proven"."""


MAX_EXPANDED_POWER = 40
"""Largest integer power of a sum that ``_reduce`` multiplies out: (x + 1)**(10**6) has a
million terms (it took 3.7 GB); such a difference is judged by exact evaluation instead."""


def _expandable(d: Any) -> bool:
    """Whether ``sympy.expand(d)`` stays small: no power of a sum beyond
    ``MAX_EXPANDED_POWER``."""
    return not any(p.base.is_Add and p.exp.is_Integer and abs(int(p.exp)) > MAX_EXPANDED_POWER
                   for p in d.atoms(sympy.Pow))


def _rationalize(d: Any) -> Any:
    """Floats that are simple fractions as printed (0.166666666666667) -> the fraction;
    floats within rounding of one (2*x + 1e-15) too, noted in ``_ROUNDED``."""
    swap = {}
    for f in d.atoms(sympy.Float):
        r = sympy.Rational(float(f)).limit_denominator(10**6)
        gap = abs(float(r) - float(f))
        if gap <= PRINTED * abs(float(f)):
            swap[f] = r
        elif gap <= ROUNDING * max(1.0, abs(float(f))):
            swap[f] = r
            _ROUNDED.flag = True
    return d.xreplace(swap) if swap else d


def _rationalize_all(e: Any) -> Any:
    """``_rationalize`` on an expression or on every entry of an explicit array."""
    if isinstance(e, sympy.NDimArray):
        return e.applyfunc(_rationalize)
    return _rationalize(sympy.sympify(e))


class _Flag(threading.local):
    flag = False


_ROUNDED = _Flag()
"""Set by ``_rationalize`` when a float was read as the fraction it is within rounding
of; ``difference`` resets and reads it (per thread: verify may run in several)."""


MAX_LABEL_CASES = 256
"""Most label combinations ``_by_labels`` tries for one entry of a difference."""


def label_entries(order: list) -> dict:
    """For each variable assumed labelled (``labels=(-1, 1)``), each of its entries'
    symbols in the explicit forms (``t[i]``, or ``t`` for a scalar) -> the values it takes."""
    from symdiff.graph.assumptions import labels_of
    out: dict = {}
    for n in order:
        values = labels_of(n)
        if values is None:
            continue
        if not n.shape:
            out[sympy.Symbol(n.name)] = values
            continue
        base = sympy.IndexedBase(n.name)
        for idx in np.ndindex(*n.shape):
            out[base[idx]] = values
    return out


def _by_labels(d: Any, labels: dict) -> Any:
    """``d``, or 0 when it reduces to 0 at every combination of the label values of the
    labelled entries it holds (a proof by cases: each entry of t is -1 or 1)."""
    if d == 0 or not labels:
        return d
    present = [s for s in d.free_symbols if s in labels]
    cases = 1
    for s in present:
        cases *= len(labels[s])
    if not present or cases > MAX_LABEL_CASES:
        return d
    for values in itertools.product(*(labels[s] for s in present)):
        case = d.xreplace({s: sympy.Rational(v) if float(v).is_integer() else sympy.Float(v)
                           for s, v in zip(present, values)})
        if _reduce(case, True) != 0:
            return d
    return sympy.S.Zero


def simplex_rules(order: list, matrix: bool) -> dict:
    """For each variable assumed a probability vector (``probability=True``; for a matrix,
    each row one), the last entry (of each row) written as 1 minus the others, so
    ``sum(t)`` is 1 in every form: as ``t[i]`` / ``T[i, j]`` in the explicit forms, or
    (``matrix``) as entries of its matrix symbol (a vector's is a column)."""
    from symdiff.graph.assumptions import assumption
    rules: dict = {}
    for n in order:
        if assumption(n) != "probability":
            continue
        if len(n.shape) == 1:
            k = n.shape[0]
            if matrix:
                col = sympy.MatrixSymbol(n.name, k, 1)
                rows = [[col[i, 0] for i in range(k)]]
            else:
                base = sympy.IndexedBase(n.name)
                rows = [[base[i] for i in range(k)]]
        else:
            r, k = n.shape
            sym = sympy.MatrixSymbol(n.name, r, k) if matrix else sympy.IndexedBase(n.name)
            rows = [[sym[i, j] for j in range(k)] for i in range(r)]
        for entries in rows:
            rules[entries[-1]] = 1 - sympy.Add(*entries[:-1])
    return rules
