"""The functions matrix notation can call, as term makers: ``tanh.(A)``, ``relu'.(A)``,
``Trace(A)``, ``HadamardProduct(A, B)``, ``where(c, a, b)`` ...

``matrix_functions(builder)`` is the builder's table, name -> function of terms. Names
with a trailing ``PRIME`` are derivatives (``relu'`` is read as the name ``reluʹ``).
Imports symdiff.errors and the claims' ``terms``, ``sizes`` and ``reading``.

>>> from symdiff.graph.claims.builder import MatrixBuilder
>>> b = MatrixBuilder({})
>>> b.functions["HadamardProduct"](b.number_term(2.0), b.number_term(3.0)).params
6.0
>>> b.functions["tanh" + PRIME](b.number_term(0.5)).kind
's'
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable

from symdiff.errors import ParseError
from symdiff.graph.claims.reading import PRIME
from symdiff.graph.claims.sizes import unify
from symdiff.graph.claims.terms import Term

ELEMENTWISE = ("exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs",
               "sign")
"""Functions applied entry by entry; each has its derivative, the name with ``PRIME``."""
_SQUARE = {"Trace": "trace", "trace": "trace", "Determinant": "det", "det": "det",
           "logdet": "logdet", "Inverse": "inv", "inv": "inv"}
_REDUCE = {"sum": "sum", "mean": "mean", "logsumexp": "logsumexp", "norm": "norm"}


def matrix_functions(b: Any) -> dict[str, Callable[..., Term]]:
    """Name -> function of terms, making its terms with ``b`` (a ``MatrixBuilder``)."""
    fns: dict[str, Callable[..., Term]] = {}
    for name in ELEMENTWISE:
        fns[name] = functools.partial(_elementwise, b, name)
        fns[name + PRIME] = functools.partial(_derivative, b, name)
    fns["Abs"], fns["Abs" + PRIME] = fns["abs"], fns["abs" + PRIME]
    for name, op in _SQUARE.items():
        fns[name] = functools.partial(_square, b, op)
    for name, op in _REDUCE.items():
        fns[name] = functools.partial(_reduce, b, op)
    fns["softmax"] = functools.partial(_softmax, b)
    transpose = functools.partial(_transpose, b)
    fns.update({"Transpose": transpose, "transpose": transpose,
                "HadamardProduct": functools.partial(_hadamard, b),
                "HadamardPower": functools.partial(_hadamard_power, b),
                "maximum": functools.partial(_extremum, b, "maximum"),
                "Max": functools.partial(_extremum, b, "maximum"),
                "minimum": functools.partial(_extremum, b, "minimum"),
                "Min": functools.partial(_extremum, b, "minimum"),
                "where": functools.partial(_where, b),
                "step": functools.partial(_step, b), "Heaviside": functools.partial(_step, b)})
    fns.update(_more_functions(b))
    return fns


def _arity(name: str, args: tuple, *counts: int) -> None:
    if len(args) not in counts:
        want = " or ".join(map(str, counts))
        raise ParseError(f"'{name.replace(PRIME, chr(39))}' takes {want} argument"
                         f"{'s' if counts != (1,) else ''}, got {len(args)}")


def _elementwise(b: Any, op: str, *args: Term) -> Term:
    _arity(op, args, 1)
    return b.elementwise(op, args[0])


def _derivative(b: Any, op: str, *args: Term) -> Term:
    _arity(op + PRIME, args, 1)
    x, e = args[0], b.elementwise
    one = b.number_term(1.0)
    if op == "relu":
        return e("step", x, h0=0.0)
    if op in ("abs", "sign"):
        return e("sign", x) if op == "abs" else e("mul", b.number_term(0.0), x)
    if op == "exp":
        return e("exp", x)
    if op == "log":
        return e("div", one, x)
    if op in ("sin", "cos"):
        return e("cos", x) if op == "sin" else e("neg", e("sin", x))
    if op in ("tan", "tanh"):
        sq = e("pow", e(op, x), p=2)
        return e("add", one, sq) if op == "tan" else e("sub", one, sq)
    if op == "sigmoid":
        s = e("sigmoid", x)
        return e("mul", s, e("sub", one, s))
    return e("div", b.number_term(0.5), e("sqrt", x))  # sqrt


def _square(b: Any, op: str, *args: Term) -> Term:
    _arity(op, args, 1)
    x = b.as_matrix(args[0])
    if x.kind != "m" or not unify(x.rows, x.cols):
        raise ParseError(f"{op} needs a square matrix, got {x.shape_text()}")
    if op == "inv":
        return b.term("m", "reduce", (x,), op, x.rows, x.cols)
    return b.term("s", "reduce", (x,), op)


def _reduce(b: Any, op: str, *args: Term) -> Term:
    _arity(op, args, 1)
    x = b.as_matrix(args[0])
    if x.kind == "s":
        if op == "norm":
            return b.elementwise("abs", x)
        return x
    return b.term("s", "reduce", (x,), op)


def _softmax(b: Any, *args: Term) -> Term:
    """softmax(x): exp.(x)/sum(exp.(x)) over all entries (the form symdiff prints)."""
    _arity("softmax", args, 1)
    x = b.as_matrix(args[0])
    return b.term(x.kind, "reduce", (x,), "softmax", x.rows, x.cols)


def _transpose(b: Any, *args: Term) -> Term:
    _arity("Transpose", args, 1)
    return b.attribute(args[0], "T")


def _hadamard(b: Any, *args: Term) -> Term:
    if len(args) < 2:
        raise ParseError("HadamardProduct takes two or more arguments")
    out = args[0]
    for a in args[1:]:
        out = b.elementwise("mul", out, a)
    return out


def _hadamard_power(b: Any, *args: Term) -> Term:
    _arity("HadamardPower", args, 2)
    x, p = args
    if p.kind == "m":
        raise ParseError("HadamardPower: the exponent must be a number")
    k = b.constant_value(p)
    if k is None:
        return b.elementwise("pow_tensor", x, p)
    return b.elementwise("pow", x, p=int(k) if float(k).is_integer() and abs(k) < 2**53 else k)


def _extremum(b: Any, op: str, *args: Term) -> Term:
    if len(args) < 2:
        raise ParseError(f"{op} takes two or more arguments")
    out = args[0]
    for a in args[1:]:
        out = b.elementwise(op, out, a)
    return out


def _where(b: Any, *args: Term) -> Term:
    _arity("where", args, 3)
    if not args[0].boolean:
        raise ParseError("where: the condition must be a comparison such as x > 0")
    return b.elementwise("where", *args)


def _step(b: Any, *args: Term) -> Term:
    _arity("step", args, 1, 2)
    h0 = 0.5 if len(args) == 1 else b.constant_value(args[1])
    if h0 is None:
        raise ParseError("step/Heaviside: the value at 0 must be a number")
    return b.elementwise("step", args[0], h0=float(h0))


# -- issue 14: elementwise functions under numpy's names, and SymPy's spellings of the
#    inverse functions (matrix closed forms print asin.(X), atan2(...))

MORE_ELEMENTWISE = {
    "log1p": "log1p", "expm1": "expm1", "square": "square", "reciprocal": "reciprocal",
    "cbrt": "cbrt", "exp2": "exp2", "log2": "log2", "log10": "log10", "arcsin": "arcsin",
    "asin": "arcsin", "arccos": "arccos", "acos": "arccos", "arctan": "arctan",
    "atan": "arctan", "sinh": "sinh", "cosh": "cosh", "arcsinh": "arcsinh",
    "asinh": "arcsinh", "arccosh": "arccosh", "acosh": "arccosh", "arctanh": "arctanh",
    "atanh": "arctanh", "erf": "erf", "softplus": "softplus"}
"""Name -> row of the one-input functions; each has its derivative, the name with PRIME."""
MORE_MULTI = {"arctan2": ("arctan2", 2), "atan2": ("arctan2", 2),
              "logaddexp": ("logaddexp", 2), "hypot": ("hypot", 2), "clip": ("clip", 3)}
"""Name -> (row, number of arguments) of the functions of two and three inputs."""


def _more_functions(b: Any) -> dict[str, Callable[..., Term]]:
    fns: dict[str, Callable[..., Term]] = {}
    for name, op in MORE_ELEMENTWISE.items():
        fns[name] = functools.partial(_named, b, name, op)
        fns[name + PRIME] = functools.partial(_more_derivative, b, name, op)
    for name, (op, n) in MORE_MULTI.items():
        fns[name] = functools.partial(_multi, b, name, op, n)
    return fns


def _named(b: Any, name: str, op: str, *args: Term) -> Term:
    _arity(name, args, 1)
    return b.elementwise(op, args[0])


def _multi(b: Any, name: str, op: str, n: int, *args: Term) -> Term:
    _arity(name, args, n)
    return b.elementwise(op, *args)


def _more_derivative(b: Any, name: str, op: str, *args: Term) -> Term:
    _arity(name + PRIME, args, 1)
    x, e, num = args[0], b.elementwise, b.number_term
    one = num(1.0)
    sq = e("pow", x, p=2)
    if op in ("log1p", "arctan", "arctanh"):
        return e("div", one, e("add", one, x) if op == "log1p" else
                 e("add", one, sq) if op == "arctan" else e("sub", one, sq))
    if op in ("arcsin", "arccos"):
        d = e("div", one, e("sqrt", e("sub", one, sq)))
        return d if op == "arcsin" else e("neg", d)
    if op in ("arcsinh", "arccosh"):
        return e("div", one, e("sqrt", e("add" if op == "arcsinh" else "sub", sq, one)))
    if op in ("log2", "log10"):
        return e("div", one, e("mul", x, num(math.log(2.0 if op == "log2" else 10.0))))
    if op == "expm1":
        return e("exp", x)
    if op == "square":
        return e("mul", num(2.0), x)
    if op == "reciprocal":
        return e("neg", e("pow", x, p=-2))
    if op == "cbrt":
        return e("div", one, e("mul", num(3.0), e("pow", e("cbrt", x), p=2)))
    if op == "exp2":
        return e("mul", num(math.log(2.0)), e("exp2", x))
    if op in ("sinh", "cosh"):
        return e("cosh" if op == "sinh" else "sinh", x)
    if op == "erf":
        return e("mul", num(2.0 / math.sqrt(math.pi)), e("exp", e("neg", sq)))
    return e("sigmoid", x)  # softplus
