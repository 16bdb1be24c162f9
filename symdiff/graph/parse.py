"""``sd.parse``: formula text to a graph Node, through the safe reader of ``symdiff.text``.

``NodeBuilder`` is the reader's builder for Nodes; matrix notation
(``parse(..., matrix=True)``) is read by ``symdiff.graph.claims``. Imports symdiff.errors,
symdiff.budget, symdiff.text, and symdiff.graph (node, ops, claims).

>>> parse("sin(x)**2", {"x": (3,)}).shape
(3,)
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional

from symdiff.budget import gc_paused
from symdiff.errors import ArgumentError, ParseError
from symdiff.graph.claims import MatrixBuilder, parse_matrix
from symdiff.graph.node import Node, const
from symdiff.graph.leaves import var
from symdiff.graph.ops import FUNCTIONS
from symdiff.graph.params import as_shape
from symdiff.graph.values import leaf_name, shown
from symdiff.text.allowlist import MAX_NODES
from symdiff.text.builder import OPERATORS, OperatorBuilder
from symdiff.text.numbers import constant_power
from symdiff.text.reader import parse_with


def parse(text: str, shapes: Mapping[str, tuple] | None = None, *,
          matrix: bool = False) -> Node:
    """Parse ``text`` into a symdiff graph ``Node`` (this is ``sd.parse``).

    Names become variables (shape from ``shapes``, scalar otherwise; ``pi`` is a constant);
    calls use ``symdiff.graph.ops.FUNCTIONS``. With ``matrix=True`` the text is read in matrix
    notation (see ``MatrixBuilder``: ``*`` of two matrices is the matrix product, 1-D
    variables are columns), and a matrix result is a 2-D node.

    >>> import symdiff as sd
    >>> sd.parse("x**2 + 3").op
    'add'
    >>> sd.parse("W.T @ v", {"W": (3, 2), "v": (3,)}).shape
    (2,)
    >>> sd.parse("W.T*v", {"W": (3, 2), "v": (3,)}, matrix=True).shape
    (2, 1)
    """
    if not isinstance(text, str):
        raise ArgumentError(f"sd.parse: text must be a str, not {type(text).__name__} "
                            f"{shown(text)}")
    shapes = _shapes(shapes)
    if matrix:
        mb = MatrixBuilder({k: var(k, v) for k, v in shapes.items()}, strict=False)
        with gc_paused(len(text) if isinstance(text, str) else 0):
            return mb.finish(parse_matrix(text, mb), None, text)
    builder = NodeBuilder(shapes)
    with gc_paused(len(text) if isinstance(text, str) else 0):
        return builder.finish(parse_with(text, builder))


def _shapes(shapes: Any) -> dict[str, tuple]:
    """``shapes`` checked: a mapping of names to shapes (each as ``sd.var`` takes it)."""
    if shapes is None:
        return {}
    if not isinstance(shapes, Mapping):
        raise ArgumentError(f"sd.parse: shapes must be a mapping of names to shapes, such as "
                            f"{{'x': (3,)}}, not {type(shapes).__name__} {shown(shapes)}")
    return {leaf_name(k, "sd.parse: shapes: variable"):
            as_shape(v, f"sd.parse: shapes[{k!r}]") for k, v in shapes.items()}


def _number_of(value: Any) -> Optional[float]:
    """A plain number, or the value of a scalar node computed from numbers (a parse makes
    variables, which have no value), as a float; else None."""
    if isinstance(value, (int, float)):
        return float(value)
    v = getattr(value, "_value", None)
    if v is not None and getattr(value, "shape", None) == ():
        return float(v)
    return None


class NodeBuilder(OperatorBuilder):
    """Builds symdiff graph ``Node``s; one instance per parse (it caches the variables)."""

    max_nodes = MAX_NODES

    def __init__(self, shapes: Mapping[str, tuple] | None = None):
        self.functions = FUNCTIONS
        self.shapes = dict(shapes or {})
        self._names: dict[str, Any] = {}

    def _node(self, a: Any) -> Any:
        # Two plain numbers never meet Python arithmetic: 9**9**9 must not run at parse time.
        return const(a) if isinstance(a, (int, float)) else a

    def finish(self, result: Any) -> Any:
        return self._node(result)

    def number(self, value: int | float) -> int | float:
        return value

    def name(self, identifier: str, position: int) -> Any:
        if identifier not in self._names:
            if identifier in self.shapes:
                node = var(identifier, self.shapes[identifier])
            elif identifier in self.functions:
                raise ParseError(f"function '{identifier}' must be called, "
                                 f"e.g. {identifier}(x)")
            elif identifier == "pi":
                node = const(math.pi)
            else:
                node = var(identifier, ())
            self._names[identifier] = node
        return self._names[identifier]

    def binop(self, op: str, a: Any, b: Any) -> Any:
        if op == "**":
            folded = constant_power(_number_of(a), _number_of(b))
            if folded is not None:
                return const(folded)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            a = const(a)
        return OPERATORS[op](a, b)

    def attribute(self, a: Any, attr: str) -> Any:
        return self._node(a).T

    def subscript(self, a: Any, key: tuple) -> Any:
        return self._node(a)[key]


# -- claims in numpy notation (sd.verify(..., notation="numpy")) ------------------------
def _log1p(x: Any) -> Node:
    return FUNCTIONS["log"](1 + x)


def _expm1(x: Any) -> Node:
    return FUNCTIONS["exp"](x) - 1


def _softplus(x: Any) -> Node:
    return FUNCTIONS["log"](1 + FUNCTIONS["exp"](x))


def _square(x: Any) -> Node:
    return x ** 2


CLAIM_FUNCTIONS: dict[str, Any] = {**FUNCTIONS, "log1p": _log1p, "expm1": _expm1,
                                   "softplus": _softplus, "square": _square}
"""What a claim in numpy notation may call: every function ``sd.parse`` knows, and a few
composites a derivation writes by name (``log1p(x)`` is ``log(1 + x)``)."""


class ClaimNodeBuilder(NodeBuilder):
    """``NodeBuilder`` over the variables of ``f`` only: a name f does not have is an
    error naming f's variables, never a new variable."""

    def __init__(self, variables: Mapping[str, Node]):
        super().__init__({})
        self.functions = CLAIM_FUNCTIONS
        self.variables = dict(variables)

    def name(self, identifier: str, position: int) -> Any:
        node = self.variables.get(identifier)
        if node is not None:
            return node
        if identifier == "pi":
            return const(math.pi)
        if identifier in self.functions:
            raise ParseError(f"function '{identifier}' must be called, e.g. {identifier}(x)")
        known = ", ".join(sorted(self.variables)) or "none"
        raise ParseError(f"'{identifier}' names no variable of f (its variables: {known})")


def parse_numpy_claim(text: str, variables: Mapping[str, Node]) -> Node:
    """A claimed derivative in numpy notation, the notation of ``sd.parse``: ``@`` is the
    matrix product, ``*`` and the functions act elementwise (broadcasting as numpy does),
    ``x.T`` transposes, a 1-D variable stays 1-D; ``variables``: the names it may use.

    >>> import symdiff as sd
    >>> X, y, w = sd.var("X", (5, 3)), sd.var("y", (5,)), sd.var("w", (3,))
    >>> g = parse_numpy_claim("-X.T @ (y * sigmoid(-y * (X @ w))) / 5", {"X": X, "y": y, "w": w})
    >>> g.shape
    (3,)
    """
    builder = ClaimNodeBuilder(variables)
    with gc_paused(len(text) if isinstance(text, str) else 0):
        return builder.finish(parse_with(text, builder))
