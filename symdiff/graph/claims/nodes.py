"""Terms to graph Nodes, once every size of a claim is known.

``materialize`` builds the Node of a term and of everything it is made of, in the order
the terms were made (arguments first), without recursion; a ``Lambda``'s body is built
once per argument it is applied to. Sizes nothing fixed (a matrix of ones alone) are 1.
Imports numpy, symdiff.errors, symdiff.graph.node and the claims' ``terms`` and ``sizes``.

>>> from symdiff.graph.claims.terms import Terms
>>> terms = Terms()
>>> materialize(terms.elementwise("exp", terms.number_term(0.0)), {}).op
'exp'
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from symdiff.errors import ParseError
from symdiff.graph.claims.sizes import check_index
from symdiff.graph.claims.terms import Term
from symdiff.graph.node import Node, apply, const


def materialize(root: Term, env: dict) -> Node:
    """The Node of ``root``; ``env``: Lambda parameter name -> the Node it stands for."""
    seen, stack, order = {id(root)}, [root], []
    while stack:
        t = stack.pop()
        order.append(t)
        for a in t.args:
            if id(a) not in seen:
                seen.add(id(a))
                stack.append(a)
    order.sort(key=lambda t: t.index)  # terms are made after their arguments
    nodes: dict[int, Any] = {}
    for t in order:
        nodes[id(t)] = _node(t, [nodes[id(a)] for a in t.args], env)
    return nodes[id(root)]


def _node(t: Term, xs: list, env: dict) -> Node:
    """The Node of ``t``, whose arguments' Nodes are ``xs``."""
    ap, op = apply, t.op
    if op == "num":
        return const(t.params)
    if op == "leaf":
        node = t.params
        return ap("reshape", node, shape=(node.shape[0], 1)) if node.ndim == 1 else node
    if op == "param":
        if t.params not in env:
            raise ParseError(f"'{t.params}' is used outside its Lambda")
        return env[t.params]
    if op == "ones":
        return const(np.ones((t.rows.get() or 1, t.cols.get() or 1)))
    if op == "eye":
        return const(np.eye(t.rows.get() or 1))
    if op == "ew":
        name, params = t.params
        return ap(name, *xs, **params)
    if op == "matmul":
        return ap("matmul", *xs)
    if op == "T":
        return ap("transpose", xs[0], axes=None)
    if op == "matpow":
        return _matrix_power(xs[0], t.params)
    if op == "reduce":
        if t.params == "softmax":
            lse = ap("logsumexp", xs[0], axis=None, keepdims=True)
            return ap("exp", ap("sub", xs[0], lse))
        if t.params in ("sum", "mean", "logsumexp"):
            return ap(t.params, xs[0], axis=None, keepdims=False)
        return ap(t.params, xs[0])
    if op == "entry":
        i, j = t.params
        for k, n, what in zip((i, j), xs[0].shape, ("row", "column")):
            check_index(k, n, what)
        return xs[0][i, j]
    if op == "linear":
        r, c = xs[0].shape
        check_index(t.params, r * c, "entry")
        return xs[0][divmod(t.params % (r * c), c)]
    if op == "slice":
        return xs[0][t.params]
    if op == "lambda":
        param, body = t.params
        return materialize(body, {**env, param: xs[0]})
    if op == "zeros":
        return const(np.zeros((t.rows.get() or 1, t.cols.get() or 1)))
    if op == "block":
        if xs[0].op == "const":   # a number: a 1×1 constant, which a literal folds
            return const(np.reshape(xs[0]._value, (1, 1)))
        return ap("reshape", xs[0], shape=(1, 1))
    if op == "literal":
        return _literal(xs, *t.params)
    raise ParseError(f"internal error: cannot build the term {op!r}")


def _matrix_power(x: Node, k: int) -> Node:
    if k == 0:
        return const(np.eye(x.shape[0]))
    # by repeated squaring: about 2*log2(k) products, not k - 1 (S**64*S**64*...
    # would otherwise make 63 nodes per 5 characters of text)
    power, n, out = x if k > 0 else apply("inv", x), abs(k), None
    while True:
        if n & 1:
            out = power if out is None else apply("matmul", out, power)
        n >>= 1
        if not n:
            return out
        power = apply("matmul", power, power)


def _literal(xs: list, nrows: int, ncols: int) -> Node:
    """The matrix of the blocks ``xs`` (row by row, ``nrows`` x ``ncols`` of them)."""
    heights = [xs[i * ncols].shape[0] for i in range(nrows)]
    widths = [xs[j].shape[1] for j in range(ncols)]
    starts_r = list(itertools.accumulate(heights, initial=0))
    starts_c = list(itertools.accumulate(widths, initial=0))
    shape = (starts_r[-1], starts_c[-1])
    # The constant blocks go into one constant (block by block, each an add of two
    # full-size constants, n entries would cost n² time); the others are placed
    # with unindex and added to it.
    dense, pieces = None, []
    for i in range(nrows):
        r0, r1 = starts_r[i], starts_r[i + 1]
        for j in range(ncols):
            block = xs[i * ncols + j]
            c0, c1 = starts_c[j], starts_c[j + 1]
            if block.op == "const":
                if np.any(block._value):
                    if dense is None:
                        dense = np.zeros(shape)
                    dense[r0:r1, c0:c1] = block._value
                continue
            key = (("slice", r0, r1, None), ("slice", c0, c1, None))
            pieces.append(apply("unindex", block, key=key, shape=shape))
    out = None if dense is None else const(dense)
    for piece in pieces:
        out = piece if out is None else apply("add", out, piece)
    return out if out is not None else const(np.zeros(shape))
