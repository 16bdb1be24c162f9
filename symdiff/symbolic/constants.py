"""Numbers a closed form may hold: what SymPy is never asked to compute.

SymPy evaluates operations on numbers as it builds an expression: ``exp`` of a Float is a
Float (mpmath's, whose exponent has no bound), a power of integers is an integer of any
length, and ``(3*x)**n`` raises the coefficient 3 to the n-th power at once. A short text
reaches sizes that take minutes or cannot be interrupted at all:
``exp(exp(exp(10.5)))*x`` holds a Float near 10**(10**15771), which mpmath took minutes
to print before Python refused the digits; ``(3*x)**1e9`` asks for 3**(10**9), one C call
no time budget can stop. So three rules apply before and while a closed form is built:

* **constants that overflow float64 are refused**: an op whose inputs are all constants
  (no variable or tensor below it) and whose float64 value is inf or nan raises
  ``ClosedFormError`` naming it (``refuse_non_finite``). Every number symdiff computes
  with it would be inf or nan too;
* **powers are estimated first**: a power of a number, or of a product's constant factors
  (which SymPy raises on their own: ``(sqrt(3)*x)**n`` holds ``3**(n/2)``), whose exact
  result would have more than ``MAX_EXACT_BITS`` binary digits, or whose float result
  would leave float64's exponent range, is refused before SymPy sees it (``check_power``,
  called by every row template's ``instantiate``);
* **every number built is measured**: a node whose closed form is a number longer than
  ``MAX_EXACT_BITS`` or a Float outside float64's range is refused (``check_number``).

May import: sympy, numpy and ``symdiff.errors``.

>>> import symdiff as sd
>>> try:
...     sd.parse("exp(exp(exp(10.5)))*x").sympy()
... except sd.ClosedFormError as e:
...     print(str(e).split(":")[0])
the constant exp(exp(10.5)) is inf in float64
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Optional

import numpy as np
import sympy

from symdiff.errors import ClosedFormError

MAX_EXACT_BITS = 10_000
"""Longest exact number (in binary digits, about 3,000 decimal ones) a closed form may
hold; Python refuses to print integers of more than 4,300 decimal digits."""

FLOAT_EXPONENT_BITS = 1_100
"""Largest binary exponent (either sign) of a Float in a closed form: float64 spans
about 2**-1074 to 2**1024, and mpmath's Floats, which have no bound, print in time
proportional to their exponent's length."""

_TEXT_LIMIT = 80


def constant_ids(order: Iterable[Any]) -> set[int]:
    """ids of the nodes (in topological ``order``) with no variable or tensor below them.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> c = sd.exp(sd.const(2.0))
    >>> sorted(n.op for n in (x * c).nodes() if id(n) in constant_ids((x * c).nodes()))
    ['const', 'exp']
    """
    out: set[int] = set()
    for n in order:
        if n.op == "const" or (n.op not in ("var", "tensor") and n.args
                               and all(id(a) in out for a in n.args)):
            out.add(id(n))
    return out


def refuse_non_finite(order: list) -> None:
    """Raise ``ClosedFormError`` for the first op on constants whose float64 value is not
    finite (see the module docstring). Constant leaves are left alone: an ``inf`` the
    user gave is SymPy's ``oo``, which costs nothing.

    >>> import symdiff as sd
    >>> refuse_non_finite((sd.var("x") * sd.exp(sd.const(2.0))).nodes())
    """
    constant = constant_ids(order)
    for n in order:
        if n.op == "const" or id(n) not in constant or n._value is None:
            continue
        v = np.asarray(n._value)
        if v.dtype == np.bool_ or np.all(np.isfinite(v)):
            continue
        what = f"{float(v)}" if v.size == 1 else "not finite"
        raise ClosedFormError(
            f"the constant {node_text(n)} is {what} in float64: its exact value is too large "
            "(or undefined) for a closed form, and every number computed with it is inf or "
            "nan. Rewrite it, or evaluate the graph numerically")


def node_text(n: Any) -> str:
    """A short text of a small constant subexpression: ``exp(exp(10.5))`` (iterative,
    cut at 80 characters).

    >>> import symdiff as sd
    >>> node_text(sd.exp(sd.const(2.0)) ** 3.0 + 1)
    'exp(2)**3 + 1'
    """
    text: dict[int, str] = {}
    stack = [(n, False)]
    while stack:
        m, ready = stack.pop()
        if id(m) in text:
            continue
        if not ready and m.args:
            stack.append((m, True))
            stack.extend((a, False) for a in m.args if id(a) not in text)
            continue
        text[id(m)] = _text_of(m, [text[id(a)] for a in m.args])
    return text[id(n)]


def _text_of(m: Any, args: list[str]) -> str:
    def atom(a: str) -> str:   # wrapped unless a name, a number or one call: exp(2)
        plain = a.replace(".", "").replace("_", "").replace("+", "").isalnum()
        call = a[:1].isalpha() and a.endswith(")") and a.find("(") == a.rfind("(")
        return a if plain or call else f"({a})"

    if m.op == "const":
        v = np.asarray(m._value)
        out = f"{float(v):g}" if v.size == 1 else f"an array of shape {v.shape}"
    elif m.op in ("var", "tensor"):
        out = m.name
    elif m.op == "pow":
        out = f"{atom(args[0])}**{m.params['p']:g}"
    elif m.op == "neg":
        out = f"-{atom(args[0])}"
    elif m.op == "add":
        out = " + ".join(args)
    elif m.op == "sub":
        out = f"{args[0]} - {args[1] if ' ' not in args[1] else f'({args[1]})'}"
    elif m.op in ("mul", "div", "pow_tensor"):
        sym = {"mul": "*", "div": "/", "pow_tensor": "**"}[m.op]
        out = sym.join(a if " " not in a else f"({a})" for a in args)
    else:
        out = f"{m.op}({', '.join(args)})"
    return out if len(out) <= _TEXT_LIMIT else out[:_TEXT_LIMIT - 1] + "…"


# ---------------------------------------------------------------------------
# powers and numbers, in SymPy's terms
# ---------------------------------------------------------------------------

def _exact_bits(c: Any) -> float:
    """About how many binary digits SymPy's exact power of the constant ``c`` grows by per
    unit of exponent: a Rational's numerator and denominator, and likewise a root of one
    (``sqrt(3)**n`` is ``3**(n/2)``); other constants (``pi``, ``exp(3)``) stay symbolic."""
    if c.is_Rational:
        return (math.log2(abs(c.p)) if c.p else 0.0) + math.log2(c.q)
    if c.is_Pow and c.base.is_Rational and c.exp.is_Rational:
        return _exact_bits(c.base) * abs(float(c.exp))
    return 0.0


def _log2_abs(c: Any) -> float:
    """log2 |c| of a nonzero SymPy Float or Rational (exact for huge ones too)."""
    if c.is_Float:
        sign, man, exp, bc = c._mpf_
        return exp + math.log2(man) if man else 0.0
    return (math.log2(abs(c.p)) if c.p else 0.0) - math.log2(c.q)


def check_power(base: Any, exponent: Any) -> None:
    """Raise ``ClosedFormError`` when SymPy would compute ``base**exponent`` (or the power
    of ``base``'s constant factors, which it distributes: ``(3*x)**n = 3**n * x**n``) to
    an exact number past ``MAX_EXACT_BITS`` or a Float past float64's exponent range.
    Only numbers are estimated; symbolic parts stay symbolic whatever the exponent.

    >>> x = sympy.Symbol("x")
    >>> check_power(3 * x, sympy.Integer(100))
    >>> try:
    ...     check_power(sympy.sqrt(3) * x, sympy.Integer(10**9))
    ... except ClosedFormError as e:
    ...     print(str(e)[:52])
    the power (sqrt(3)*…)**1000000000 would make SymPy c
    """
    if not getattr(exponent, "is_Number", False) or not exponent.is_finite:
        return
    n = abs(float(exponent))
    if n <= 1:
        return          # roots and reciprocals do not grow a number
    factors = base.args if base.is_Mul else (base,)
    for c in factors:
        if not c.is_number or c.is_zero or c in (sympy.S.One, sympy.S.NegativeOne):
            continue
        if c.is_Float or (exponent.is_Float and c.is_Rational):
            size, limit = n * abs(_log2_abs(c)), FLOAT_EXPONENT_BITS
            kind = "float64's exponent range"
        else:
            size, limit = n * _exact_bits(c), MAX_EXACT_BITS
            kind = f"{MAX_EXACT_BITS:,} binary digits"
        if size > limit:
            shown = _short(c) if c is base else f"{_short(c)}*…"
            raise ClosedFormError(
                f"the power ({shown})**{_short(exponent)} would make SymPy compute a number "
                f"of about {size:.3g} binary digits, past {kind} (symdiff.symbolic.constants):"
                " such a number takes minutes to compute or print. Evaluate the graph "
                "numerically instead")


def _short(v: Any) -> str:
    """A number as ``1.5`` or ``1e+308``, other expressions cut at 40 characters."""
    if v.is_Number:
        return f"{int(v)}" if v.is_Integer and abs(v) < 10**12 else f"{float(v):g}"
    text = str(v)
    return text if len(text) <= 40 else text[:39] + "…"


def check_number(e: Any, where: Optional[str] = None) -> None:
    """Raise ``ClosedFormError`` when ``e`` (a node's closed form, or an element of one) is
    a number longer than ``MAX_EXACT_BITS`` or a Float outside float64's exponent range.

    >>> check_number(sympy.Integer(2) ** 100)
    >>> try:
    ...     check_number(sympy.Integer(2) ** 20000, "node pow")
    ... except ClosedFormError as e:
    ...     print(str(e)[:55])
    node pow is a number of 2e+04 binary digits, past the 1
    """
    if not getattr(e, "is_Number", False):
        return
    if e.is_Float:
        size = abs(_log2_abs(e))
        if size > FLOAT_EXPONENT_BITS:
            raise ClosedFormError(
                f"{where or 'a constant'} is a Float near 2**{_log2_abs(e):.3g}, past "
                f"float64's exponent range (symdiff.symbolic.constants); evaluate the graph "
                "numerically instead")
    elif e.is_Rational:
        size = float(int(e.p).bit_length() + int(e.q).bit_length() - 1)
        if size > MAX_EXACT_BITS:
            raise ClosedFormError(
                f"{where or 'a constant'} is a number of {size:.3g} binary digits, past the "
                f"{MAX_EXACT_BITS:,} a closed form may hold (symdiff.symbolic.constants); "
                "evaluate the graph numerically instead")


def check_numbers(value: Any, where: Optional[str] = None) -> None:
    """``check_number`` on each element of an object array or explicit SymPy matrix (or
    on ``value`` itself).

    >>> check_numbers(np.array([sympy.Integer(2), sympy.Symbol("x")], dtype=object))
    """
    if isinstance(value, np.ndarray):
        elements: Iterable[Any] = value.reshape(-1)
    elif isinstance(value, sympy.MatrixBase):
        elements = iter(value)
    else:
        elements = (value,)
    for e in elements:
        if getattr(e, "is_Number", False):
            check_number(e, where)
