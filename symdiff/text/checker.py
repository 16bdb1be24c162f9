"""Pass 1 of the reader: every ``ast`` node checked against the allow-list, before any is built.

``Checker.walk`` visits the tree with an explicit stack (a 20,000-term sum does not hit
the recursion limit), pre-order and left first, so the outermost, leftmost problem is the
one reported. It returns the nodes in that order, each with what pass 2 needs to build it
(its operator, constant, or call signature) and its number of children to translate.
The tables and messages are in ``symdiff.text.allowlist``.

Imports symdiff.errors and symdiff.text; the standard library otherwise.

>>> import ast
>>> from symdiff.text.source import Source
>>> tree = ast.parse("x**2", mode="eval")
>>> [(type(n).__name__, info, k) for n, info, k in Checker(Source("x**2"), None).walk(tree)]
[('BinOp', '**', 2), ('Name', None, 0), ('Constant', 2, 0)]
"""
from __future__ import annotations

import ast
import difflib
import math
from typing import Any, Mapping, Optional

from symdiff.errors import ParseError
from symdiff.text.allowlist import (BINOPS, COMPARE, KEYWORDS, LAMBDA, LITERAL, MAX_DEPTH,
                                    REFUSED_NODES, REFUSED_OPS, TUPLE_ARGUMENT, UNARY)
from symdiff.text.hygiene import clip_text
from symdiff.text.numbers import fits_float
from symdiff.text.source import Source


class Checker:
    """Pass 1 of one parse: the allow-list, with what the builder adds to it (its
    ``functions``, ``keywords``, ``hints``, ``lambdas`` and ``literals``)."""

    def __init__(self, source: Source, builder: Any):
        self.source, self.builder = source, builder
        self.error, self.flat = source.error, source.flat
        self.functions = getattr(builder, "functions", None)
        self.keywords = getattr(builder, "keywords", KEYWORDS)
        self.hints: Mapping[str, str] = getattr(builder, "hints", {})
        self.lambdas = bool(getattr(builder, "lambdas", False))
        self.lambda_params: set[str] = set()

    def walk(self, tree: ast.Expression) -> list[tuple[ast.AST, Any, int]]:
        """(node, info, number of children) for every node to build, in pre-order."""
        # Names and binary operators, most of a long formula, are handled inline.
        order: list[tuple[ast.AST, Any, int]] = []
        append, check, flat = order.append, self.check, self.flat
        Name, BinOp = ast.Name, ast.BinOp
        max_depth = min(MAX_DEPTH, getattr(self.builder, "max_depth", MAX_DEPTH))
        stack = [(tree.body, 1)]
        pop, push = stack.pop, stack.append
        while stack:
            node, depth = pop()
            if depth > max_depth:
                raise self.error(f"expression is nested too deeply (more than {max_depth} "
                                 "levels)", node)
            kind = type(node)
            if kind is Name:
                if not flat or node.id[0] == "_":
                    self.check_name(node.id, node)
                append((node, None, 0))
            elif kind is BinOp:
                append((node, BINOPS.get(type(node.op)) or
                        self.operator(node.op, BINOPS, node), 2))
                push((node.right, depth + 1))
                push((node.left, depth))
            else:
                info, children = check(node)
                append((node, info, len(children)))
                for child, inc in reversed(children):
                    push((child, depth + inc))
        limit = getattr(self.builder, "max_nodes", None)
        if limit is not None and len(order) > limit:
            raise ParseError(f"expression is too large: {len(order)} numbers, names, operators "
                             f"and calls (the limit here is {limit})", self.source.text, 0)
        return order

    def check(self, node: ast.AST) -> tuple[Any, list[tuple[ast.AST, int]]]:
        """Refuse ``node`` unless it is on the allow-list; else its info and its children
        to translate, each with how much deeper it is nested."""
        kind = type(node)  # ast.parse makes exact node types: `is` is the fast test
        if kind is ast.Name:
            self.check_name(node.id, node)
            return None, []
        if kind is ast.BinOp:
            return self.operator(node.op, BINOPS, node), [(node.left, 0), (node.right, 1)]
        if kind is ast.Constant:
            return self.number(node), []
        if kind is ast.Call:
            return self.check_call(node)
        if kind is ast.UnaryOp:
            return self.operator(node.op, UNARY, node), [(node.operand, 1)]
        if kind is ast.Compare:
            if len(node.ops) > 1:
                raise self.error("chained comparisons like 'a < b < c' are not supported",
                                 node)
            op = self.operator(node.ops[0], COMPARE, node)
            return op, [(node.left, 0), (node.comparators[0], 1)]
        if kind is ast.Attribute:
            if not self.flat:
                self.source.check_spelling(node.attr, node)
            if node.attr != "T":
                raise self.error(f"attribute access '.{clip_text(node.attr)}' is not allowed "
                                 "(only '.T', the transpose)", node)
            return None, [(node.value, 0)]
        if kind is ast.Subscript:
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return tuple(self.index(item) for item in items), [(node.value, 0)]
        raise self.error(REFUSED_NODES.get(kind, f"{kind.__name__} "
                                           "expressions are not allowed"), node)

    def operator(self, op: ast.AST, allowed: dict, node: ast.AST) -> str:
        if type(op) in allowed:
            return allowed[type(op)]
        raise self.error(REFUSED_OPS.get(type(op), f"operator {type(op).__name__} is not "
                                         "supported"), node)

    def number(self, node: ast.Constant) -> Any:
        value = node.value
        if type(value) is int or type(value) is float:
            if type(value) is float and math.isinf(value) or \
                    type(value) is int and value.bit_length() > 1023 and not fits_float(value):
                raise self.error("this number is too large: numbers must fit in a float "
                                 "(at most about 1.8e308)", node)
            return value
        if isinstance(value, bool):
            what = "True/False are only allowed as keyword values (e.g. keepdims=True)"
        elif value is None:
            what = "None is only allowed in subscripts and keyword values"
        elif value is Ellipsis:
            what = "'...' is only allowed in subscripts"
        elif isinstance(value, complex):
            what = "complex numbers (like 2j) are not supported"
        elif isinstance(value, (str, bytes)):
            what = "strings are not allowed"
        else:
            what = f"the constant {value!r} is not allowed"
        raise self.error(what, node)

    def check_name(self, name: str, node: ast.AST) -> None:
        if not self.flat:
            self.source.check_spelling(name, node)
        if name.startswith("_") and (name not in self.lambda_params or name.startswith("__")):
            raise self.error(f"names starting with '_' are not allowed ('{clip_text(name)}')",
                             node)

    def check_call(self, node: ast.Call) -> tuple[Any, list[tuple[ast.AST, int]]]:
        func = node.func
        if self.lambdas and isinstance(func, ast.Call) and isinstance(func.func, ast.Name) \
                and func.func.id == "Lambda":
            return self.check_lambda(node, func)
        if not isinstance(func, ast.Name):
            if type(func) in REFUSED_NODES:
                raise self.error(REFUSED_NODES[type(func)], func)
            if isinstance(func, ast.Attribute):
                raise self.error(f"attribute access '.{func.attr}' is not allowed "
                                 "(method calls are not supported)", func)
            raise self.error("only a plain function name can be called, e.g. exp(x)", func)
        name = func.id
        self.check_name(name, func)
        if name in getattr(self.builder, "literals", ()):
            return self.check_literal(node, name)
        if name in self.hints:
            raise self.error(self.hints[name], func)
        if self.functions is not None and name not in self.functions:
            raise self.error(self.unknown_function(name), func)
        tuple_from = TUPLE_ARGUMENT.get(name)
        args, children = [], []
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                raise self.error(REFUSED_NODES[ast.Starred], arg)
            if isinstance(arg, ast.Tuple) and tuple_from is not None and i >= tuple_from:
                args.append((True, self.int_tuple(arg, f"argument {i + 1} of '{name}'")))
            else:
                args.append((False, None))
                children.append((arg, 1))
        allowed = self.keywords.get(name, ())
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error("'**' argument unpacking is not allowed", kw.value)
            if not self.flat:
                self.source.check_spelling(kw.arg, kw)
            if kw.arg in kwargs:
                raise self.error(f"keyword argument '{kw.arg}' is repeated", kw.value)
            if kw.arg not in allowed:
                which = (f"allowed: {', '.join(allowed)}" if allowed
                         else "it takes no keyword arguments")
                raise self.error(f"keyword argument '{clip_text(kw.arg)}' is not allowed for "
                                 f"'{name}' ({which})", kw.value)
            kwargs[kw.arg] = self.keyword_value(kw.value, kw.arg)
        return (name, args, kwargs), children

    def check_lambda(self, node: ast.Call, inner: ast.Call) -> tuple[Any, list]:
        """``Lambda(t, body)(x)`` (SymPy's ``Lambda(t, body).(x)``): body applied to x."""
        if len(inner.args) != 2 or inner.keywords or not isinstance(inner.args[0], ast.Name):
            raise self.error("Lambda takes a parameter name and a body: Lambda(t, sqrt(t))",
                             inner)
        if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
            raise self.error("a Lambda is applied to one argument: Lambda(t, sqrt(t)).(X)",
                             node)
        param = inner.args[0].id
        if not self.flat:
            self.source.check_spelling(param, inner.args[0])
        if param.startswith("__"):
            raise self.error(f"names starting with '_' are not allowed ('{param}')",
                             inner.args[0])
        self.lambda_params.add(param)
        declare = getattr(self.builder, "declare_parameter", None)
        if declare is not None:
            declare(param)
        return (LAMBDA, param), [(inner.args[1], 1), (node.args[0], 1)]

    def check_literal(self, node: ast.Call, name: str) -> tuple[Any, list]:
        """``Matrix([[a, b], [c, d]])`` or ``Matrix([a, b])`` (a column): the one place a
        list is allowed; its entries are checked like any expression."""
        if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.List):
            raise self.error(f"{name} takes one list of rows, e.g. {name}([[1, 2], [3, 4]])",
                             node)
        rows = node.args[0].elts
        if rows and all(isinstance(r, ast.List) for r in rows):
            grid = [r.elts for r in rows]
        elif not any(isinstance(r, ast.List) for r in rows):
            grid = [[r] for r in rows]
        else:
            raise self.error(f"{name}: give a list of rows (lists) or a list of entries",
                             node.args[0])
        if not grid or len({len(r) for r in grid}) != 1 or not grid[0]:
            raise self.error(f"{name}: the rows must be non-empty and of equal length",
                             node.args[0])
        return (LITERAL, len(grid), len(grid[0])), [(e, 1) for row in grid for e in row]

    def unknown_function(self, name: str) -> str:
        known = sorted(self.functions)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        shown = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
        return (f"unknown function '{clip_text(name)}'{hint} (known functions: {shown}; "
                f"{len(known)} in all)")

    # -- constants: subscript keys, keyword values, shape tuples (flat, so no recursion)
    def int_const(self, node: ast.AST) -> Optional[int]:
        sign = 1
        if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
            sign, node = (-1 if isinstance(node.op, ast.USub) else 1), node.operand
        if isinstance(node, ast.Constant) and type(node.value) is int:
            if node.value >= 2**63:
                raise self.error("an index, axis or size must be between -2**63 and 2**63",
                                 node)
            return sign * node.value
        return None

    def int_tuple(self, node: ast.Tuple, what: str) -> tuple[int, ...]:
        items = tuple(self.int_const(e) for e in node.elts)
        if None in items:
            raise self.error(f"{what} must be a tuple of int constants", node)
        return items  # type: ignore[return-value]

    def keyword_value(self, node: ast.AST, name: str) -> Any:
        if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool)):
            return node.value
        if isinstance(node, ast.Tuple):
            return self.int_tuple(node, f"keyword '{name}'")
        value = self.int_const(node)
        if value is None:
            raise self.error(f"keyword '{name}' must be a constant: an int, a tuple of ints, "
                             "None, True or False", node)
        return value

    def index(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Slice):
            bounds = []
            for part in (node.lower, node.upper, node.step):
                value = None if part is None else self.int_const(part)
                if part is not None and value is None and not (
                        isinstance(part, ast.Constant) and part.value is None):
                    raise self.error("slice bounds must be int constants or None", part)
                bounds.append(value)
            return slice(*bounds)
        if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
            return node.value
        value = self.int_const(node)
        if value is None:
            raise self.error("an index must be an int, a slice with int bounds, None or '...' "
                             "(basic indexing only)", node)
        return value
