"""The allow-list of formula text: its limits, the Python constructs accepted, and the
messages that refuse the rest.

Allowed: int and float literals; names (not starting with ``_``); ``+ - * / ** @``; unary
``-``/``+``; one comparison ``< <= > >=``; calls of the builder's functions; ``.T``; basic
indexing (ints, slices with int bounds, ``None``, ``...``).  Keyword values are constants
(ints, tuples of ints, ``None``, ``True``/``False``) and only the keywords listed in
``KEYWORDS``; a tuple of ints may also be a positional argument of ``reshape``/``transpose``.
Everything else Python's grammar has is refused, with one of the messages below.

Limits: ``MAX_LENGTH`` characters (checked before any other work), ``MAX_DEPTH`` levels
of nesting (Python's own parser allows 200 levels of brackets), ``MAX_NODES`` numbers,
names, operators and calls for the graph builders (``SympyBuilder`` has tighter ones).

Tables only (the checking is ``symdiff.text.checker``); imports only the standard library.

>>> import ast
>>> BINOPS[ast.Pow], REFUSED_OPS[ast.BitXor]
('**', "'^' is bitwise xor in Python, not a power: write x**2 for powers")
"""
from __future__ import annotations

import ast

MAX_LENGTH = 100_000
"""Longest text accepted, in characters."""
MAX_NODES = 20_000
"""Most numbers, names, operators and calls in a text ``sd.parse`` and ``parse_claim``
read: each becomes a graph node or more, at about 10 to 25 µs each, so the largest text
is read in well under a second.  Other builders set their own ``max_nodes`` (or none)."""
MAX_DEPTH = 1000
"""Deepest nesting accepted.  Left operands of a chain (``a+b+c``, ``x[0][1]``) do not
count, as they read flat in the text; every other operand, argument and index does."""

KEYWORDS: dict[str, tuple[str, ...]] = {
    "sum": ("axis", "keepdims"), "mean": ("axis", "keepdims"),
    "transpose": ("axes",), "reshape": ("shape",),
}
"""Function name -> keyword arguments it may be given."""
TUPLE_ARGUMENT = {"reshape": 1, "transpose": 1}
"""Function name -> position from which its arguments may be tuples of ints (shape, axes)."""

# -- reductions and shapes: sd.amax ... sd.diag (symdiff.graph.reductions, .shaping)
KEYWORDS.update({
    "amax": ("axis", "keepdims"), "amin": ("axis", "keepdims"), "prod": ("axis", "keepdims"),
    "cumsum": ("axis",), "variance": ("axis", "ddof", "keepdims"),
    "std": ("axis", "ddof", "keepdims"), "log_softmax": ("axis",), "flip": ("axis",),
    "expand_dims": ("axis",), "squeeze": ("axis",), "repeat": ("axis",),
    "diagonal": ("offset", "axis1", "axis2"), "diag": ("k",),
    # a batch's softmax cross-entropy is written softmax(X @ W, axis=1) (issue 15)
    "softmax": ("axis",), "logsumexp": ("axis", "keepdims"), "norm": ("axis", "keepdims"),
})
TUPLE_ARGUMENT.update({"expand_dims": 1, "squeeze": 1, "flip": 1, "moveaxis": 1, "tile": 1,
                       "repeat": 1})

BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
          ast.MatMult: "@"}
UNARY = {ast.USub: "-", ast.UAdd: "+"}
COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
REFUSED_OPS = {
    ast.BitXor: "'^' is bitwise xor in Python, not a power: write x**2 for powers",
    ast.Mod: "'%' (modulo) is not supported",
    ast.FloorDiv: "'//' (floor division) is not supported; use '/'",
    ast.BitAnd: "'&' (bitwise and) is not supported",
    ast.BitOr: "'|' (bitwise or) is not supported",
    ast.LShift: "'<<' (bit shift) is not supported",
    ast.RShift: "'>>' (bit shift) is not supported",
    ast.Invert: "'~' (bitwise not) is not supported",
    ast.Not: "boolean 'not' is not supported",
    ast.Eq: "'==' is not supported (comparisons allowed: <, <=, >, >=)",
    ast.NotEq: "'!=' is not supported (comparisons allowed: <, <=, >, >=)",
    ast.Is: "'is' is not supported", ast.IsNot: "'is not' is not supported",
    ast.In: "'in' is not supported", ast.NotIn: "'not in' is not supported",
}
REFUSED_NODES = {
    ast.Lambda: "lambda expressions are not allowed",
    ast.ListComp: "comprehensions are not allowed", ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed", ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "the walrus operator ':=' is not allowed",
    ast.BoolOp: "boolean operators 'and'/'or' are not supported",
    ast.IfExp: "conditional expressions 'a if c else b' are not supported; use where(c, a, b)",
    ast.List: "lists are not allowed", ast.Dict: "dicts are not allowed",
    ast.Set: "sets are not allowed",
    ast.Tuple: "tuples are only allowed in subscripts and keyword values",
    ast.Starred: "starred arguments '*x' are not allowed",
    ast.Slice: "slices are only allowed inside subscripts",
    ast.Await: "'await' is not allowed", ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
}

LAMBDA = "<Lambda application>"
"""Marks the info of a ``Lambda(t, body)(x)`` call (no function name has spaces)."""
LITERAL = "<matrix literal>"
"""Marks the info of a ``Matrix([[...]])`` call."""


def describe(node: ast.AST) -> str:
    """What ``node`` is, for a message about building it.

    >>> describe(ast.parse("exp(x)", mode="eval").body), describe(ast.parse("x**2").body[0].value)
    ("the call to 'exp'", "'**'")
    """
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return f"the call to '{node.func.id}'"
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare)):
        op = type(node.ops[0] if isinstance(node, ast.Compare) else node.op)
        return "'" + (BINOPS.get(op) or UNARY.get(op) or COMPARE[op]) + "'"
    return {ast.Name: "the name", ast.Constant: "the number", ast.Attribute: "'.T'",
            ast.Subscript: "the subscript"}.get(type(node), "the expression")
