"""The rewrite rules that fold spelled-out forms into named functions: ``sigmoid``,
``norm``, ``sum``, ``logsumexp``, ``softmax``, and the inner product ``(u.T*v)[0, 0]``
(see ``symdiff.symbolic.readable`` for the table and the order they are tried in).

Each rule is a function of one expression returning the rewritten one, or None where it
does not match; each is proven in ``tests/symbolic/test_readable.py``.

May import: sympy, ``symdiff.symbolic`` (functions, named, notation, rewriting).

>>> import sympy
>>> from symdiff.symbolic.notation import Entry
>>> x = sympy.MatrixSymbol("x", 3, 1)
>>> print(sum_of_squares(Entry(x.T * x)))
norm(x)**2
"""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Optional

import sympy
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul
from sympy.matrices.expressions.matexpr import MatrixElement

from symdiff.symbolic.functions import sigmoid
from symdiff.symbolic.named import LogSumExp, Norm, Softmax, Total
from symdiff.symbolic.notation import Entry
from symdiff.symbolic.rewriting import apply_fn, fn_name, negated, ones, scaled, split


def exp_plus_one(e: Any) -> Optional[Any]:
    """``u`` when ``e`` is ``exp.(u) + 1`` (1 a matrix of ones), else None."""
    if not isinstance(e, MatAdd) or len(e.args) != 2:
        return None
    a, b = e.args
    if ones(a):
        a, b = b, a
    if ones(b) and fn_name(a) == "exp":
        return a.expr
    return None


def fold_sigmoid(factors: list) -> list:
    """The factors of a Hadamard product with ``exp.(u)`` times ``HadamardPower(exp.(u)
    + 1, -1)`` as ``sigmoid.(u)``, and ``sigmoid.(u)`` times ``exp.(-u)`` as
    ``sigmoid.(-u)``."""
    for i, f in enumerate(factors):
        if fn_name(f) == "sigmoid":
            for j, g in enumerate(factors):
                if j != i and fn_name(g) == "exp" and g.expr == negated(f.expr):
                    rest = [h for k, h in enumerate(factors) if k not in (i, j)]
                    return fold_sigmoid([apply_fn(sigmoid, g.expr)] + rest)
        if not (isinstance(f, HadamardPower) and f.exp == -1):
            continue
        u = exp_plus_one(f.base)
        if u is None:
            continue
        for j, g in enumerate(factors):
            if j != i and fn_name(g) == "exp" and g.expr == u:
                rest = [h for k, h in enumerate(factors) if k not in (i, j)]
                return fold_sigmoid([apply_fn(sigmoid, u)] + rest)
    return factors


def sigmoid_power(e: Any) -> Optional[Any]:
    """``HadamardPower(exp.(-u) + 1, -1)`` = ``sigmoid.(u)``."""
    if not (isinstance(e, HadamardPower) and e.exp == -1):
        return None
    u = exp_plus_one(e.base)
    if u is None:
        return None
    c, m = split(u)
    return apply_fn(sigmoid, scaled(-c, m)) if c.could_extract_minus_sign() else None


def sigmoid_scalar(e: Any) -> Optional[Any]:
    """exp(u)/(exp(u) + 1) = sigmoid(u), 1/(1 + exp(-u)) = sigmoid(u) (numbers)."""
    if isinstance(e, sympy.Pow) and e.exp == -1 and isinstance(e.base, sympy.Add):
        terms = e.base.args
        if len(terms) == 2 and sympy.S.One in terms:
            other = terms[0] if terms[1] == 1 else terms[1]
            if isinstance(other, sympy.exp) and other.args[0].could_extract_minus_sign():
                return sigmoid(-other.args[0])
        return None
    if not isinstance(e, sympy.Mul):
        return None
    for f in e.args:
        if isinstance(f, sympy.Pow) and f.exp == -1 and isinstance(f.base, sympy.Add) \
                and len(f.base.args) == 2 and sympy.S.One in f.base.args:
            other = f.base.args[0] if f.base.args[1] == 1 else f.base.args[1]
            if isinstance(other, sympy.exp) and other in e.args:
                rest = [a for a in e.args if a not in (f, other)]
                return sympy.Mul(sigmoid(other.args[0]), *rest)
    return None


def _transposes(a: Any, b: Any) -> bool:
    """Whether ``a`` is ``b.T`` (also as SymPy spells a transposed sum or product)."""
    return a == b.T or a.T.doit() == b.doit()


def sum_of_squares(e: Any) -> Optional[Any]:
    """``(x.T*x)[0, 0]``, ``Trace(X.T*X)`` and ``(1.T*HadamardPower(v, 2))[0, 0]`` are
    squared norms."""
    if isinstance(e, sympy.Trace):
        p = e.arg
        if isinstance(p, MatMul) and len(p.args) == 2 and _transposes(*p.args):
            return Norm(p.args[1]) ** 2
        return None
    if not isinstance(e, MatrixElement) or e.parent.shape != (1, 1):
        return None
    p = e.parent
    if not isinstance(p, MatMul):
        return None
    args = p.args
    if len(args) == 2 and _transposes(*args):
        return Norm(args[1]) ** 2
    if ones(args[0]) and isinstance(args[1], HadamardPower) and args[1].exp == 2 and \
            (len(args) == 2 or (len(args) == 3 and ones(args[2]))):
        return Norm(args[1].base) ** 2
    return None


def total(e: Any) -> Optional[Any]:
    """``(c*1.T*x)[0, 0]`` (and ``(c*1.T*X*1)[0, 0]``) is ``c*sum(x)``."""
    if not isinstance(e, MatrixElement) or e.parent.shape != (1, 1):
        return None
    c, p = split(e.parent)
    if not isinstance(p, MatMul) or not p.args or not ones(p.args[0]):
        return None
    args = list(p.args)
    if len(args) not in (2, 3) or (len(args) == 3 and not ones(args[2])):
        return None
    return c * Total(args[1])


SIMPLEX: ContextVar[frozenset] = ContextVar("simplex", default=frozenset())
"""The names of the variables assumed probability vectors (``sd.var(..., simplex=True)``)
in the closed form being rewritten; ``readable(..., simplex=names)`` sets it."""


def simplex_sum(e: Any) -> Optional[Any]:
    """``sum(p)`` is 1 for a probability vector ``p`` (the closed form is checked at
    points that satisfy the assumption)."""
    if isinstance(e, Total) and isinstance(e.args[0], sympy.MatrixSymbol) and \
            e.args[0].name in SIMPLEX.get():
        return sympy.S.One
    return None


def inner(e: Any) -> Optional[Any]:
    """``sum(HadamardProduct(u, v))`` of two columns is ``(u.T*v)[0, 0]``."""
    if not isinstance(e, Total) or not isinstance(e.args[0], HadamardProduct):
        return None
    h = e.args[0]
    if len(h.args) != 2 or h.shape[1] != 1:
        return None
    u, v = h.args
    return Entry(MatMul(u.T, v))


def logsumexp(e: Any) -> Optional[Any]:
    """``log(sum(exp.(x)))`` is ``logsumexp(x)``."""
    if isinstance(e, sympy.log) and isinstance(e.args[0], Total) and \
            fn_name(e.args[0].args[0]) == "exp":
        return LogSumExp(e.args[0].args[0].expr)
    return None


def softmax_ratio(e: Any) -> Optional[Any]:
    """``exp.(x)/sum(exp.(x))`` is ``softmax(x)``."""
    if not isinstance(e, MatMul):
        return None
    c, m = split(e)
    if fn_name(m) != "exp":
        return None
    for t, k in c.as_powers_dict().items():
        # the same exp.(x), whichever dummy its Lambda was written with
        if k == -1 and isinstance(t, Total) and fn_name(t.args[0]) == "exp" \
                and t.args[0].expr == m.expr:
            return scaled(c * t, Softmax(m.expr))
    return None


def softmax(e: Any) -> Optional[Any]:
    """``exp.(x - logsumexp(x)*1)`` is ``softmax(x)``."""
    if fn_name(e) != "exp" or not isinstance(e.expr, MatAdd):
        return None
    for shift in e.expr.args:
        c, m = split(shift)
        if ones(m) and isinstance(-c, LogSumExp):
            rest = [a for a in e.expr.args if a is not shift]
            x = rest[0] if len(rest) == 1 else MatAdd(*rest)
            if x == (-c).args[0]:
                return Softmax(x)
    return None
