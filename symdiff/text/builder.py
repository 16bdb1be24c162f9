"""What the reader calls: the builder protocol, and ``OperatorBuilder``, Python's operators.

The reader (``symdiff.text.reader.parse_with``) checks a text and then translates it into
calls on a *builder* object, which makes the values: SymPy expressions
(``symdiff.text.sympy_builder.SympyBuilder``), graph Nodes (``symdiff.graph.parse``), or
matrix-claim terms (``symdiff.graph.claims``).

A builder has the methods ``number``, ``name``, ``binop``, ``unary``, ``compare``, ``call``,
``attribute`` and ``subscript`` (see ``SympyBuilder``), and optionally ``functions`` (the
callable names, used to reject unknown ones early), ``keywords`` (overrides ``KEYWORDS``),
``hints`` (function name -> the message refusing it), ``lambdas`` (accept SymPy's
``Lambda(t, body)(x)``, calling ``declare_parameter`` and ``apply_lambda``) and
``literals`` (names that take one list of rows, ``Matrix([[a, b]])``, calling ``literal``),
and may lower the limits with ``max_length``, ``max_depth`` and ``max_nodes``.

Imports only the standard library.

>>> OperatorBuilder().binop("**", 2, 10)
1024
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Mapping

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "**": operator.pow, "@": operator.matmul,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
"""The reader's operator spellings -> Python's operators."""


class OperatorBuilder:
    """What the builders share: Python's operators and calls of the allowed functions."""

    functions: Mapping[str, Callable]

    def binop(self, op: str, a: Any, b: Any) -> Any:
        return OPERATORS[op](a, b)

    def compare(self, op: str, a: Any, b: Any) -> Any:
        return self.binop(op, a, b)

    def unary(self, op: str, a: Any) -> Any:
        return -a if op == "-" else +a

    def call(self, fname: str, args: list, kwargs: dict, position: int) -> Any:
        return self.functions[fname](*args, **kwargs)
