"""Formulas as a person writes them: the rewrite rules applied to every closed form.

Reverse mode builds a gradient out of what each op contributes, so its literal closed
form carries the scaffolding: ``HadamardProduct(a*1.T, 1*b.T)`` for an outer product,
``(2*t)*(1/t*x)`` for ``2*x``, ``0.333333333333333`` for the 1/3 of a mean, and
``exp.(x - log(1.T*exp.(x))*1)`` for ``softmax(x)``. ``readable(expr)`` rewrites such
patterns, bottom-up, until none applies. ``RULES`` lists them (pattern -> form); each is
an identity, proven by SymPy or by numbers in ``tests/symbolic/test_readable.py``, and
the closed form they produce is checked against the graph's values again
(``closed_form.validate``) before it is shown. The printed forms read back through the
claim notation (``norm(x)``, ``softmax(x)``, ``sigmoid.(x)``).

Only the symbolic side uses these forms: the numeric evaluator never sees them.

May import: numpy, sympy, ``symdiff.symbolic`` (notation, named, functions).

>>> import sympy
>>> from symdiff.symbolic.notation import Ones
>>> a, b = sympy.MatrixSymbol("a", 3, 1), sympy.MatrixSymbol("b", 2, 1)
>>> print(readable(sympy.HadamardProduct(a * Ones(1, 2), Ones(3, 1) * b.T)))
a*b.T
>>> print(readable(sympy.Float(1 / 3) * a))
a/3
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Optional

import sympy
from sympy import HadamardPower, HadamardProduct, MatAdd
from sympy import MatMul as _MatMul
from sympy.matrices.expressions.matexpr import MatrixElement

from symdiff.symbolic.functions import sigmoid
from symdiff.symbolic.named import LogSumExp, Norm, MatTimes, Softmax, Total
from symdiff.symbolic.notation import Elementwise

MAX_DENOMINATOR = 10 ** 6
"""A float that is not a short decimal is shown as the fraction p/q (q up to this) it
equals to the last bit: the 1/3 of a mean over 3 entries, the 1/7000 of one over 7000."""

SHORT_DECIMAL = 6
"""Floats of at most this many significant digits (0.5, 2.5, 0.001) are shown as
written; integral ones (1.0) as integers."""


@dataclass(frozen=True)
class Rule:
    """One rewrite: ``pattern`` (as printed before) -> ``form`` (as printed after);
    ``apply(expr)`` is the rewritten expression, or None where it does not match."""

    name: str
    pattern: str
    form: str
    apply: Callable[[Any], Optional[Any]]


def _is_matrix(e: Any) -> bool:
    return bool(getattr(e, "is_Matrix", False))


def _fn_name(e: Any) -> Optional[str]:
    """``"exp"`` for ``exp.(x)`` (an elementwise function of one argument), else None."""
    if not isinstance(e, Elementwise):
        return None
    lam = e.function
    d, body = lam.variables[0], lam.expr
    if isinstance(body, sympy.Function) and body.args == (d,):
        return type(body).__name__
    return None


def _apply(fn: Any, x: Any) -> Any:
    t = sympy.Dummy("t", real=True)
    return Elementwise(sympy.Lambda(t, fn(t)), x)


def _split(e: Any) -> tuple[Any, Any]:
    """(scalar coefficient, matrix part) of a matrix expression."""
    if isinstance(e, _MatMul):
        scalars = [a for a in e.args if not _is_matrix(a)]
        mats = [a for a in e.args if _is_matrix(a)]
        if scalars:
            return sympy.Mul(*scalars), (mats[0] if len(mats) == 1 else _MatMul(*mats))
    return sympy.S.One, e


def _scaled(c: Any, m: Any) -> Any:
    if c == 1:
        return m
    if isinstance(m, _MatMul):
        c0, rest = _split(m)
        return MatTimes(c * c0, *(rest.args if isinstance(rest, _MatMul) else (rest,)))
    return MatTimes(c, m)


def _ones(e: Any) -> bool:
    return isinstance(e, sympy.OneMatrix)


# -- the rules ------------------------------------------------------------------------

def _rational(e: Any) -> Optional[Any]:
    if not isinstance(e, sympy.Float):
        return None
    f = float(e)
    if f != f or abs(f) >= 2 ** 53:     # nan, inf, and integers a float cannot spell
        return None
    if f.is_integer() and abs(f) < 2 ** 53:
        return sympy.Integer(int(f))
    digits = repr(abs(f)).split("e")[0].replace(".", "").strip("0")
    if len(digits) <= SHORT_DECIMAL:
        return None
    r = Fraction(f).limit_denominator(MAX_DENOMINATOR)
    return sympy.Rational(r.numerator, r.denominator) if float(r) == f else None


def _sign_cancel(e: Any) -> Optional[Any]:
    """d*sign(d)/|d| = 1 wherever it is defined (d != 0)."""
    if not isinstance(e, sympy.Mul):
        return None
    powers = e.as_powers_dict()
    for s in [f for f in powers if isinstance(f, sympy.sign)]:
        d = s.args[0]
        if powers[s] == 1 and powers.get(d, 0) >= 1 and powers.get(sympy.Abs(d), 0) <= -1:
            powers[s] -= 1
            powers[d] -= 1
            powers[sympy.Abs(d)] += 1
            return sympy.Mul(*[b ** k for b, k in powers.items() if k != 0])
    return None


def _matmul_flat(e: Any) -> Optional[Any]:
    """Nested products flattened, scalars gathered into one coefficient (where they
    cancel), identity factors dropped."""
    if not isinstance(e, _MatMul):
        return None
    scalars, mats = [], []
    for a in e.args:
        if isinstance(a, _MatMul):
            for b in a.args:
                (mats if _is_matrix(b) else scalars).append(b)
        elif _is_matrix(a):
            mats.append(a)
        else:
            scalars.append(a)
    kept = [m for m in mats if not isinstance(m, sympy.Identity)] or mats[:1]
    c = sympy.Mul(*scalars)
    if c == 0 and kept:
        return sympy.ZeroMatrix(*e.shape)
    if c == 1 and len(kept) == 1:
        new = kept[0]
    elif c == 1 and not any(isinstance(m, HadamardProduct) for m in kept):
        new = _MatMul(*kept)      # prints as SymPy's own and equals it
    else:
        new = MatTimes(*(([] if c == 1 else [c]) + kept))
    return None if new == e else new


def _hadamard(e: Any) -> Optional[Any]:
    """Nested Hadamard products flattened, scalars pulled out, ones dropped, and the
    outer product ``HadamardProduct(a*1.T, 1*b.T)`` as ``a*b.T``."""
    if not isinstance(e, HadamardProduct):
        return None
    coeff, factors = sympy.S.One, []
    stack = list(reversed(e.args))
    while stack:
        a = stack.pop()
        if isinstance(a, HadamardProduct):
            stack.extend(reversed(a.args))
            continue
        c, m = _split(a)
        coeff *= c
        factors.append(m)
    factors = [f for f in factors if not _ones(f)] or factors[:1]
    factors = _fold_sigmoid(factors)
    if len(factors) == 2:
        outer = _outer(*factors) or _outer(*factors[::-1])
        if outer is not None:
            factors = [outer]
    body = factors[0] if len(factors) == 1 else HadamardProduct(*factors)
    new = _scaled(coeff, body)
    return None if new == e else new


def _outer(col: Any, row: Any) -> Optional[Any]:
    """``HadamardProduct(a*1.T, 1*b.T)`` = ``a*b.T`` (a column repeated, a row repeated)."""
    if not (isinstance(col, _MatMul) and isinstance(row, _MatMul)):
        return None
    if len(col.args) < 2 or len(row.args) < 2:
        return None
    if not (_ones(col.args[-1]) and col.args[-1].shape[0] == 1):
        return None
    if not (_ones(row.args[0]) and row.args[0].shape[1] == 1):
        return None
    left = _MatMul(*col.args[:-1]) if len(col.args) > 2 else col.args[0]
    right = _MatMul(*row.args[1:]) if len(row.args) > 2 else row.args[1]
    if left.shape[1] != 1 or right.shape[0] != 1:
        return None
    return _MatMul(left, right)


def _exp_plus_one(e: Any) -> Optional[Any]:
    """``u`` when ``e`` is ``exp.(u) + 1`` (1 a matrix of ones), else None."""
    if not isinstance(e, MatAdd) or len(e.args) != 2:
        return None
    a, b = e.args
    if _ones(a):
        a, b = b, a
    if _ones(b) and _fn_name(a) == "exp":
        return a.expr
    return None


def _fold_sigmoid(factors: list) -> list:
    """``exp.(u)`` times ``HadamardPower(exp.(u) + 1, -1)`` is ``sigmoid.(u)``, and
    ``sigmoid.(u)`` times ``exp.(-u)`` is ``sigmoid.(-u)``."""
    for i, f in enumerate(factors):
        if _fn_name(f) == "sigmoid":
            for j, g in enumerate(factors):
                if j != i and _fn_name(g) == "exp" and g.expr == _negated(f.expr):
                    rest = [h for k, h in enumerate(factors) if k not in (i, j)]
                    return _fold_sigmoid([_apply(sigmoid, g.expr)] + rest)
        if not (isinstance(f, HadamardPower) and f.exp == -1):
            continue
        u = _exp_plus_one(f.base)
        if u is None:
            continue
        for j, g in enumerate(factors):
            if j != i and _fn_name(g) == "exp" and g.expr == u:
                rest = [h for k, h in enumerate(factors) if k not in (i, j)]
                return _fold_sigmoid([_apply(sigmoid, u)] + rest)
    return factors


def _negated(e: Any) -> Any:
    c, m = _split(e)
    return _scaled(-c, m)


def _sigmoid_power(e: Any) -> Optional[Any]:
    """``HadamardPower(exp.(-u) + 1, -1)`` = ``sigmoid.(u)``."""
    if not (isinstance(e, HadamardPower) and e.exp == -1):
        return None
    u = _exp_plus_one(e.base)
    if u is None:
        return None
    c, m = _split(u)
    return _apply(sigmoid, _scaled(-c, m)) if c.could_extract_minus_sign() else None


def _sigmoid_scalar(e: Any) -> Optional[Any]:
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


def _sum_of_squares(e: Any) -> Optional[Any]:
    """``(x.T*x)[0, 0]``, ``Trace(X.T*X)`` and ``(1.T*HadamardPower(v, 2))[0, 0]`` are
    squared norms."""
    if isinstance(e, sympy.Trace):
        p = e.arg
        if isinstance(p, _MatMul) and len(p.args) == 2 and p.args[0] == p.args[1].T:
            return Norm(p.args[1]) ** 2
        return None
    if not isinstance(e, MatrixElement) or e.parent.shape != (1, 1):
        return None
    p = e.parent
    if not isinstance(p, _MatMul):
        return None
    args = p.args
    if len(args) == 2 and (args[0] == args[1].T or args[0].T.doit() == args[1].doit()):
        return Norm(args[1]) ** 2
    if _ones(args[0]) and isinstance(args[1], HadamardPower) and args[1].exp == 2 and \
            (len(args) == 2 or (len(args) == 3 and _ones(args[2]))):
        return Norm(args[1].base) ** 2
    return None


def _total(e: Any) -> Optional[Any]:
    """``(1.T*x)[0, 0]`` (and ``(1.T*X*1)[0, 0]``) is ``sum(x)``."""
    if not isinstance(e, MatrixElement) or e.parent.shape != (1, 1):
        return None
    p = e.parent
    if not isinstance(p, _MatMul) or not p.args or not _ones(p.args[0]):
        return None
    args = [a for a in p.args if getattr(a, "is_Matrix", False)]
    if len(p.args) != len(args) or len(args) not in (2, 3):
        return None
    if len(args) == 3 and not _ones(args[2]):
        return None
    return Total(args[1])


def _logsumexp(e: Any) -> Optional[Any]:
    """``log(sum(exp.(x)))`` is ``logsumexp(x)``."""
    if isinstance(e, sympy.log) and isinstance(e.args[0], Total) and \
            _fn_name(e.args[0].args[0]) == "exp":
        return LogSumExp(e.args[0].args[0].expr)
    return None


def _softmax_ratio(e: Any) -> Optional[Any]:
    """``exp.(x)/sum(exp.(x))`` is ``softmax(x)``."""
    if not isinstance(e, _MatMul):
        return None
    c, m = _split(e)
    if _fn_name(m) != "exp":
        return None
    for total, k in c.as_powers_dict().items():
        # the same exp.(x), whichever dummy its Lambda was written with
        if k == -1 and isinstance(total, Total) and _fn_name(total.args[0]) == "exp" \
                and total.args[0].expr == m.expr:
            return _scaled(c * total, Softmax(m.expr))
    return None


def _softmax(e: Any) -> Optional[Any]:
    """``exp.(x - logsumexp(x)*1)`` is ``softmax(x)``."""
    if _fn_name(e) != "exp" or not isinstance(e.expr, MatAdd):
        return None
    for shift in e.expr.args:
        c, m = _split(shift)
        if _ones(m) and isinstance(-c, LogSumExp):
            rest = [a for a in e.expr.args if a is not shift]
            x = rest[0] if len(rest) == 1 else MatAdd(*rest)
            if x == (-c).args[0]:
                return Softmax(x)
    return None


RULES: tuple[Rule, ...] = (
    Rule("rational", "0.333333333333333", "1/3", _rational),
    Rule("sign_cancel", "d*sign(d)/Abs(d)", "1", _sign_cancel),
    Rule("matmul_flat", "(2*t)*(1/t*x)", "2*x", _matmul_flat),
    Rule("hadamard", "HadamardProduct(a*1.T, 1*b.T); HadamardProduct(1, c*A, "
         "exp.(u), HadamardPower(exp.(u) + 1, -1))", "a*b.T; c*HadamardProduct(A, "
         "sigmoid.(u))", _hadamard),
    Rule("sigmoid_power", "HadamardPower(exp.(-u) + 1, -1)", "sigmoid.(u)", _sigmoid_power),
    Rule("sigmoid", "exp(u)/(exp(u) + 1); 1/(1 + exp(-u))", "sigmoid(u)", _sigmoid_scalar),
    Rule("norm", "(x.T*x)[0, 0]; Trace(X.T*X); (1.T*HadamardPower(v, 2))[0, 0]",
         "norm(x)**2", _sum_of_squares),
    Rule("sum", "(1.T*x)[0, 0]; (1.T*X*1)[0, 0]", "sum(x)", _total),
    Rule("logsumexp", "log(sum(exp.(x)))", "logsumexp(x)", _logsumexp),
    Rule("softmax_ratio", "exp.(x)/sum(exp.(x))", "softmax(x)", _softmax_ratio),
    Rule("softmax", "exp.(x - logsumexp(x)*1)", "softmax(x)", _softmax),
)
"""The rewrite rules, tried in this order at every subexpression until none applies."""

SCALAR_RULES = ("rational", "sign_cancel")
"""The rules applied to the closed forms of scalar graphs (``x**2 + 3``), whose printed
form SymPy's own canonical order already makes readable."""

_MAX_PASSES = 12


def _rewrite_node(e: Any, rules: tuple) -> Any:
    for _ in range(_MAX_PASSES):
        for rule in rules:
            new = rule.apply(e)
            if new is not None and new != e:
                e = new
                break
        else:
            return e
    return e


def _children(e: Any) -> tuple:
    if e.is_Atom or isinstance(e, (sympy.MatrixSymbol, sympy.OneMatrix, sympy.ZeroMatrix,
                                   sympy.Identity, sympy.MatrixBase, sympy.BlockMatrix)):
        return ()
    if isinstance(e, Elementwise):
        return (e.expr,)
    if isinstance(e, sympy.Lambda):
        return ()
    return e.args


def _rebuild(e: Any, kids: tuple, new: list) -> Any:
    if all(a is b for a, b in zip(kids, new)):
        return e
    if isinstance(e, Elementwise):
        return Elementwise(e.function, new[0])
    if isinstance(e, _MatMul):
        return _MatMul(*new)      # the rules choose the class that prints it
    return e.func(*new)


def readable(expr: Any, scalar: bool = False) -> Any:
    """``expr`` with ``RULES`` applied bottom-up until none applies (for the closed form
    of a scalar graph, ``scalar=True``: only ``SCALAR_RULES``). The walk is iterative.

    >>> import sympy
    >>> from symdiff.symbolic.notation import Entry
    >>> x = sympy.MatrixSymbol("x", 3, 1)
    >>> t = sympy.sqrt(Entry(x.T * x))
    >>> print(readable(MatTimes(2 * t, MatTimes(1 / t, x))), readable(t))
    2*x norm(x)
    """
    rules = tuple(r for r in RULES if r.name in SCALAR_RULES) if scalar else RULES
    if isinstance(expr, sympy.MatrixBase):
        return expr.applyfunc(lambda v: readable(v, scalar))
    if isinstance(expr, sympy.NDimArray):
        return expr.applymap(lambda v: readable(v, scalar))
    done: dict = {}
    stack = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if e in done:
            continue
        kids = _children(e)
        if not ready and any(k not in done for k in kids):
            stack.append((e, True))
            stack.extend((k, False) for k in kids if k not in done)
            continue
        try:
            built = _rebuild(e, kids, [done[k] for k in kids])
            done[e] = _rewrite_node(built, rules)
        except (TypeError, ValueError, AttributeError, NotImplementedError):
            # SymPy refusing a rebuilt combination: keep this subexpression as it was
            done[e] = e
    return done[expr]
