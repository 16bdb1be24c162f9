"""Formulas as a person writes them: the rewrite rules applied to every closed form.

Reverse mode builds a gradient out of what each op contributes, so its literal closed
form carries the scaffolding: ``HadamardProduct(a*1.T, 1*b.T)`` for an outer product,
``(2*t)*(1/t*x)`` for ``2*x``, ``0.333333333333333`` for the 1/3 of a mean,
``exp.(x - log(1.T*exp.(x))*1)`` for ``softmax(x)``, ``A*x + A.T*x`` for ``(A + A.T)*x``
and ``-a + x`` for ``x - a``. ``readable(expr)`` rewrites such patterns, bottom-up,
until none applies. ``RULES`` lists them, pattern -> form:

=================  ==================================================  =====================
rule               pattern                                             form
=================  ==================================================  =====================
rational           ``0.333333333333333``, ``1.0``                      ``1/3``, ``1``
sign_cancel        ``d*sign(d)/Abs(d)``                                ``1``
matmul_flat        ``(2*t)*(1/t*x)``, ``A*I``                          ``2*x``, ``A``
hadamard           ``HadamardProduct(a*1.T, 1*b.T)``;                  ``a*b.T``;
                   ``HadamardProduct(1, c*u, HadamardPower(u, -1))``;  ``c*1``;
                   ``HadamardProduct(c*I, 1*u.T)``;                    ``c*diag(u)``;
                   ``HadamardProduct(M, 1*u.T)``                       ``M*diag(u)``
diagonals          ``diag(a)*diag(b)``; ``diag(a) - diag(b)``         ``diag(HadamardProduct(a,
                                                                       b))``; ``diag(a - b)``
inverse_cancel     ``B*(A*B)**(-1)``, ``(A*B)**(-1)*A`` (squares)       ``A**(-1)``, ``B**(-1)``
norm_sign          ``norm(-u)``                                        ``norm(u)``
elementwise_       ``tanh.(x.T*X.T)``                                  ``tanh.(X*x).T``
transpose
sigmoid_power      ``HadamardPower(exp.(-u) + 1, -1)``                 ``sigmoid.(u)``
sigmoid            ``exp(u)/(exp(u) + 1)``; ``1/(1 + exp(-u))``          ``sigmoid(u)``
norm               ``(x.T*x)[0, 0]``; ``Trace(X.T*X)``;                 ``norm(x)**2``
                   ``(1.T*HadamardPower(v, 2))[0, 0]``
sum                ``(c*1.T*x)[0, 0]``; ``(1.T*X*1)[0, 0]``             ``c*sum(x)``
simplex_sum        ``sum(p)``, ``p`` a probability vector              ``1``
inner              ``sum(HadamardProduct(u, v))`` (columns)            ``(u.T*v)[0, 0]``
logsumexp          ``log(sum(exp.(x)))``                               ``logsumexp(x)``
softmax_ratio      ``exp.(x)/sum(exp.(x))``                            ``softmax(x)``
softmax            ``exp.(x - logsumexp(x)*1)``                        ``softmax(x)``
collect            ``X.T**(-1) + X.T**(-1)``                           ``2*X.T**(-1)``
distribute_minus   ``-(a - x)``                                        ``x - a``
transposed_sum     ``-a.T + x.T``; ``b.T*X.T + c.T`` (rows)              ``(x - a).T``;
                                                                       ``(X*b + c).T``
expand             ``-HadamardProduct(t, 1 - s) + HadamardProduct(1 -   ``s - t``
                   t, s)`` (when shorter)
factor             ``A*x + A.T*x``; ``A.T*s - A.T*t`` (when no longer)  ``(A + A.T)*x``;
                                                                       ``A.T*(s - t)``;
                   ``0.5*A - 0.5*B`` (when shorter)                    ``0.5*(A - B)``
order              ``-a + x`` (a sum, as SymPy prints it)              ``x - a`` (``MatSum``)
=================  ==================================================  =====================

Each is an identity (where the pattern is defined: ``u`` and ``HadamardPower(u, -1)``
cancel where ``u`` has no zero entry, as the product needs), proven by SymPy or by
numbers in ``tests/symbolic/test_readable.py``, and the closed form they produce is
checked against the graph's values again (``closed_form.validate``) before it is shown.
The printed forms read back through the claim notation (``norm(x)``, ``softmax(x)``,
``sigmoid.(x)``); ``MatSum`` changes only the order a sum prints in, never its value.
The rules live in ``product_rules`` (numbers and products), ``named_rules`` (named
functions), ``sums`` (sums, printed by ``printed_sums``) and ``polynomials`` (``expand``);
this module holds the table and the walk.

Only the symbolic side uses these forms: the numeric evaluator never sees them.

May import: sympy, ``symdiff.symbolic`` (notation, named, rewriting, product_rules,
named_rules, sums, polynomials).

>>> import sympy
>>> from symdiff.symbolic.notation import Ones
>>> a, b = sympy.MatrixSymbol("a", 3, 1), sympy.MatrixSymbol("b", 2, 1)
>>> print(readable(sympy.HadamardProduct(a * Ones(1, 2), Ones(3, 1) * b.T)))
a*b.T
>>> print(readable(sympy.Float(1 / 3) * a))
a/3
"""
from __future__ import annotations

from typing import Any, Iterable

import sympy
from sympy import MatMul as _MatMul

from symdiff.symbolic import named_rules as nr
from symdiff.symbolic import polynomials
from symdiff.symbolic import product_rules as pr
from symdiff.symbolic import sums
from symdiff.symbolic.notation import Elementwise
from symdiff.symbolic.rewriting import Rule

RULES: tuple[Rule, ...] = (
    Rule("rational", "0.333333333333333", "1/3", pr.rational),
    Rule("sign_cancel", "d*sign(d)/Abs(d)", "1", pr.sign_cancel),
    Rule("matmul_flat", "(2*t)*(1/t*x)", "2*x", pr.matmul_flat),
    Rule("hadamard", "HadamardProduct(a*1.T, 1*b.T); HadamardProduct(1, c*A, "
         "exp.(u), HadamardPower(exp.(u) + 1, -1)); HadamardProduct(u, "
         "HadamardPower(u, -1)); HadamardProduct(c*I, 1*u.T)",
         "a*b.T; c*HadamardProduct(A, sigmoid.(u)); 1; c*diag(u)",
         pr.hadamard),
    Rule("diagonals", "diag(a)*diag(b); diag(a) - diag(b)",
         "diag(HadamardProduct(a, b)); diag(a - b)", pr.diagonals),
    Rule("inverse_cancel", "B*(A*B)**(-1); (A*B)**(-1)*A", "A**(-1); B**(-1)",
         pr.inverse_cancel),
    Rule("norm_sign", "norm(-u)", "norm(u)", pr.norm_sign),
    Rule("elementwise_transpose", "tanh.(x.T*X.T)", "tanh.(X*x).T",
         pr.elementwise_transpose),
    Rule("sigmoid_power", "HadamardPower(exp.(-u) + 1, -1)", "sigmoid.(u)",
         nr.sigmoid_power),
    Rule("sigmoid", "exp(u)/(exp(u) + 1); 1/(1 + exp(-u))", "sigmoid(u)",
         nr.sigmoid_scalar),
    Rule("norm", "(x.T*x)[0, 0]; Trace(X.T*X); (1.T*HadamardPower(v, 2))[0, 0]",
         "norm(x)**2", nr.sum_of_squares),
    Rule("sum", "(c*1.T*x)[0, 0]; (1.T*X*1)[0, 0]", "c*sum(x)", nr.total),
    Rule("simplex_sum", "sum(p), p a probability vector (simplex=True)", "1",
         nr.simplex_sum),
    Rule("inner", "sum(HadamardProduct(u, v))", "(u.T*v)[0, 0]", nr.inner),
    Rule("logsumexp", "log(sum(exp.(x)))", "logsumexp(x)", nr.logsumexp),
    Rule("softmax_ratio", "exp.(x)/sum(exp.(x))", "softmax(x)", nr.softmax_ratio),
    Rule("softmax", "exp.(x - logsumexp(x)*1)", "softmax(x)", nr.softmax),
    Rule("collect", "X.T**(-1) + X.T**(-1)", "2*X.T**(-1)", sums.collect),
    Rule("distribute_minus", "-(a - x)", "x - a", sums.distribute_minus),
    Rule("transposed_sum", "-a.T + x.T", "(x - a).T", sums.transposed_sum),
    Rule("expand", "-HadamardProduct(t, 1 - s) + HadamardProduct(1 - t, s)", "s - t",
         polynomials.expand),
    Rule("factor", "A*x + A.T*x; A.T*s - A.T*t; 0.5*A - 0.5*B",
         "(A + A.T)*x; A.T*(s - t); 0.5*(A - B)", sums.factor),
    Rule("order", "-a + x", "x - a", sums.order),
)
"""The rewrite rules, tried in this order at every subexpression until none applies."""

SCALAR_RULES = ("rational", "sign_cancel")
"""The rules applied to the closed forms of scalar graphs (``x**2 + 3``), whose printed
form SymPy's own canonical order already makes readable."""

_MAX_PASSES = 12
_MAX_DEPTH = 3
"""How deep the subexpressions a rule builds (the ``(A + A.T)`` of a factored sum) are
rewritten in turn."""


def _rewrite_node(e: Any, rules: tuple, done: dict, depth: int) -> Any:
    for _ in range(_MAX_PASSES):
        for rule in rules:
            new = rule.apply(e)
            if new is not None and (new != e or type(new) is not type(e)):
                if depth < _MAX_DEPTH:
                    # what the rule built is rewritten too; what it kept is in done
                    new = _walk(new, rules, done, depth + 1)
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


def readable(expr: Any, scalar: bool = False, simplex: Iterable[str] = ()) -> Any:
    """``expr`` with ``RULES`` applied bottom-up until none applies (for the closed form
    of a scalar graph, ``scalar=True``: only ``SCALAR_RULES``). ``simplex``: the names
    of the vectors assumed probability vectors, whose sums are 1. The walk is iterative.

    >>> import sympy
    >>> from symdiff.symbolic.named import MatTimes
    >>> from symdiff.symbolic.notation import Entry
    >>> x = sympy.MatrixSymbol("x", 3, 1)
    >>> t = sympy.sqrt(Entry(x.T * x))
    >>> print(readable(MatTimes(2 * t, MatTimes(1 / t, x))), readable(t))
    2*x norm(x)
    """
    rules = tuple(r for r in RULES if r.name in SCALAR_RULES) if scalar else RULES
    if isinstance(expr, sympy.MatrixBase):
        return expr.applyfunc(lambda v: readable(v, scalar, simplex))
    if isinstance(expr, sympy.NDimArray):
        return expr.applymap(lambda v: readable(v, scalar, simplex))
    token = nr.SIMPLEX.set(frozenset(simplex))
    try:
        return _walk(expr, rules, {}, 0)
    finally:
        nr.SIMPLEX.reset(token)


def _walk(expr: Any, rules: tuple, done: dict, depth: int) -> Any:
    """``expr`` rewritten bottom-up; ``done`` maps each subexpression seen to its
    rewritten form (and each rewritten form to itself)."""
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
            done[e] = _rewrite_node(built, rules, done, depth)
        except (TypeError, ValueError, AttributeError, NotImplementedError):
            # SymPy refusing a rebuilt combination: keep this subexpression as it was
            done[e] = e
        done.setdefault(done[e], done[e])
    return done[expr]
