"""SymPy expression -> Node graph, the inverse of the scalar closed form.

Used to turn ``sympy.diff`` of a row's formula into graph nodes (so symbolic derivatives
come from SymPy, independently of the hand-written numpy VJPs), and to read claims given
as SymPy expressions. The walk is iterative.

>>> import sympy, symdiff as sd
>>> t = sympy.Symbol("t")
>>> x = sd.var("x")
>>> node = from_sympy(sympy.cos(t)**2 - 1/t, {t: x})
>>> round(node.eval(x=2.0), 6)
-0.326822
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import sympy

from numeric import PRIMITIVES

from symdiff.errors import SymdiffError
from symdiff.graph.node import Node, apply, const
from symdiff.symbolic.functions import template

_RELATIONS = {sympy.StrictGreaterThan: "greater", sympy.GreaterThan: "greater_equal",
              sympy.StrictLessThan: "less", sympy.LessThan: "less_equal"}


@lru_cache(maxsize=None)
def _function_ops() -> dict:
    """SymPy function class -> table row, read off the rows' formulas that are one
    function of the inputs in order (``sin(x)``, ``atan2(x, y)``, ``clip(x, y, z)``)."""
    out = {}
    for name, row in PRIMITIVES.items():
        if row.kind != "elementwise" or row.params:
            continue
        t = template(name)
        if isinstance(t.expr, sympy.Function) and t.expr.args == t.args:
            out[t.expr.func] = name
    return out


def from_sympy(expr: Any, env: Mapping[Any, Node]) -> Node:
    """Build the graph of a scalar SymPy expression; ``env`` maps its symbols to nodes."""
    done: dict[Any, Node] = {}
    stack = [(sympy.sympify(expr), False)]
    while stack:
        e, ready = stack.pop()
        if e in done:
            continue
        kids = _children(e, env)
        if not ready and any(k not in done for k in kids):
            stack.append((e, True))
            stack.extend((k, False) for k in kids if k not in done)
            continue
        done[e] = _build(e, [done[k] for k in kids], env)
    return done[sympy.sympify(expr)]


def _children(e: Any, env: Mapping[Any, Node]) -> list:
    if e in env or e.is_Atom:
        return []
    if isinstance(e, sympy.Add):
        return [_positive(t) for t in e.args]
    if isinstance(e, sympy.Mul):
        num, den = _split_mul(e)
        return num + den
    if isinstance(e, sympy.Pow):
        return [e.base] if e.exp.is_Number else [e.base, e.exp]
    if isinstance(e, sympy.Piecewise):
        return [part for pair in e.args for part in pair if part is not sympy.true]
    if isinstance(e, sympy.Heaviside):
        return [e.args[0]]
    if isinstance(e, sympy.DiracDelta):
        return []
    return list(e.args)


def _positive(term: Any) -> Any:
    coeff, _ = term.as_coeff_Mul()
    return -term if coeff.is_Number and coeff < 0 else term


def _split_mul(e: Any) -> tuple[list, list]:
    """Factors of a product with a positive exponent, and (as positive powers) the rest."""
    num, den = [], []
    for f in e.args:
        if f.is_Number:
            if abs(f) != 1:
                num.append(abs(f))
            continue
        if isinstance(f, sympy.Pow) and f.exp.is_Number and f.exp < 0:
            den.append(f.base ** -f.exp)
        else:
            num.append(f)
    return num, den


def _build(e: Any, kids: list, env: Mapping[Any, Node]) -> Node:
    if e in env:
        return env[e]
    if e.is_Number or e in (sympy.pi, sympy.E):
        return const(float(e))
    if e is sympy.true or e is sympy.false:
        return const(bool(e))
    if e.is_Symbol:
        raise SymdiffError(f"the expression uses the symbol '{e}', which names no variable here")
    if isinstance(e, sympy.Add):
        acc = None
        for term, node in zip(e.args, kids):
            negative = _positive(term) is not term
            if acc is None:
                acc = apply("neg", node) if negative else node
            else:
                acc = apply("sub" if negative else "add", acc, node)
        return acc
    if isinstance(e, sympy.Mul):
        num_exprs, den_exprs = _split_mul(e)
        num = _product(kids[:len(num_exprs)])
        den = _product(kids[len(num_exprs):])
        out = num if den is None else apply("div", num if num is not None else 1.0, den)
        if out is None:
            out = const(1.0)
        return apply("neg", out) if e.as_coeff_Mul()[0] < 0 else out
    if isinstance(e, sympy.Pow):
        if not e.exp.is_Number:
            return apply("pow_tensor", kids[0], kids[1])
        p = e.exp
        if p == sympy.Rational(1, 2):
            return apply("sqrt", kids[0])
        if p == -1:
            return apply("div", 1.0, kids[0])
        if p == sympy.Rational(-1, 2):
            return apply("div", 1.0, apply("sqrt", kids[0]))
        return apply("pow", kids[0], p=int(p) if p.is_Integer else float(p))
    if isinstance(e, (sympy.Max, sympy.Min)):
        op = "maximum" if isinstance(e, sympy.Max) else "minimum"
        acc = kids[0]
        for k in kids[1:]:
            acc = apply(op, acc, k)
        return acc
    if isinstance(e, sympy.Heaviside):
        h0 = e.args[1] if len(e.args) > 1 else sympy.Rational(1, 2)
        return apply("step", kids[0], h0=float(h0))
    if isinstance(e, sympy.DiracDelta):
        return const(0.0)  # the derivative of a jump, away from the jump (kinks are flagged)
    if isinstance(e, sympy.Piecewise):
        return _piecewise(e, kids)
    if type(e) in _RELATIONS:
        return apply(_RELATIONS[type(e)], kids[0], kids[1])
    op = _function_ops().get(e.func)
    if op is not None:
        return apply(op, *kids)
    raise SymdiffError(f"no symdiff primitive for the SymPy expression {type(e).__name__}: {e}")


def _product(nodes: list) -> Node | None:
    acc = None
    for n in nodes:
        acc = n if acc is None else apply("mul", acc, n)
    return acc


def _piecewise(e: Any, kids: list) -> Node:
    # kids hold (value, condition) for each piece, the final True condition left out
    pieces = []
    it = iter(kids)
    for value, cond in e.args:
        v = next(it)
        c = None if cond is sympy.true else next(it)
        pieces.append((v, c))
    if pieces[-1][1] is not None:
        raise SymdiffError(f"Piecewise without a final (value, True) piece: {e}")
    acc = pieces[-1][0]
    for v, c in reversed(pieces[:-1]):
        acc = apply("where", c, v, acc)
    return acc
