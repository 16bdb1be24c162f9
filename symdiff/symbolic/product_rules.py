"""The rewrite rules on numbers and products: exact rationals, ``sign(d)*d/|d| = 1``,
scalars gathered and identity factors dropped in matrix products, Hadamard products
flattened (ones dropped, ``u`` and ``HadamardPower(u, -1)`` cancelled, outer products as
``a*b.T``), an inverse of a product cancelled against its neighbour, the norm of a
negated vector, and a function applied entry by entry to a transposed product (see ``symdiff.symbolic.readable`` for the table).

Each rule is a function of one expression returning the rewritten one, or None where it
does not match; each is proven in ``tests/symbolic/test_readable.py``.

May import: sympy, ``symdiff.symbolic`` (named, notation, named_rules, rewriting).

>>> import sympy
>>> print(rational(sympy.Float(1 / 3)))
1/3
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Optional

import sympy
from sympy import HadamardPower, HadamardProduct, MatMul

from symdiff.symbolic.named import MatTimes, Norm
from symdiff.symbolic.named_rules import fold_sigmoid
from symdiff.symbolic.notation import Elementwise
from symdiff.symbolic.notation import DiagonalMatrix, Ones
from symdiff.symbolic.rewriting import factors, is_matrix, key, ones, product, scaled, split, \
    transposed

MAX_DENOMINATOR = 10 ** 6
"""A float that is not a short decimal is shown as the fraction p/q (q up to this) it
equals to the last bit: the 1/3 of a mean over 3 entries, the 1/7000 of one over 7000."""

SHORT_DECIMAL = 6
"""Floats of at most this many significant digits (0.5, 2.5, 0.001) are shown as
written; integral ones (1.0) as integers."""


def rational(e: Any) -> Optional[Any]:
    """A float that is an integer, or p/q to the last bit, as that exact number."""
    if not isinstance(e, sympy.Float):
        return None
    f = float(e)
    if f != f or abs(f) >= 2 ** 53:     # nan, inf, and integers a float cannot spell
        return None
    if f.is_integer():
        return sympy.Integer(int(f))
    digits = repr(abs(f)).split("e")[0].replace(".", "").strip("0")
    if len(digits) <= SHORT_DECIMAL:
        return None
    r = Fraction(f).limit_denominator(MAX_DENOMINATOR)
    return sympy.Rational(r.numerator, r.denominator) if float(r) == f else None


def sign_cancel(e: Any) -> Optional[Any]:
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


def matmul_flat(e: Any) -> Optional[Any]:
    """Nested products flattened, scalars gathered into one coefficient (where they
    cancel), identity factors dropped."""
    if not isinstance(e, MatMul):
        return None
    scalars, mats = [], []
    for a in e.args:
        if isinstance(a, MatMul):
            for b in a.args:
                (mats if is_matrix(b) else scalars).append(b)
        elif is_matrix(a):
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
        new = MatMul(*kept)      # prints as SymPy's own and equals it
    else:
        new = MatTimes(*(([] if c == 1 else [c]) + kept))
    return None if new == e else new


def _cancelled(fs: list) -> list:
    """Hadamard factors with equal bases merged (``u`` and ``HadamardPower(u, -1)``
    cancel: where ``u`` has no zero entry, which the product needs to be defined)."""
    order: list = []
    power: dict = {}
    base: dict = {}
    for f in fs:
        b, k = (f.base, f.exp) if isinstance(f, HadamardPower) and f.exp.is_Integer \
            else (f, sympy.S.One)
        kb = key(b)
        if kb not in power:
            order.append(kb)
            power[kb], base[kb] = 0, b
        power[kb] += k
    if all(power[kb] != 0 for kb in order) and len(order) == len(fs):
        return fs
    out = [base[kb] if power[kb] == 1 else HadamardPower(base[kb], power[kb])
           for kb in order if power[kb] != 0]
    return out or [Ones(*fs[0].shape)]


def hadamard(e: Any) -> Optional[Any]:
    """Nested Hadamard products flattened, scalars pulled out, ones dropped, ``u``
    against ``HadamardPower(u, -1)`` cancelled, and the outer product
    ``HadamardProduct(a*1.T, 1*b.T)`` as ``a*b.T``."""
    if not isinstance(e, HadamardProduct):
        return None
    coeff, fs = sympy.S.One, []
    stack = list(reversed(e.args))
    while stack:
        a = stack.pop()
        if isinstance(a, HadamardProduct):
            stack.extend(reversed(a.args))
            continue
        c, m = split(a)
        coeff *= c
        fs.append(m)
    fs = _cancelled(fs)
    fs = [f for f in fs if not ones(f)] or fs[:1]
    fs = fold_sigmoid(fs)
    if len(fs) == 2:
        o = _outer(*fs) or _outer(*fs[::-1])
        if o is not None:
            fs = [o]
        else:
            d = _diagonal(*fs) or _diagonal(*fs[::-1])
            if d is not None:
                c, fs = d[0], [d[1]]
                coeff *= c
            else:
                s = _scaling(*fs) or _scaling(*fs[::-1])
                if s is not None:
                    fs = [s]
    body = fs[0] if len(fs) == 1 else HadamardProduct(*fs)
    new = scaled(coeff, body)
    return None if new == e else new


def _outer(col: Any, row: Any) -> Optional[Any]:
    """``HadamardProduct(a*1.T, 1*b.T)`` = ``a*b.T`` (a column repeated, a row repeated)."""
    if not (isinstance(col, MatMul) and isinstance(row, MatMul)):
        return None
    if len(col.args) < 2 or len(row.args) < 2:
        return None
    if not (ones(col.args[-1]) and col.args[-1].shape[0] == 1):
        return None
    if not (ones(row.args[0]) and row.args[0].shape[1] == 1):
        return None
    left = MatMul(*col.args[:-1]) if len(col.args) > 2 else col.args[0]
    right = MatMul(*row.args[1:]) if len(row.args) > 2 else row.args[1]
    if left.shape[1] != 1 or right.shape[0] != 1:
        return None
    return MatMul(left, right)


def _identity_multiple(m: Any) -> Optional[Any]:
    """c when ``m`` is c times the identity (``I``, or an explicit matrix such as
    ``Matrix([[3, 0], [0, 3]])``), else None."""
    if isinstance(m, sympy.Identity):
        return sympy.S.One
    if isinstance(m, sympy.MatrixBase) and m.is_square and m.shape[0] > 1:
        c = m[0, 0]
        if m == c * sympy.eye(m.shape[0]):
            return c
    return None


def _repeated(m: Any) -> Optional[Any]:
    """The column u when ``m`` repeats it as its diagonal entries read it: a row repeated
    down (``1*u.T``), a column repeated across (``u*1.T``), or a Hadamard power of one."""
    if isinstance(m, HadamardPower):
        u = _repeated(m.base)
        return None if u is None else HadamardPower(u, m.exp)
    if not isinstance(m, MatMul) or len(m.args) < 2:
        return None
    first, last = m.args[0], m.args[-1]
    if ones(first) and first.shape[1] == 1:
        rest = MatMul(*m.args[1:]) if len(m.args) > 2 else m.args[1]
        return rest.T if rest.shape[0] == 1 else None
    if ones(last) and last.shape[0] == 1:
        rest = MatMul(*m.args[:-1]) if len(m.args) > 2 else m.args[0]
        return rest if rest.shape[1] == 1 else None
    return None


def _diagonal(eye: Any, rep: Any) -> Optional[tuple]:
    """``HadamardProduct(c*I, 1*u.T)`` = ``c*diag(u)`` (a Hessian of entrywise functions),
    and ``HadamardProduct(diag(w), 1*u.T)`` = ``diag(HadamardProduct(w, u))``: (c, the
    diagonal matrix), or None."""
    w = eye.args[0] if isinstance(eye, DiagonalMatrix) else None   # diag(w): its entries
    c = sympy.S.One if w is not None else _identity_multiple(eye)
    u = _repeated(rep) if c is not None else None
    if u is None or u.shape[0] != eye.shape[0]:
        return None
    return c, DiagonalMatrix(u if w is None else HadamardProduct(w, u))


def _scaling(m: Any, rep: Any) -> Optional[Any]:
    """``HadamardProduct(M, 1*u.T)`` = ``M*diag(u)`` (M's columns scaled) and
    ``HadamardProduct(M, u*1.T)`` = ``diag(u)*M`` (its rows), for M not itself repeated."""
    if _repeated(m) is not None or _identity_multiple(m) is not None or m.shape[0] < 2 \
            or m.shape[1] < 2 or not isinstance(rep, (MatMul, HadamardPower)):
        return None
    u = _repeated(rep)
    if u is None:
        return None
    base = rep.base if isinstance(rep, HadamardPower) else rep
    if ones(base.args[0]) and base.args[0].shape[1] == 1 and u.shape[0] == m.shape[1]:
        return MatMul(m, DiagonalMatrix(u))
    if u.shape[0] == m.shape[0]:
        return MatMul(DiagonalMatrix(u), m)
    return None


def diagonals(e: Any) -> Optional[Any]:
    """Products of neighbouring diagonal matrices as one, ``diag(a)*diag(b)`` =
    ``diag(HadamardProduct(a, b))``, and a sum of diagonal matrices as the diagonal of the
    sum, ``diag(a) - 2*diag(b)`` = ``diag(a - 2*b)``; a number comes out, ``diag(4*a)`` =
    ``4*diag(a)``."""
    if isinstance(e, DiagonalMatrix):
        c, m = split(e.args[0])
        return None if c == 1 else scaled(c, DiagonalMatrix(m))
    if isinstance(e, MatMul):
        c, ms = factors(e)
        out: list = []
        for m in ms:
            if out and isinstance(m, DiagonalMatrix) and isinstance(out[-1], DiagonalMatrix):
                out[-1] = DiagonalMatrix(HadamardProduct(out[-1].args[0], m.args[0]))
            else:
                out.append(m)
        if len(out) == len(ms):
            return None
        return scaled(c, out[0] if len(out) == 1 else MatMul(*out))
    if isinstance(e, sympy.MatAdd):
        parts = [split(t) for t in e.args]
        if len(parts) < 2 or not all(isinstance(m, DiagonalMatrix) for _, m in parts):
            return None
        return DiagonalMatrix(sympy.MatAdd(*[scaled(c, m.args[0]) for c, m in parts]))
    return None


def _square(m: Any) -> bool:
    return m.shape[0] == m.shape[1]


def _inverse_of(m: Any) -> Optional[list]:
    """The factors of the product ``m`` inverts, when all are square, else None."""
    if not isinstance(m, sympy.Inverse):
        return None
    inside = m.arg
    if isinstance(inside, sympy.Transpose) and isinstance(inside.arg, MatMul):
        inside = MatMul(*[a.T for a in reversed(inside.arg.args)])
    c, ms = factors(inside)
    return ms if c == 1 and all(_square(a) for a in ms) else None


def _inv(ms: list) -> Any:
    return sympy.Inverse(ms[0] if len(ms) == 1 else MatMul(*ms))


def inverse_cancel(e: Any) -> Optional[Any]:
    """``B*(A*B)**(-1)`` = ``A**(-1)`` and ``(A*B)**(-1)*A`` = ``B**(-1)`` for square
    factors (the inverse of a product of squares is the product of their inverses)."""
    if not isinstance(e, MatMul):
        return None
    c, ms = factors(e)
    for i, m in enumerate(ms):
        inside = _inverse_of(m)
        if inside is None or len(inside) < 2:
            continue
        if i > 0 and ms[i - 1] == inside[-1]:
            return product(c, ms[:i - 1] + [_inv(inside[:-1])] + ms[i + 1:])
        if i + 1 < len(ms) and ms[i + 1] == inside[0]:
            return product(c, ms[:i] + [_inv(inside[1:])] + ms[i + 2:])
    return None


def norm_sign(e: Any) -> Optional[Any]:
    """``norm(-u)`` = ``norm(u)``."""
    if not isinstance(e, Norm):
        return None
    c, m = split(e.args[0])
    return Norm(scaled(-c, m)) if c.could_extract_minus_sign() else None


def elementwise_transpose(e: Any) -> Optional[Any]:
    """``tanh.(x.T*X.T)`` = ``tanh.(X*x).T``: a function applied entry by entry commutes
    with transposing."""
    if not isinstance(e, Elementwise) or not isinstance(e.expr, MatMul):
        return None
    u = transposed(e.expr)
    return None if u is None else sympy.Transpose(Elementwise(e.function, u))
