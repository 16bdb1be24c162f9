"""Adjoint rules: a node's cotangent contribution to each of its inputs, as nodes.

``contribution(node, i, g)`` is ``g`` times d(node)/d(arg i), summed back to the
argument's shape. Elementwise ops take their partial from the row's SymPy formula
(``symdiff.derivatives.recipes``); the rows that are not elementwise (sums, matmul,
transposes, reshapes, indexing, broadcasts, matrix functions) have the hand-written rules
of ``ADJOINTS`` below. Neither shares code with the numpy VJPs in ``numeric``, so the
cross-check compares two independent derivations. Their wording for people is
``symdiff.derivatives.adjoint_text``.

May import: numpy, ``numeric``, ``symdiff.graph``, ``symdiff.derivatives.build`` and
``symdiff.derivatives.recipes``.

>>> import symdiff as sd
>>> W, x = sd.var("W", (2, 3)), sd.var("x", (3,))
>>> contribution(W @ x, 0, sd.var("g", (2,))).shape
(2, 3)
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from numeric import PRIMITIVES
from numeric.linalg import LETTERS, parse_subscripts, phi_mask
from numeric.primitives import normalize_axis
from symdiff.errors import SymdiffError
from symdiff.derivatives.build import build
from symdiff.derivatives.recipes import partial_recipe
from symdiff.graph.node import Node, const


def _swap_last(x: Node) -> Node:
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return build("transpose", x, axes=axes)


# Cotangents may carry leading batch axes (one per element of the output, for Jacobians):
# a cotangent of ``node`` has shape ``batch + node.shape``, so every rule below works on
# ``g.shape[:nb]`` untouched and on the trailing axes as usual.

def _batch(node: Node, g: Node) -> tuple:
    return g.shape[:g.ndim - node.ndim]


def _lift(g: Node, k: int) -> Node:
    """g with k trailing length-1 axes, so it broadcasts against a k-D array."""
    return build("reshape", g, shape=g.shape + (1,) * k) if k else g


def _expand(node: Node, g: Node) -> Node:
    """A reduction's cotangent (or value) broadcast back to its input's shape."""
    x = node.args[0]
    batch = _batch(node, g)
    axes = normalize_axis(node.params.get("axis"), x.ndim, node.op)
    kept = batch + tuple(1 if k in axes else d for k, d in enumerate(x.shape))
    if g.shape != kept:
        g = build("reshape", g, shape=kept)
    return build("broadcast_to", g, shape=batch + x.shape) if kept != batch + x.shape else g


def _reduce_adjoint(node: Node, i: int, g: Node) -> Node:
    x = node.args[0]
    axes = normalize_axis(node.params.get("axis"), x.ndim, node.op)
    g = _expand(node, g)
    if node.op == "mean":
        count = int(np.prod([x.shape[k] for k in axes], dtype=np.int64)) or 1
        g = build("div", g, float(count))
    return g


def _logsumexp_adjoint(node: Node, i: int, g: Node) -> Node:
    # d lse / dx = softmax(x) = exp(x - lse): the shifted form never overflows
    x = node.args[0]
    return build("mul", _expand(node, g), build("exp", build("sub", x, _expand(node, node))))


def _inv_t(x: Node) -> Node:
    return build("transpose", build("inv", x), axes=None)


def _matmul_adjoint(node: Node, i: int, g: Node) -> Node:
    x, y = node.args
    if i == 0:
        if y.ndim == 1:          # out[..., n] = x[..., n, k] y[k]: g[..., n, None] * y
            return build("mul", _lift(g, 1), y)
        if x.ndim == 1 and y.ndim == 2:   # out[m] = x[k] y[k, m]: g @ y.T, batch or not
            return build("matmul", g, _swap_last(y))
        if x.ndim == 1:          # out[..., m] = x[k] y[..., k, m]: (y @ g[..., None])[..., 0]
            col = build("matmul", y, _lift(g, 1))
            return build("reshape", col, shape=col.shape[:-1])   # batch axes summed later
        return build("matmul", g, _swap_last(y))
    if x.ndim == 1:
        if y.ndim == 1:
            return build("mul", _lift(g, 1), x)
        # (k,) @ (..., k, m) -> (..., m): the cotangent is x[:, None] * g[..., None, :]
        row = build("reshape", g, shape=g.shape[:-1] + (1,) + g.shape[-1:])
        return build("mul", build("reshape", x, shape=x.shape + (1,)), row)
    if y.ndim == 1 and x.ndim == 2:      # out[n] = x[n, k] y[k]: g @ x, batch or not
        return build("matmul", g, x)
    if y.ndim == 1:
        out = build("matmul", _swap_last(x), _lift(g, 1))
        return build("reshape", out, shape=out.shape[:-1])
    return build("matmul", _swap_last(x), g)


def _transpose_adjoint(node: Node, i: int, g: Node) -> Node:
    nb, nd = g.ndim - node.ndim, node.ndim
    axes = node.params.get("axes")
    perm = range(nd)[::-1] if axes is None else np.argsort([a % nd for a in axes])
    return build("transpose", g, axes=tuple(range(nb)) + tuple(nb + int(a) for a in perm))


def _batched_key(node: Node, g: Node) -> tuple:
    nb = g.ndim - node.ndim
    return (("slice", None, None, None),) * nb + tuple(node.params["key"])


def _inv_adjoint(node: Node, i: int, g: Node) -> Node:
    # d(X^-1) = -X^-1 dX X^-1, so the cotangent is -X^-T g X^-T
    t = build("transpose", node, axes=None)
    return build("neg", build("matmul", build("matmul", t, g), t))


def _cofactor_adjoint(node: Node, i: int, g: Node) -> Node:
    # C = cof(X) is det's gradient; its VJP along g is d/dt C(X + t g), exact at singular X
    # through bordered matrices: det([[X, u], [v^T, 0]]) = -u^T C(X) v, so with
    # M_j = [[X, g[:, j]], [e_j^T, 0]], the VJP is -sum_j cof(M_j)[:n, :n]. One cofactor
    # node over the stack of the M_j (n of them, n + 1 square): any order of derivative of
    # det stays exact everywhere, without inv
    x = node.args[0]
    n, lead = x.shape[-1], x.shape[:-2]
    batch = _batch(node, g)
    every = ("slice", None, None, None)
    top = ("slice", 0, n, None)
    # X in the top-left block of each M_j (broadcast over j and the batch axes)
    corner = build("unindex", x, key=(Ellipsis, top, top), shape=lead + (n + 1, n + 1))
    corner = build("reshape", corner, shape=lead + (1, n + 1, n + 1))
    # column j of g as the last column of M_j
    column = build("unindex", _swap_last(g), key=(every,) * (len(batch) + len(lead) + 1) +
                   (top, n), shape=batch + lead + (n, n + 1, n + 1))
    e = np.zeros((n, n + 1, n + 1))
    e[np.arange(n), n, np.arange(n)] = 1.0     # e_j^T as the last row of M_j
    m = build("add", build("add", column, corner), const(e))
    block = build("index", build("cofactor", m), key=(Ellipsis, top, top))
    return build("neg", build("sum", block, axis=-3, keepdims=False))


def _scatter_adjoint(node: Node, i: int, g: Node) -> Node:
    # the transposed map (scatter with src and pos swapped), once per batch entry of g
    from numeric.primitives import Positions
    src, pos = (np.asarray(node.params[k], dtype=np.int64).reshape(-1) for k in ("src", "pos"))
    batch = _batch(node, g)
    if batch:
        b = np.arange(int(np.prod(batch, dtype=np.int64)), dtype=np.int64)[:, None]
        src, pos = (b * node.args[0].size + src).ravel(), (b * node.size + pos).ravel()
    return build("scatter", g, src=Positions(pos), pos=Positions(src),
                 shape=batch + node.args[0].shape)


ADJOINTS: dict[str, Callable[[Node, int, Node], Node]] = {
    "sum": _reduce_adjoint,
    "mean": _reduce_adjoint,
    "matmul": _matmul_adjoint,
    "transpose": _transpose_adjoint,
    "reshape": lambda node, i, g: build("reshape", g,
                                        shape=_batch(node, g) + node.args[0].shape),
    "index": lambda node, i, g: build("unindex", g, key=_batched_key(node, g),
                                      shape=_batch(node, g) + node.args[0].shape),
    "unindex": lambda node, i, g: build("index", g, key=_batched_key(node, g)),
    "broadcast_to": lambda node, i, g: g,  # summed back by unbroadcast below
    "logsumexp": _logsumexp_adjoint,
    "trace": lambda node, i, g: build("mul", _lift(g, 2),
                                      const(np.eye(node.args[0].shape[0]))),
    # det's gradient is the cofactor matrix (det(X) X^-T where X is invertible), which is
    # defined at singular X too: a row of its own, so no inv (nan there) enters the graph
    "det": lambda node, i, g: build("mul", _lift(g, 2), build("cofactor", node.args[0])),
    "logdet": lambda node, i, g: build("mul", _lift(g, 2), _inv_t(node.args[0])),
    "inv": _inv_adjoint,
    "cofactor": _cofactor_adjoint,
    "scatter": _scatter_adjoint,
}
"""Adjoint rules of the rows that are not elementwise: ``(node, input index, g) -> cotangent``
(``g`` may have leading batch axes, see above)."""


# -- reductions and shapes: max/min, prod, cumsum, concatenate, diagonal/diag ---------

def _axes_of(node: Node) -> tuple:
    return normalize_axis(node.params.get("axis"), node.args[0].ndim, node.op)


def _extremum_adjoint(node: Node, i: int, g: Node) -> Node:
    # torch.amax's convention: g split evenly among the entries equal to the extremum (x
    # >= max(x) holds exactly at those; a comparison has no derivative, so the split is
    # piecewise constant, as it should be)
    x = node.args[0]
    if x.size == node.size:     # groups of one entry: the identity
        return _expand(node, g)
    tied = build("greater_equal" if node.op == "amax" else "less_equal", x, _expand(node, node))
    hit = build("where", tied, 1.0, 0.0)
    count = build("sum", hit, axis=_axes_of(node), keepdims=True)
    return build("mul", _expand(node, g), build("div", hit, count))


def _flip_key(ndim_before: int) -> tuple:
    return (("slice", None, None, None),) * ndim_before + (("slice", None, None, -1),)


def _others_last(y: Node) -> Node:
    """For y of shape ``B + (n,)``, the product of the other entries of its last axis, for
    each entry: without division (exact at 0) and in O(log n) nodes. Pairs of blocks of
    size s = 1, 2, 4, ... are merged: an entry's product over the others of its merged
    block is its product within its own block times the product of the partner block."""
    lead, n = y.shape[:-1], y.shape[-1]
    every = (("slice", None, None, None),) * len(lead)
    if n <= 1:
        return const(np.ones(y.shape))
    m = 1 << (n - 1).bit_length()
    if m != n:      # pad with ones up to a power of two
        pad = np.zeros(m)
        pad[n:] = 1.0
        y = build("add", build("unindex", y, key=every + (("slice", 0, n, None),),
                               shape=lead + (m,)), const(pad))
    q = build("reshape", y, shape=lead + (m, 1))      # each entry is a block of one
    others = None                                      # within blocks of one: 1
    s = 1
    while s < m:
        pairs = build("reshape", q, shape=lead + (m // (2 * s), 2, 1))
        partner = build("index", pairs, key=every + (("slice", None, None, None),
                                                     ("slice", None, None, -1)))
        if others is None:
            merged = partner
        else:
            merged = build("mul", build("reshape", others, shape=lead + (m // (2 * s), 2, s)),
                           partner)
        others = build("reshape", merged, shape=lead + (m // (2 * s), 2 * s))
        if 2 * s < m:   # the products of the merged blocks, for the next level
            q = build("mul", build("index", pairs, key=every + (("slice", None, None, None), 0)),
                      build("index", pairs, key=every + (("slice", None, None, None), 1)))
        s *= 2
    out = build("reshape", others, shape=lead + (m,))
    return out if m == n else build("index", out, key=every + (("slice", 0, n, None),))


def _prod_others(x: Node, axes: tuple) -> Node:
    rest = [k for k in range(x.ndim) if k not in axes]
    perm = tuple(rest) + tuple(axes)
    y = x if perm == tuple(range(x.ndim)) else build("transpose", x, axes=perm)
    grouped = y.shape
    n = int(np.prod([x.shape[k] for k in axes], dtype=np.int64))
    if n == 0:
        return const(np.zeros(x.shape))
    flat = y.shape[:len(rest)] + (n,)
    y = y if flat == grouped else build("reshape", y, shape=flat)
    o = _others_last(y)
    o = o if flat == grouped else build("reshape", o, shape=grouped)
    if perm == tuple(range(x.ndim)):
        return o
    return build("transpose", o, axes=tuple(int(a) for a in np.argsort(perm)))


def _prod_adjoint(node: Node, i: int, g: Node) -> Node:
    return build("mul", _expand(node, g), _prod_others(node.args[0], _axes_of(node)))


def _cumsum_adjoint(node: Node, i: int, g: Node) -> Node:
    # the transposed map: running sums from the end (flip, cumsum, flip back)
    axis = _batch_axis(node, g, node.params["axis"])
    key = _flip_key(axis)
    return build("index", build("cumsum", build("index", g, key=key), axis=axis), key=key)


def _batch_axis(node: Node, g: Node, axis: int) -> int:
    return g.ndim - node.ndim + axis % node.ndim


def concatenate_key(node: Node, i: int, nb: int = 0) -> tuple:
    """The basic-index key of input ``i``'s part of a ``concatenate`` node's value (with
    ``nb`` leading batch axes)."""
    x = node.args[0]
    axis = node.params["axis"] % node.ndim
    n0 = x.shape[axis]
    part = ("slice", 0, n0, None) if i == 0 else ("slice", n0, None, None)
    return (("slice", None, None, None),) * (nb + axis) + (part,)


def _diagonal_axes(node: Node, g: Node, ndim: int) -> dict:
    nb = g.ndim - node.ndim
    return {"offset": node.params["offset"], "axis1": nb + node.params["axis1"] % ndim,
            "axis2": nb + node.params["axis2"] % ndim}


ADJOINTS.update({
    "amax": _extremum_adjoint,
    "amin": _extremum_adjoint,
    "prod": _prod_adjoint,
    "cumsum": _cumsum_adjoint,
    "concatenate": lambda node, i, g: build(
        "index", g, key=concatenate_key(node, i, g.ndim - node.ndim)),
    "diagonal": lambda node, i, g: build(
        "diag", g, **_diagonal_axes(node, g, node.args[0].ndim),
        shape=_batch(node, g) + node.args[0].shape),
    "diag": lambda node, i, g: build("diagonal", g, **_diagonal_axes(node, g, node.ndim)),
})


# -- p14 linear algebra, contraction, indexing: einsum, solve, log|det|, cholesky, norm
# (ord, axis), gather. The adjoint of an einsum is an einsum (then a broadcast for a letter
# only that operand has, and identities for a repeated letter); gather's is a scatter.

def _fresh_letters(used: str, count: int) -> str:
    free = [c for c in LETTERS if c not in used]
    if len(free) < count:
        raise SymdiffError(f"einsum: more than {len(LETTERS)} distinct axes in a derivative")
    return "".join(free[:count])


def einsum_into(specs: list, nodes: list, target: str, shape: tuple) -> Node:
    """The einsum of ``nodes`` (subscripts ``specs``) into subscripts ``target``, which may
    name a letter no operand has (a broadcast; sizes from ``shape``) or repeat one (the
    result times identities: zero off the diagonal).

    >>> import symdiff as sd
    >>> einsum_into(["i"], [sd.var("v", (3,))], "ii", (3, 3)).shape
    (3, 3)
    """
    uniq = "".join(dict.fromkeys(target))
    have = set("".join(specs))
    present = "".join(c for c in uniq if c in have)
    sub = ",".join(specs) + "->" + present
    if len(nodes) == 2:
        r = build("einsum", *nodes, subscripts=sub)
    else:
        r = nodes[0] if specs[0] == present else build("einsum_unary", nodes[0], subscripts=sub)
    sizes = dict(zip(target, shape))
    if present != uniq:
        r = build("reshape", r, shape=tuple(sizes[c] if c in have else 1 for c in uniq))
        r = build("broadcast_to", r, shape=tuple(sizes[c] for c in uniq))
    if uniq == target:
        return r
    fresh = iter(_fresh_letters("".join(specs) + target, len(target)))
    seen: set = set()
    renamed, pairs = [], []
    for c in target:
        if c in seen:
            f = next(fresh)
            pairs.append((c, f))
            renamed.append(f)
        else:
            seen.add(c)
            renamed.append(c)
    cur = uniq
    for k, (c, f) in enumerate(pairs):
        out = "".join(renamed) if k == len(pairs) - 1 else cur + f
        r = build("einsum", r, const(np.eye(sizes[c])), subscripts=f"{cur},{c}{f}->{out}")
        cur = out
    return r


def _einsum_adjoint(node: Node, i: int, g: Node) -> Node:
    ins, out = parse_subscripts(node.params["subscripts"], len(node.args), node.op)
    nb = g.ndim - node.ndim
    batch = _fresh_letters("".join(ins) + out, nb)
    others = [k for k in range(len(node.args)) if k != i]
    return einsum_into([batch + out] + [ins[k] for k in others],
                       [g] + [node.args[k] for k in others], batch + ins[i],
                       g.shape[:nb] + node.args[i].shape)


def _solve_t(at: Node, g: Node, nb: int, vector: bool) -> Node:
    """``solve(Aᵀ, g)`` for a cotangent with ``nb`` leading batch axes: the batch is
    moved into the right-hand side's columns and back."""
    if not nb:
        return build("solve", at, g)
    batch, n = g.shape[:nb], at.shape[0]
    count = int(np.prod(batch, dtype=np.int64))
    if vector:
        cols = build("transpose", build("reshape", g, shape=(count, n)), axes=None)
        x = build("transpose", build("solve", at, cols), axes=None)
        return build("reshape", x, shape=g.shape)
    k = g.shape[-1]
    cols = build("transpose", build("reshape", g, shape=(count, n, k)), axes=(1, 0, 2))
    x = build("solve", at, build("reshape", cols, shape=(n, count * k)))
    x = build("transpose", build("reshape", x, shape=(n, count, k)), axes=(1, 0, 2))
    return build("reshape", x, shape=g.shape)


def _solve_adjoint(node: Node, i: int, g: Node) -> Node:
    # x = A^-1 b: the cotangent of b is A^-T g, of A minus that times xᵀ
    a, b = node.args
    nb = g.ndim - node.ndim
    gb = _solve_t(build("transpose", a, axes=None), g, nb, b.ndim == 1)
    if i == 1:
        return gb
    B = _fresh_letters("ijk", nb)
    sub = f"{B}i,j->{B}ij" if b.ndim == 1 else f"{B}ik,jk->{B}ij"
    return build("neg", build("einsum", gb, node, subscripts=sub))


def _cholesky_adjoint(node: Node, i: int, g: Node) -> Node:
    # Murray (2016): sym(L^-T Φ(Lᵀ tril(g)) L^-1); Φ keeps the lower triangle, halves the
    # diagonal
    n = node.shape[0]
    lower = build("mul", g, const(np.tril(np.ones((n, n)))))
    p = build("mul", build("matmul", build("transpose", node, axes=None), lower),
              const(phi_mask(n)))
    li = build("inv", node)
    s = build("matmul", build("matmul", build("transpose", li, axes=None), p), li)
    return build("mul", build("add", s, _swap_last(s)), const(0.5))


def _norm_adjoint(node: Node, i: int, g: Node) -> Node:
    x = node.args[0]
    order = node.params.get("ord", 2.0)
    ge = _expand(node, g)
    if order == 2:
        return build("mul", ge, build("div", x, _expand(node, node)))
    if order == 1:
        return build("mul", ge, build("sign", x))
    # the max (min) of |x|: a tie splits the cotangent evenly
    hit = build("greater_equal" if order > 0 else "less_equal", build("abs", x),
                _expand(node, node))
    m = build("where", hit, const(1.0), const(0.0))
    count = build("sum", m, axis=node.params.get("axis"), keepdims=True)
    if count.shape != x.shape:
        count = build("broadcast_to", count, shape=x.shape)
    return build("mul", ge, build("div", build("mul", build("sign", x), m), count))


def _gather_adjoint(node: Node, i: int, g: Node) -> Node:
    # scatter-add: entry k of g goes to flat position pos[k] (repeats add up)
    from numeric.primitives import Positions
    x = node.args[0]
    pos = np.asarray(node.params["pos"], dtype=np.int64).reshape(-1)
    src = np.arange(pos.size, dtype=np.int64)
    batch = _batch(node, g)
    if batch:
        b = np.arange(int(np.prod(batch, dtype=np.int64)), dtype=np.int64)[:, None]
        src, pos = (b * node.size + src).ravel(), (b * x.size + pos).ravel()
    return build("scatter", g, src=Positions(src), pos=Positions(pos), shape=batch + x.shape)


ADJOINTS.update({
    "einsum": _einsum_adjoint,
    "einsum_unary": _einsum_adjoint,
    "solve": _solve_adjoint,
    "logabsdet": lambda node, i, g: build("mul", _lift(g, 2), _inv_t(node.args[0])),
    "cholesky": _cholesky_adjoint,
    "norm": _norm_adjoint,
    "gather": _gather_adjoint,
})


def unbroadcast(c: Node, shape: tuple, nb: int = 0) -> Node:
    """Sum a cotangent back to an input's shape (the one place broadcasting is undone);
    the first ``nb`` axes of ``c`` are batch axes and are kept.

    >>> import symdiff as sd
    >>> unbroadcast(sd.var("g", (4, 3)), (3,)).shape
    (3,)
    """
    if not nb and c.shape == shape:
        return c
    target = c.shape[:nb] + tuple(shape)
    if c.shape == target:
        return c
    lead = c.ndim - nb - len(shape)
    axes = tuple(range(nb, nb + lead)) + tuple(
        nb + lead + k for k, d in enumerate(shape) if d == 1 and c.shape[nb + lead + k] != 1)
    out = build("sum", c, axis=axes, keepdims=False) if axes else c
    return out if out.shape == target else build("reshape", out, shape=target)


def local_contribution(node: Node, i: int, g: Node) -> Optional[Node]:
    """g times d(node)/d(arg i) before it is summed back to the argument's shape (an
    elementwise node's contribution has the node's broadcast shape); None where no
    derivative flows. A ``where`` passes g to the branch it took and exactly 0 to the
    other (``where(c, g, 0)``: never g times a 0/1 factor, which is nan where g is).

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> local_contribution(sd.where(x > 0, x, 0.0), 1, sd.const(2.0)).sympy()
    Piecewise((2, x > 0), (0, True))
    """
    row = PRIMITIVES[node.op]
    if row.vjp[i] is None:
        return None
    if node.op == "where":
        cond = node.args[0]
        return build("where", cond, g, 0.0) if i == 1 else build("where", cond, 0.0, g)
    if row.kind == "elementwise":
        recipe = partial_recipe(node, i)
        if recipe.one:
            return g
        if recipe.minus_one:
            return build("neg", g)
        return build("mul", g, recipe.replay(node.args, node))
    return ADJOINTS[node.op](node, i, g)


def contribution(node: Node, i: int, g: Node) -> Optional[Node]:
    """g times d(node)/d(arg i), summed back to the argument's shape; None where no
    derivative flows.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> contribution(sd.sin(x), 0, sd.const(2.0)).sympy()
    2*cos(x)
    """
    c = local_contribution(node, i, g)
    if c is None:
        return None
    return unbroadcast(c, node.args[i].shape, len(g.shape) - len(node.shape))
