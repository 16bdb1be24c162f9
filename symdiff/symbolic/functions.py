"""SymPy's side of the table: symdiff's own SymPy functions, and each row's formula.

Rows of ``numeric.PRIMITIVES`` carry their SymPy form as text (``"Max(x, y)"``); this
module reads it once per row with the safe parser into a template over dummy symbols.
``relu`` and ``sigmoid`` are SymPy functions of ours so formulas print with their names;
each knows its derivative (``fdiff``) and how to rewrite itself in SymPy's built-ins,
and the tests check the two agree.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> sympy.diff(relu(x), x)
Heaviside(x, 0)
>>> template("maximum").expr
Max(x, y)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from numeric import PRIMITIVES

from symdiff.symbolic.constants import check_power


class relu(sympy.Function):
    """max(x, 0); derivative Heaviside(x, 0), i.e. relu'(0) = 0 as in PyTorch."""

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x is sympy.nan:
            return sympy.nan  # Max refuses nan; numpy's maximum propagates it
        if x.is_Number:
            return sympy.Max(x, 0)
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return sympy.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, x: Any, **kwargs: Any) -> Any:
        return sympy.Max(x, 0)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


class sigmoid(sympy.Function):
    """1/(1 + exp(-x)); derivative sigmoid(x)*(1 - sigmoid(x))."""

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x.is_Number:
            return 1 / (1 + sympy.exp(-x))
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x: Any, **kwargs: Any) -> Any:
        return 1 / (1 + sympy.exp(-x))

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


# -- issue 14: the SymPy functions of the new elementwise rows that SymPy lacks (or has
#    with another meaning). Each prints under its numpy name, which sd.parse reads back;
#    softplus and logaddexp differentiate to sigmoids, which never overflow.

class cbrt(sympy.Function):
    """The real cube root, negative for x < 0 as numpy's ``cbrt`` (SymPy's own ``cbrt(x)``
    is ``x**(1/3)``, complex for x < 0); derivative 1/(3*cbrt(x)**2)."""

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x is sympy.nan:
            return sympy.nan
        if x.is_Number:
            return sympy.sign(x) * sympy.Abs(x) ** sympy.Rational(1, 3)
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return 1 / (3 * cbrt(self.args[0]) ** 2)

    def _eval_rewrite_as_Abs(self, x: Any, **kwargs: Any) -> Any:
        return sympy.sign(x) * sympy.Abs(x) ** sympy.Rational(1, 3)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


class softplus(sympy.Function):
    """log(1 + exp(x)), numpy's ``logaddexp(0, x)``; derivative sigmoid(x)."""

    @classmethod
    def eval(cls, x: Any) -> Any:
        if x is sympy.nan:
            return sympy.nan
        if x.is_Number:
            return sympy.log(1 + sympy.exp(x))
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x: Any, **kwargs: Any) -> Any:
        return sympy.log(sympy.exp(x) + 1)

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real


class logaddexp(sympy.Function):
    """log(exp(x) + exp(y)), numpy's ``logaddexp``; derivatives sigmoid(x - y) and
    sigmoid(y - x)."""

    nargs = 2

    @classmethod
    def eval(cls, x: Any, y: Any) -> Any:
        if x is sympy.nan or y is sympy.nan:
            return sympy.nan
        if x.is_Number and y.is_Number:
            return sympy.log(sympy.exp(x) + sympy.exp(y))
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        x, y = self.args
        return sigmoid(x - y) if argindex == 1 else sigmoid(y - x)

    def _eval_rewrite_as_log(self, x: Any, y: Any, **kwargs: Any) -> Any:
        return sympy.log(sympy.exp(x) + sympy.exp(y))

    def _eval_is_real(self) -> Any:
        return self.args[0].is_real and self.args[1].is_real


class clip(sympy.Function):
    """x clipped to [lo, hi] as numpy's ``clip``: Min(Max(x, lo), hi), hi when lo > hi.
    Derivatives follow ``torch.clamp`` at the bounds: x's is 1 on [lo, hi] (ends
    included), lo's where x < lo < hi, hi's everywhere else (they add up to 1)."""

    nargs = 3

    @classmethod
    def eval(cls, x: Any, lo: Any, hi: Any) -> Any:
        if sympy.nan in (x, lo, hi):
            return sympy.nan
        if x.is_Number and lo.is_Number and hi.is_Number:
            return sympy.Min(sympy.Max(x, lo), hi)
        return None

    def fdiff(self, argindex: int = 1) -> Any:
        x, lo, hi = self.args
        inside = sympy.Heaviside(x - lo, 1) * sympy.Heaviside(hi - x, 1)
        below = sympy.Heaviside(lo - x, 0) * sympy.Heaviside(hi - lo, 0)
        return (inside, below, 1 - inside - below)[argindex - 1]

    def _eval_rewrite_as_Max(self, x: Any, lo: Any, hi: Any, **kwargs: Any) -> Any:
        return sympy.Min(sympy.Max(x, lo), hi)

    def _eval_is_real(self) -> Any:
        return all(a.is_real for a in self.args) or None


def where(c: Any, x: Any, y: Any) -> Any:
    """The SymPy form of ``sd.where``: ``Piecewise((x, c), (y, True))``."""
    return sympy.Piecewise((x, c), (y, True))


NAMESPACE: dict[str, Any] = {
    "exp": sympy.exp, "log": sympy.log, "sin": sympy.sin, "cos": sympy.cos,
    "tan": sympy.tan, "tanh": sympy.tanh, "sqrt": sympy.sqrt, "Abs": sympy.Abs,
    "sign": sympy.sign, "Heaviside": sympy.Heaviside, "Max": sympy.Max, "Min": sympy.Min,
    "relu": relu, "sigmoid": sigmoid, "where": where,
    # -- issue 14
    "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan, "atan2": sympy.atan2,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "asinh": sympy.asinh, "acosh": sympy.acosh,
    "atanh": sympy.atanh, "erf": sympy.erf, "cbrt": cbrt, "softplus": softplus,
    "logaddexp": logaddexp, "clip": clip,
}
"""Function names a row's formula may use."""

NUMPY_FUNCTIONS: dict[str, Any] = {
    "relu": PRIMITIVES["relu"].forward, "sigmoid": PRIMITIVES["sigmoid"].forward,
    # SymPy's numpy printer has no Heaviside: it rewrites it as a Piecewise, which can
    # call the inequality solver (slow) and, under cse, folds to a wrong constant
    "Heaviside": lambda x, h0=0.5: np.heaviside(x, h0),
    # -- issue 14 (numpy has no erf: the row's own, math.erf entry by entry)
    "cbrt": np.cbrt, "softplus": PRIMITIVES["softplus"].forward, "logaddexp": np.logaddexp,
    "clip": PRIMITIVES["clip"].forward, "erf": PRIMITIVES["erf"].forward,
}
"""numpy implementations of our own SymPy functions, for ``sympy.lambdify``."""

ARG_NAMES = ("x", "y", "z")


@dataclass(frozen=True)
class Template:
    """A row's formula over real dummy symbols ``args`` and parameter symbols ``params``;
    ``powers`` lists its ``(base, exponent)`` pairs, estimated before each use."""

    expr: Any
    args: tuple
    params: dict
    powers: tuple = ()

    def instantiate(self, args: Any, params: dict) -> Any:
        """The formula with ``args`` and the numbers of ``params`` in place. A power whose
        numbers SymPy would compute to an enormous size (``3**(10**9)``, ``(3*x)**1e9``)
        raises ``ClosedFormError`` first (``symdiff.symbolic.constants.check_power``)."""
        mapping = dict(zip(self.args, args))
        for k, sym in self.params.items():
            mapping[sym] = to_sympy_number(params[k], exact=True)
        for base, exponent in self.powers:
            check_power(base.xreplace(mapping), exponent.xreplace(mapping))
        return self.expr.xreplace(mapping)


@lru_cache(maxsize=None)
def template(op: str) -> Template:
    """The parsed SymPy formula of an elementwise row (cached)."""
    from symdiff.text.sympy_builder import parse_sympy

    row = PRIMITIVES[op]
    args = tuple(sympy.Symbol(n, real=True) for n in ARG_NAMES[:row.arity])
    params = {p: sympy.Symbol(p, real=True) for p in row.params}
    expr = parse_sympy(row.sympy, {**dict(zip(ARG_NAMES, args)), **params}, NAMESPACE)
    powers = tuple((p.base, p.exp) for p in expr.atoms(sympy.Pow)
                   if not (p.exp.is_Number and abs(p.exp) <= 1))
    return Template(expr, args, params, powers)


def to_sympy_number(v: Any, exact: bool = False) -> Any:
    """A float as an exact Integer when integral; with ``exact``, simple fractions too
    (an exponent of 0.5 prints as sqrt); otherwise a Float."""
    if isinstance(v, bool):
        return sympy.true if v else sympy.false
    f = float(v)
    if f.is_integer() and abs(f) < 2 ** 53:
        return sympy.Integer(int(f))
    if exact:
        r = sympy.Rational(f).limit_denominator(1000)
        if float(r) == f:
            return r
    return sympy.Float(f)
