"""``sd.jacobian`` and ``sd.hessian``: whole derivative arrays as graphs.

A Jacobian is one reverse sweep with a batched cotangent: the seed is the identity of
f's shape, so each intermediate cotangent carries one leading axis per element of f
(``symdiff.derivative.reverse``). The graph stays linear in f's size (no per-row copies of
the sweep) and evaluates as vectorized numpy. A Hessian is the Jacobian of the gradient
graph: reverse-over-reverse. Both are ordinary Nodes: ``.eval``, ``.sympy()``
(``explicit=True`` for element formulas), ``sd.diff`` again, lowering.

>>> import symdiff as sd
>>> x, y = sd.var("x"), sd.var("y")
>>> [[h.sympy() for h in row] for row in sd.hessian(x**2 * y, [x, y])]
[[2*y, 2*x], [2*x, 0]]
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from .derivative import grad, reverse
from .errors import ShapeError, SymdiffError
from .node import Node, const


def jacobian(f: Node, x: Union[Node, Sequence[Node]]) -> Union[Node, list[Node]]:
    """The Jacobian of ``f`` with respect to ``x``: a Node of shape ``f.shape + x.shape``
    (a list of them when ``x`` is a list). ``J[i..., j...] = d f[i...] / d x[j...]``.

    >>> import symdiff as sd
    >>> x = sd.var("x", (2,))
    >>> J = sd.jacobian(sd.sin(x) * x[0], x)
    >>> J.shape
    (2, 2)
    >>> J.eval(x=[0.0, 1.0]).round(6).tolist()
    [[0.0, 0.0], [0.841471, 0.0]]
    """
    many = not isinstance(x, Node)
    xs = list(x) if many else [x]
    if not isinstance(f, Node):
        raise SymdiffError(f"sd.jacobian: f must be a Node, not {type(f).__name__}")
    size = f.size
    if size > 1_000_000:
        raise ShapeError(f"sd.jacobian: f has {size} elements; a dense Jacobian of that many "
                         "rows is too large (differentiate a reduction of f instead)")
    seed = const(np.eye(size).reshape(f.shape + f.shape)) if f.shape else const(1.0)
    out = reverse(f, xs, seed)
    return out if many else out[0]


def hessian(f: Node, x: Union[Node, Sequence[Node]]) -> Union[Node, list[list[Node]]]:
    """Second derivatives of a scalar ``f``.

    For one variable ``x`` (scalar, vector or array): a Node of shape ``x.shape + x.shape``,
    e.g. the (n, n) Hessian of a function of a vector. For a list of variables: a nested
    list ``H[i][j]`` of Nodes of shape ``x_i.shape + x_j.shape`` (plain scalars for scalar
    variables), as ``sympy.hessian`` lays it out.

    >>> import symdiff as sd
    >>> x = sd.var("x", (2,))
    >>> H = sd.hessian(sd.sum(x**3) + x[0] * x[1], x)
    >>> H.eval(x=[1.0, 2.0]).tolist()
    [[6.0, 1.0], [1.0, 12.0]]
    """
    if f.size != 1:
        raise ShapeError(f"sd.hessian: f has shape {f.shape}; a Hessian needs a scalar f "
                         "(use sd.jacobian of sd.jacobian for vector functions)")
    if isinstance(x, Node):
        return jacobian(grad(f, [x])[0], x)
    xs = list(x)
    firsts = grad(f, xs)
    return [list(jacobian(g, xs)) for g in firsts]
