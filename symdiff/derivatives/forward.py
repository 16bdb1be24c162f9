"""Forward mode for one scalar variable: df/dw when ``f`` is scalar from ``w`` up.

``sd.diff``/``sd.grad`` with one scalar variable use it when every node between the
variable and ``f`` is a scalar elementwise op (``symdiff.derivatives.reverse`` does the
rest). Both modes multiply every local partial once: forward mode by the tangent of the
input it is taken with respect to, reverse mode by the cotangent of the node it belongs
to. A product by 1 is free, and the tangent of ``w`` is 1 where the cotangent of ``f`` is:
so forward mode saves a product at every use of ``w``, reverse mode at every input of
``f``. On ``x*sin(x*sin(...x))``, which uses x at every level, forward mode has one op per
level fewer (the derivative graph is 3 times f rather than 3.5) and builds the nested
chain-rule form ``sin(f) + x*cos(f)*f'`` that ``sympy.diff`` prints; reverse mode's sum
over the levels of products of cotangents is one op per level larger after ``sympy.cse``
too.

May import: ``numeric``, ``symdiff.budget``, ``symdiff.graph``,
``symdiff.derivatives.build`` and ``symdiff.derivatives.recipes``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> f = x * sd.sin(x)
>>> forward_scalar(f, x, f.nodes()).sympy()
x*cos(x) + sin(x)
"""
from __future__ import annotations

from typing import Optional

from numeric import PRIMITIVES
from symdiff.budget import gc_paused
from symdiff.derivatives.build import PAUSE_GC_NODES, build
from symdiff.derivatives.recipes import partial_recipe
from symdiff.graph.node import Node, const


def forward_scalar(f: Node, w: Node, order: list[Node]) -> Optional[Node]:
    """df/dw by forward mode, for a scalar variable ``w`` when every node between ``w`` and
    ``f`` is a scalar elementwise op; None otherwise. ``order``: f's nodes from
    ``topological``. The graph has no context yet (``reverse.grad`` records it).

    >>> import symdiff as sd
    >>> x = sd.var("x", (2,))
    >>> f = sd.sum(x)
    >>> forward_scalar(f, x, f.nodes()) is None
    True
    """
    if not isinstance(w, Node) or w.op not in ("var", "tensor") or w.shape != ():
        return None
    with gc_paused(len(order), PAUSE_GC_NODES):
        return _tangent(f, w.name, order)


def _tangent(f: Node, name: str, order: list[Node]) -> Optional[Node]:
    """The forward sweep of ``forward_scalar``."""
    tangent: dict[int, Node] = {}
    one = const(1.0)
    for n in order:
        args = n.args
        if not args:
            if n.name == name and n.op in ("var", "tensor"):
                tangent[id(n)] = one
            continue
        row = None
        t = None
        if n.op == "where":
            if n.shape != ():
                return None
            # the tangent of the branch taken: selected, never multiplied by a 0/1
            # factor (the untaken branch's tangent is nan where its value is)
            ta, tb = tangent.get(id(args[1])), tangent.get(id(args[2]))
            if ta is not None or tb is not None:
                tangent[id(n)] = build("where", args[0], const(0.0) if ta is None else ta,
                                       const(0.0) if tb is None else tb)
            continue
        for i, a in enumerate(args):
            ta = tangent.get(id(a))
            if ta is None:
                continue
            if row is None:
                row = PRIMITIVES[n.op]
                if row.kind != "elementwise" or n.shape != ():
                    return None
            if row.vjp[i] is None:
                continue
            recipe = partial_recipe(n, i)
            if recipe.one:
                c = ta
            elif recipe.minus_one:
                c = build("neg", ta)
            else:
                c = recipe.replay(args, n)
                if ta is not one or c.dtype != "float64":  # else 1 * c is c
                    c = build("mul", ta, c)
            t = c if t is None else build("add", t, c)
        if t is not None:
            tangent[id(n)] = t
    out = tangent.get(id(f))
    return const(0.0) if out is None else out
