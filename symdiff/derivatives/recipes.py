"""Elementwise partials as recipes: ``sympy.diff`` of a row's formula, replayed on nodes.

The partial d(node)/d(arg i) of an elementwise op comes from the row's SymPy formula
(``symdiff.symbolic.partials.row_partial``), turned once per row and parameters into a
small list of steps over the op's inputs and output, which ``Recipe.replay`` builds as
nodes for each node differentiated. Where the formula is not a sum, its value in the
partial is replaced by the op's output (exp' = out), so the forward value is reused.

May import: sympy, ``numeric``, ``symdiff.graph``, ``symdiff.symbolic``,
``symdiff.derivatives.build``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> partial_recipe(sd.exp(x), 0).expr    # the Dummy standing for the op's output
_out
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional, Sequence

import sympy

from numeric import PRIMITIVES
from symdiff.derivatives.build import build
from symdiff.graph.node import Node
from symdiff.graph.walks import topological
from symdiff.symbolic.from_sympy import from_sympy
from symdiff.symbolic.partials import row_formula, row_partial


class Recipe:
    """A partial derivative as replayable steps over the op's inputs and output."""

    def __init__(self, expr: Any, symbols: Sequence[Any]):
        self.expr = expr
        # placeholders of dtype "any" stand for inputs of either dtype while recording
        holes = [Node("var", name=f"arg{i}", dtype="any") for i in range(len(symbols))]
        out = Node("var", name="out", dtype="any")
        env = {**dict(zip(symbols, holes)), _OUT: out}
        self.one = expr == 1
        self.minus_one = expr == -1
        root = from_sympy(expr, env) if not (self.one or self.minus_one) else None
        self.steps: list = []
        if root is None:
            return
        index = {id(h): ("arg", i) for i, h in enumerate(holes)}
        index[id(out)] = ("out", 0)
        for k, n in enumerate(topological([root])):
            if id(n) in index:
                continue
            if n.op == "const":
                index[id(n)] = ("const", n)
                continue
            self.steps.append((n.op, tuple(index[id(a)] for a in n.args), n.params))
            index[id(n)] = ("step", len(self.steps) - 1)
        self.result = index[id(root)]

    def replay(self, args: Sequence[Node], out: Node) -> Node:
        """The partial as nodes over ``args`` (the op's inputs) and ``out`` (its output).

        >>> import symdiff as sd
        >>> x = sd.var("x")
        >>> partial_recipe(sd.sin(x), 0).replay([x], sd.sin(x)).sympy()
        cos(x)
        """
        made: list[Node] = []
        for op, refs, params in self.steps:
            made.append(build(op, *[args[v] if kind == "arg" else out if kind == "out" else
                                    v if kind == "const" else made[v] for kind, v in refs],
                              **params))
        kind, v = self.result
        return args[v] if kind == "arg" else out if kind == "out" else \
            v if kind == "const" else made[v]


_OUT = sympy.Dummy("out", real=True)


@lru_cache(maxsize=4096)
def _recipe(op: str, params_key: tuple, argindex: int) -> Recipe:
    params = dict(params_key)
    partial, symbols = row_partial(op, params, argindex)
    f = row_formula(op, params)
    if not isinstance(f, sympy.Add):
        partial = partial.subs(f, _OUT)  # reuse the forward value: exp' = out
    return Recipe(partial, symbols)


def partial_recipe(node: Node, i: int) -> Optional[Recipe]:
    """The recipe of d(node)/d(arg i) for an elementwise ``node``; None where no
    derivative flows.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> partial_recipe(x * x, 1).expr
    x
    """
    if PRIMITIVES[node.op].vjp[i] is None:
        return None
    params = node.params
    return _recipe(node.op, tuple(sorted(params.items())) if params else (), i)
