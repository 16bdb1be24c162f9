"""Polynomial fusion: a chain of ``add``/``sub``/``mul``/``neg``/``pow`` instructions that
computes a polynomial of one array becomes one Horner evaluation, and its adjoint the
Horner evaluation of the derivative polynomial.

``sum(x**3 + 7*x**2 + 5*x + 10)`` lowers to ten instructions and, in reverse mode, about
fifteen passes over x-sized memory; fused it is ``((x + 7)*x + 5)*x + 10`` forward (five
passes, one buffer) and ``(3*x + 14)*x + 5`` backward (four passes), as a hand-written
in-place numpy version would do.

Only polynomials already written as sums of terms are fused: a product of two sums, or a
power of one, is left alone, because expanding ``(x - 1)**8`` into coefficients would
evaluate with cancellation the user's form does not have. Horner's rule on the user's own
terms has the same error bound as the terms evaluated one by one.

>>> import numpy as np
>>> from numeric import Program
>>> # sum(x**3 + 7*x**2): pow 3, pow 2, mul, add, sum
>>> prog = Program([(4,)], [np.float64(7.0)],
...                [("pow", (0,), {"p": 3}), ("pow", (0,), {"p": 2}), ("mul", (1, 3), {}),
...                 ("add", (2, 4), {}), ("sum", (5,), {})], output=6, wrt=[0])
>>> prog.fused
1
>>> value, (g,) = prog(np.array([0.0, 1.0, 2.0, -1.0]))
>>> float(value), g.tolist()
(50.0, [0.0, 17.0, 40.0, -11.0])
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

from .primitives import Domain, Primitive

MAX_DEGREE = 16
MAX_POWER = 8


def polyval(x: Any, c: tuple, out: Any = None) -> Any:
    """``c[0]*x**d + ... + c[d]`` by Horner's rule, in one buffer (``out`` if given).

    >>> polyval(np.array([2.0]), (1.0, 7.0, 5.0, 10.0)).tolist()
    [56.0]
    """
    if len(c) == 1:
        v = np.full(np.shape(x), c[0]) if out is None else out
        if out is not None:
            out[...] = c[0]
        return v
    if c[0] == 1.0:
        v = np.add(x, c[1], out=out)
    else:
        v = np.multiply(x, c[0], out=out)
        if c[1] != 0.0:
            v += c[1]
    for a in c[2:]:
        v *= x
        if a != 0.0:
            v += a
    return v


polyval.supports_out = True  # type: ignore[attr-defined]


def derivative(c: tuple) -> tuple:
    """Coefficients of the derivative polynomial.

    >>> derivative((1.0, 7.0, 5.0, 10.0))
    (3.0, 14.0, 5.0)
    """
    d = len(c) - 1
    return tuple(a * (d - i) for i, a in enumerate(c[:-1])) or (0.0,)


def uniform(g: Any) -> Optional[float]:
    """The value of a cotangent that is one number everywhere (0-d, or a broadcast view
    with all strides 0, as a reduction's adjoint hands down); ``None`` otherwise."""
    if np.ndim(g) == 0:
        return float(g)
    if isinstance(g, np.ndarray) and not any(g.strides):
        return float(g[(0,) * g.ndim])  # (reshape(-1) would copy the broadcast view)
    return None


def _polyval_vjp(g: Any, out: Any, x: Any, c: tuple, into: Any = None) -> Any:
    if into is not None and isinstance(g, np.ndarray) and np.shares_memory(into, g):
        # writing over the cotangent itself: Horner needs a buffer of its own first
        return np.multiply(polyval(x, derivative(c)), g, out=into)
    d = polyval(x, derivative(c), out=into)
    u = uniform(g)
    if u is None:
        if np.ndim(d) == 0:
            return d * g
        d *= g
    elif u != 1.0:
        d = d * u if np.ndim(d) == 0 else np.multiply(d, u, out=d)
    return d


POLYVAL = Primitive(
    "polyval", 1, "elementwise", polyval, (_polyval_vjp,),
    lambda s, c: tuple(s), "", "poly", Domain(((-3.0, 3.0),)), params=("c",),
    doc="internal: a fused polynomial (numeric.fuse); never in the table or a user's graph",
    analytic=True)
# how the code generator plans its buffers (its VJP reads no ``out``, writes ``into=``):
# the "polyval" entry of numeric/codegen/rules.py


# ---------------------------------------------------------------------------
# recognising polynomials in an instruction list
# ---------------------------------------------------------------------------

class _Poly:
    """``sum(coef[e] * base**e)``; ``base`` None: a constant. ``mono``: a single term."""

    __slots__ = ("base", "coef", "mono", "parts", "cost")

    def __init__(self, base: Optional[int], coef: dict, mono: bool, parts: tuple = (),
                 cost: int = 0):
        self.base, self.coef, self.mono, self.parts, self.cost = base, coef, mono, parts, cost

    @property
    def degree(self) -> int:
        return max(self.coef) if self.coef else 0


def _combine(a: _Poly, b: _Poly, sign: float) -> Optional[dict]:
    coef = dict(a.coef)
    for e, v in b.coef.items():
        coef[e] = coef.get(e, 0.0) + sign * v
    return coef


def _times(a: _Poly, b: _Poly) -> dict:
    coef: dict = {}
    for e1, v1 in a.coef.items():
        for e2, v2 in b.coef.items():
            coef[e1 + e2] = coef.get(e1 + e2, 0.0) + v1 * v2
    return coef


def _pow_cost(p: float) -> int:
    return {2: 1, 3: 2, 1: 1}.get(p, 4)  # np.power costs several multiplications


def fuse_polynomials(n_inputs: int, constants: Sequence[Any], rows: list,
                     shapes: Sequence[tuple], keep: Sequence[int]) -> tuple[list, int]:
    """Replace each maximal polynomial chain by one ``POLYVAL`` instruction.

    ``rows``: ``(row, input slots, params)`` per instruction (slot ``base + k``); ``keep``:
    slots that must stay computed (the output, retained slots). Returns the new rows (same
    length: the chain's interior becomes dead code for the planner to drop) and the number
    of chains fused.
    """
    base = n_inputs + len(constants)
    # a chain is worth fusing only if it reaches degree 2: it needs a power or a product
    # of two non-constant values (a cheap test that spares the analysis most graphs)
    if not any((row.name == "pow" and float(params["p"]).is_integer() and params["p"] >= 2)
               or (row.name == "mul" and all(i < n_inputs or i >= base for i in ins))
               for row, ins, params in rows):
        return rows, 0
    polys: dict[int, _Poly] = {}

    def poly(s: int) -> _Poly:
        p = polys.get(s)
        if p is not None:
            return p
        if n_inputs <= s < base:
            c = constants[s - n_inputs]
            if np.shape(c) == () and np.asarray(c).dtype.kind in "fiu" and \
                    math.isfinite(float(c)):
                return _Poly(None, {0: float(c)}, True)
        return _Poly(s, {1: 1.0}, True)

    def same_base(*ps: _Poly) -> Optional[int]:
        bases = {p.base for p in ps if p.base is not None}
        if len(bases) != 1:
            return None
        b = bases.pop()
        if b >= base and rows[b - base][0].dtype != "float64":
            return None  # arithmetic on booleans keeps numpy's bool semantics
        return b

    for k, (row, ins, params) in enumerate(rows):
        s = base + k
        name = row.name
        if name not in ("add", "sub", "mul", "neg", "pow") or row is not _TABLE[name]:
            continue
        ps = [poly(i) for i in ins]
        b = same_base(*ps)
        # on 0-d values there are no passes over memory to save (and scalar programs
        # keep their Python-float form)
        if b is None or shapes[b] == () or shapes[s] != shapes[b] or any(
                p.base is not None and shapes[i] != shapes[b] for p, i in zip(ps, ins)):
            continue
        if name in ("add", "sub"):
            coef = _combine(ps[0], ps[1], 1.0 if name == "add" else -1.0)
            mono = False
        elif name == "neg":
            coef = {e: -v for e, v in ps[0].coef.items()}
            mono = ps[0].mono
        elif name == "mul":
            if not (ps[0].mono or ps[1].mono):
                continue  # a product of two sums: expanding it could cancel badly
            coef = _times(ps[0], ps[1])
            mono = ps[0].mono and ps[1].mono
        else:
            p = float(params["p"])
            if not (p.is_integer() and 1 <= p <= MAX_POWER and ps[0].mono):
                continue
            coef = {e * int(p): v ** int(p) for e, v in ps[0].coef.items()}
            mono = True
        if not coef or max(coef) > MAX_DEGREE or min(coef) < 0:
            continue
        cost = (_pow_cost(float(params["p"])) if name == "pow" else 1) + sum(
            polys[i].cost for i in set(ins) if i in polys)
        polys[s] = _Poly(b, coef, mono, tuple(i for i in ins if i in polys), cost)

    # a chain's root: a polynomial some consumer does not extend, or a kept slot
    extended_by_all: dict[int, bool] = {}
    for k, (row, ins, params) in enumerate(rows):
        s = base + k
        for i in ins:
            if i in polys:
                extends = s in polys and i in polys[s].parts
                extended_by_all[i] = extended_by_all.get(i, True) and extends
    out = list(rows)
    fused = 0
    for s, p in polys.items():
        if s not in keep and extended_by_all.get(s, False):
            continue
        deg = p.degree
        c = tuple(p.coef.get(e, 0.0) for e in range(deg, -1, -1))
        if deg < 1 or not all(math.isfinite(v) for v in c):
            continue
        horner = deg + sum(1 for v in c[1:] if v != 0.0) - (1 if c[0] == 1.0 else 0)
        if horner >= p.cost:
            continue
        out[s - base] = (POLYVAL, (p.base,), {"c": c})
        fused += 1
    return out, fused


from .primitives import PRIMITIVES as _TABLE  # noqa: E402  (after POLYVAL, for clarity)
