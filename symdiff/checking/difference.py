"""The symbolic judge of ``sd.verify``: claim - truth, formed and reduced by SymPy.

``difference(claim, truth, equal)`` forms claim - truth element by element from the
explicit forms at small shapes, else from the matrix forms, and reduces it with bounded
steps (SymPy's ``simplify`` can run for minutes): 0 proves the claim. When the numbers
already say the two differ (``equal`` False) the difference is only tidied for display.

May import SymPy, numpy, ``symdiff.errors``, ``symdiff.graph`` and ``symdiff.symbolic``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> difference(2 * sd.sin(x) * sd.cos(x), sd.diff(sd.sin(x) ** 2, x), True)
(0, True, '')
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import sympy

from symdiff.errors import ClosedFormError
from symdiff.graph.node import Node
from symdiff.graph.walks import topological

MAX_SYMBOLIC = 400
"""Largest claim + truth graph (nodes x elements) expanded into SymPy element formulas."""


_HEAVY = ("inv", "det", "logdet")


def difference(claim: Node, truth: Node, equal: bool) -> tuple[Any, Optional[bool], str]:
    """(claim - truth reduced, proven zero?, note). ``equal``: the numbers agreed, so try
    hard to prove 0; otherwise only tidy the difference for display.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> difference(sd.cos(x ** 2), sd.diff(sd.sin(x ** 2), x), False)[:2]
    ((1 - 2*x)*cos(x**2), False)
    """
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
            c, t = claim.sympy(explicit=True), truth.sympy(explicit=True)
            if claim.shape == ():
                d = _reduce(sympy.sympify(c) - sympy.sympify(t), equal)
                return d, d == 0, ""
            cs, ts = np.array(c.tolist(), dtype=object), np.array(t.tolist(), dtype=object)
            ds = np.empty(cs.shape, dtype=object)
            for idx in np.ndindex(*cs.shape):
                ds[idx] = _reduce(sympy.sympify(cs[idx]) - sympy.sympify(ts[idx]), equal)
            if all(e == 0 for e in ds.flat):
                return sympy.S.Zero, True, ""
            return sympy.ImmutableDenseNDimArray(ds.tolist(), ds.shape), False, ""
        return _matrix_difference(claim, truth, equal)
    except (ClosedFormError, TypeError, ValueError, NotImplementedError, AttributeError,
            ArithmeticError, RecursionError) as e:
        return None, None, f"SymPy could not form claim - symdiff ({type(e).__name__})"


def _matrix_difference(claim: Node, truth: Node, equal: bool) -> tuple[Any, bool, str]:
    """claim - truth from the matrix forms: 0 only when they are the same expression."""
    c, t = _canonical(claim.sympy()), _canonical(truth.sympy())
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
    if ops > 2000:
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


def _rationalize(d: Any) -> Any:
    """Floats that are simple fractions as printed (0.166666666666667) -> the fraction."""
    swap = {}
    for f in d.atoms(sympy.Float):
        r = sympy.Rational(float(f)).limit_denominator(10**6)
        if abs(float(r) - float(f)) <= 1e-13 * max(1.0, abs(float(f))):
            swap[f] = r
    return d.xreplace(swap) if swap else d
