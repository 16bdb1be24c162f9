"""Fast proofs: the cheap exact steps ``sd.verify`` tries before expanding element by element.

A claim such as the gradient of ``det(X.T @ A @ X)`` written as the textbook's
``Determinant(X.T*A*X)*(A*X*(X.T*A*X)**(-1) + A.T*X*(X.T*A.T*X)**(-1))`` is the same matrix
expression as symdiff's once products are distributed: SymPy sees that in milliseconds,
while expanding both into explicit entries (rational functions of every ``X[i, j]``) can
spend the whole budget. So before ``checking.difference`` expands, these steps are tried in
order, each within its share of a short budget (``FAST_SECONDS``):

1. ``"same form"``: the two closed forms (matrix notation, or scalar formulas) are the
   same expression, once fresh dummies are named alike.
2. ``"matrix algebra"``: claim - truth is 0 after transposes and inverses are pushed in
   (``doit``) and products distributed over sums (``expand``); for scalar formulas,
   ``expand`` and then ``cancel``.
3. ``"explicit entries"``: the matrix-form difference written out on the (small) explicit
   matrices of its symbols, each entry expanded and cancelled.
4. ``"simplify"``: SymPy's ``simplify`` of a small scalar difference.

Each step that returns says 0 exactly, so a claim proven here is "proven by SymPy (step)".
A float constant is read as the fraction it prints as (0.333333333333333 as 1/3); one
merely within rounding of a fraction is left to the full path, which reports "equal to
rounding". A step that fails or runs past its share proves nothing.

May import SymPy, ``symdiff.budget``, ``symdiff.errors``, ``symdiff.graph`` and
``symdiff.symbolic``, and ``checking.difference``.

>>> import symdiff as sd
>>> X, A = sd.var("X", (3, 2)), sd.var("A", (3, 3))
>>> f = sd.det(X.T @ A @ X)
>>> from symdiff.graph.claims import parse_claim
>>> claim = parse_claim("Determinant(X.T*A*X)*(A*X*(X.T*A*X)**(-1) + A.T*X*(X.T*A.T*X)**(-1))",
...                     {"X": X, "A": A}, wrt=X)
>>> fast_proof(claim, sd.diff(f, X))
'matrix algebra'
>>> fast_proof(2 * X, sd.diff(f, X)) is None
True
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

import sympy

from sympy.matrices.expressions.matexpr import MatrixElement

from symdiff.budget import OutOfMemory, OutOfTime, run_within
from symdiff.checking.difference import _ROUNDED, _canonical, _rationalize, simplex_rules
from symdiff.graph.node import Node
from symdiff.graph.walks import topological
from symdiff.symbolic.closed_form import build
from symdiff.symbolic.outer import outer_products

FAST_SECONDS = 2.0
"""Budget of all the fast steps together, per claimed variable; the full path gets the
rest of ``sympy_seconds``."""
MAX_EXPLICIT = 36
"""Largest matrix symbol (entries), and largest difference, written out explicitly by the
``"explicit entries"`` step."""
MAX_SIMPLIFY_OPS = 200
"""Largest scalar difference (SymPy operation count) handed to ``simplify``."""

_ERRORS = (TypeError, ValueError, NotImplementedError, AttributeError, ArithmeticError,
           RecursionError, IndexError, KeyError)


def fast_proof(claim: Node, truth: Node, seconds: float = FAST_SECONDS) -> Optional[str]:
    """The name of the first cheap step that proves ``claim - truth`` is 0 (see the module
    docstring), or None when none does within ``seconds``."""
    deadline = time.monotonic() + seconds
    forms = _run(deadline, 0.5, _forms, claim, truth)
    if forms is None:
        return None
    c, t = forms
    rules = simplex_rules(topological([claim, truth]), matrix=True)
    steps: list[tuple[str, Callable[[Any, Any], bool], float]] = [
        ("same form", _same, 1.0), ("matrix algebra", _algebra, 0.5),
        ("explicit entries", lambda a, b: _explicit(a, b, rules), 0.7),
        ("simplify", _simplified, 1.0)]
    if rules:   # sum(t) = 1 holds only entry by entry: the first two steps cannot use it
        steps = steps[2:3] + steps[:2]
    for name, step, share in steps:
        if _run(deadline, share, step, c, t):
            return name
    return None


def _run(deadline: float, share: float, work: Callable[..., Any], *args: Any) -> Any:
    """``work(*args)`` within ``share`` of the time left, None past it or on a failure."""
    left = deadline - time.monotonic()
    if left <= 0.01:
        return None
    try:
        return run_within(left * share, work, *args)
    except (OutOfTime, OutOfMemory):
        return None
    except _ERRORS:
        return None
    except Exception:  # noqa: BLE001 - SymPy raises odd types (GeneratorsNeeded, ...)
        return None


def _forms(claim: Node, truth: Node) -> Optional[tuple[Any, Any]]:
    """The closed forms of both sides, floats read as the fractions they print as; None
    when a float is only within rounding of one (that is the full path's call)."""
    _ROUNDED.flag = False
    c, t = (_canonical(_exact(build(n))) for n in (claim, truth))
    if _ROUNDED.flag:
        _ROUNDED.flag = False
        return None
    return c, t


def _exact(e: Any) -> Any:
    e = sympy.sympify(e)
    return _rationalize(e) if e.atoms(sympy.Float) else e


def _same(c: Any, t: Any) -> bool:
    return c == t or str(c) == str(t)


def _is_zero(e: Any) -> bool:
    if e == 0 or isinstance(e, sympy.ZeroMatrix):
        return True
    if isinstance(e, sympy.MatrixBase):
        return all(x == 0 for x in e)
    return False


def _algebra(c: Any, t: Any) -> bool:
    d = c - t
    if getattr(d, "is_Matrix", False):
        if _is_zero(sympy.expand(d)):
            return True
        e = sympy.expand(outer_products(d.doit()))
        return _is_zero(e) or _collected_zero(e)
    e = sympy.expand(d)
    return e == 0 or _scalar_zero(e)


def _collected_zero(e: Any) -> bool:
    """A sum of (scalar) * (matrix product) terms is 0 when, for each distinct matrix
    product, the scalar coefficients add up to 0."""
    terms = e.args if isinstance(e, sympy.MatAdd) else (e,)
    groups: dict = {}
    for term in terms:
        if isinstance(term, sympy.MatMul):
            coeff, mats = term.as_coeff_matrices()
        elif isinstance(term, sympy.MatrixExpr):
            coeff, mats = sympy.S.One, [term]
        else:
            return False
        key = sympy.MatMul(*mats).doit() if len(mats) > 1 else mats[0]
        groups[key] = groups.get(key, sympy.S.Zero) + coeff
    return all(_scalar_zero(s) for s in groups.values())


def _scalar_zero(s: Any) -> bool:
    """A scalar is 0: after expand and cancel, with the scalars of matrices (det, trace,
    entries) as real unknowns and |u| as u*sign(u) (so sign(d)*d/|d| is 1 wherever it is
    defined)."""
    s = sympy.expand(s)
    if s == 0:
        return True
    parts = {p: sympy.Dummy(real=True) for p in s.atoms(sympy.Determinant, sympy.Trace,
                                                       MatrixElement)}
    s = s.xreplace(parts)
    s = s.replace(lambda n: isinstance(n, sympy.Abs) and n.args[0].is_real,
                  lambda n: n.args[0] * sympy.sign(n.args[0]))
    return sympy.cancel(sympy.together(sympy.expand(s))) == 0


def _explicit(c: Any, t: Any, rules: Optional[dict] = None) -> bool:
    d = c - t
    if not getattr(d, "is_Matrix", False) and not d.atoms(sympy.MatrixSymbol):
        return False
    symbols = d.atoms(sympy.MatrixSymbol)
    if any(s.shape[0] * s.shape[1] > MAX_EXPLICIT for s in symbols):
        return False
    rows, cols = d.shape if getattr(d, "is_Matrix", False) else (1, 1)
    if rows * cols > MAX_EXPLICIT:
        return False
    e = d.as_explicit() if getattr(d, "is_Matrix", False) else d.doit()
    entries = list(e) if getattr(e, "is_Matrix", False) else [e]
    for x in entries:
        x = x.doit()
        x = _in_exp(x.xreplace(rules) if rules else x)
        if x != 0 and sympy.cancel(sympy.together(x)) != 0:
            return False
    return True


def _in_exp(x: Any) -> Any:
    """``x`` expanded, with sigmoid, tanh and friends written with ``exp`` (so that
    ``sigmoid(u)`` and ``exp(u)/(1 + exp(u))`` meet)."""
    from symdiff.symbolic.functions import sigmoid
    if x.has(sigmoid, sympy.tanh, sympy.sinh, sympy.cosh):
        x = x.rewrite(sigmoid, sympy.exp).rewrite(sympy.exp)
    return sympy.expand(x)


def _simplified(c: Any, t: Any) -> bool:
    d = c - t
    if getattr(d, "is_Matrix", False) or d.atoms(sympy.MatrixSymbol):
        return False
    if sympy.count_ops(d) > MAX_SIMPLIFY_OPS:
        return False
    return sympy.simplify(d) == 0
