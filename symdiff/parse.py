"""A safe parser for formulas: text -> Python ``ast`` -> allow-list check -> builder calls.

Nothing in the text is ever executed: no ``eval``, ``exec``, ``sympify`` or ``parse_expr``.
The text is parsed with ``ast.parse(text, mode="eval")``, every node is checked against a
small allow-list, and the tree is translated into calls on a *builder* object.  Both passes
walk the tree with an explicit stack, so a 20,000-term sum does not hit the recursion limit.

Allowed: int and float literals; names (not starting with ``_``); ``+ - * / ** @``; unary
``-``/``+``; one comparison ``< <= > >=``; calls of the builder's functions; ``.T``; basic
indexing (ints, slices with int bounds, ``None``, ``...``).  Keyword values are constants
(ints, tuples of ints, ``None``, ``True``/``False``) and only the keywords listed in
``KEYWORDS``; a tuple of ints may also be a positional argument of ``reshape``/``transpose``.

A builder has the methods ``number``, ``name``, ``binop``, ``unary``, ``compare``, ``call``,
``attribute`` and ``subscript`` (see ``SympyBuilder``), and optionally ``functions`` (the
callable names, used to reject unknown ones early) and ``keywords`` (overrides ``KEYWORDS``).

>>> import sympy
>>> x = sympy.Symbol("x")
>>> parse_sympy("2*x**3 - 1", {"x": x}, {})
2*x**3 - 1
"""
from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import sys
import threading
import warnings
from typing import Any, Callable, Mapping, Optional

from .errors import ParseError, SymdiffError

__all__ = ["MAX_LENGTH", "MAX_DEPTH", "KEYWORDS", "parse", "parse_with", "parse_sympy",
           "NodeBuilder", "SympyBuilder"]

MAX_LENGTH = 100_000
"""Longest text accepted, in characters."""
MAX_DEPTH = 1000
"""Deepest nesting accepted.  Left operands of a chain (``a+b+c``, ``x[0][1]``) do not
count, as they read flat in the text; every other operand, argument and index does."""

KEYWORDS: dict[str, tuple[str, ...]] = {
    "sum": ("axis", "keepdims"), "mean": ("axis", "keepdims"),
    "transpose": ("axes",), "reshape": ("shape",),
}
"""Function name -> keyword arguments it may be given."""
_TUPLE_ARGUMENT = {"reshape": 1, "transpose": 1}  # function -> position of its shape/axes tuple

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.MatMult: "@"}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_REFUSED_OPS = {
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
_REFUSED_NODES = {
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
_EXTRA_RECURSION = 20_000
_RECURSION_LOCK = threading.Lock()
_NEWLINE = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer counts as a line break


def parse_with(text: str, builder: Any) -> Any:
    """Check ``text`` against the allow-list and translate it with ``builder``.

    Raises ``ParseError`` (a ``ValueError``) naming what was refused and where.  Errors a
    builder raises on purpose (``SymdiffError``) pass through; any other exception from a
    builder method becomes a ``ParseError`` at the node's position.

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> parse_with("x*y + 1", SympyBuilder({"x": x, "y": y}, {}))
    x*y + 1
    """
    return _Translator(text, builder).run()


def parse(text: str, shapes: Mapping[str, tuple] | None = None) -> "Node":  # noqa: F821
    """Parse ``text`` into a symdiff graph ``Node`` (this is ``sd.parse``).

    Names become variables (shape from ``shapes``, scalar otherwise; ``pi`` is a constant);
    calls use ``symdiff.ops.FUNCTIONS``.

    >>> import symdiff as sd
    >>> sd.parse("x**2 + 3").op
    'add'
    >>> sd.parse("W.T @ v", {"W": (3, 2), "v": (3,)}).shape
    (2,)
    """
    builder = NodeBuilder(shapes)
    return builder.finish(parse_with(text, builder))


def parse_sympy(text: str, symbols: Mapping[str, Any],
                functions: Mapping[str, Callable]) -> Any:
    """Parse ``text`` into a SymPy expression, with names from ``symbols`` and calls from
    ``functions`` (nothing else is reachable).

    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> parse_sympy("Max(x, y)**2 / 2", {"x": x, "y": y}, {"Max": sympy.Max})
    Max(x, y)**2/2
    """
    return parse_with(text, SympyBuilder(symbols, functions))


def _ast_parse(body: str) -> ast.Expression:
    # SyntaxWarnings ("'int' object is not callable") would leak to the caller's console.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(body, mode="eval")
        except RecursionError:
            pass
        # CPython converts its parse tree to ast objects recursively, within a budget tied
        # to sys.getrecursionlimit(), and a flat chain such as x+x+...+x is one level per
        # term.  Real nesting is capped by the parser itself (MemoryError / "too many
        # nested parentheses"), and MAX_LENGTH bounds a chain to 50,000 levels, so a
        # temporarily larger budget is safe.
        with _RECURSION_LOCK:
            old = sys.getrecursionlimit()
            sys.setrecursionlimit(old + _EXTRA_RECURSION)
            try:
                return ast.parse(body, mode="eval")
            finally:
                sys.setrecursionlimit(old)


class _Translator:
    """One parse: positions, the allow-list check and the translation."""

    def __init__(self, text: str, builder: Any):
        if not isinstance(text, str):
            raise TypeError(f"expected the formula as a str, got {type(text).__name__}")
        if len(text) > MAX_LENGTH:  # before any work proportional to the text
            raise ParseError(f"expression is too long ({len(text)} characters; "
                             f"the limit is {MAX_LENGTH})", text, MAX_LENGTH)
        self.text, self.builder = text, builder
        self.functions = getattr(builder, "functions", None)
        self.keywords = getattr(builder, "keywords", KEYWORDS)
        # Python rejects leading indentation in eval mode; parse without it, shift positions.
        body = text.lstrip(" \t\f\r\n")
        self.shift = len(text) - len(body)
        self.lines = _NEWLINE.split(body)
        self.line_starts = [0]
        for m in _NEWLINE.finditer(body):
            self.line_starts.append(m.end())
        self.byte_to_char: dict[int, list[int]] = {}
        self.body = body

    # -- positions: ast columns are UTF-8 byte offsets per line; ParseError wants characters
    def _pos(self, lineno: Optional[int], col: Optional[int], chars: bool = False) -> int:
        if lineno is None or col is None or not 1 <= lineno <= len(self.lines):
            return 0
        line = self.lines[lineno - 1]
        if not chars and not line.isascii():
            table = self.byte_to_char.get(lineno)
            if table is None:
                table = [i for i, ch in enumerate(line) for _ in range(len(ch.encode()))]
                table.append(len(line))
                self.byte_to_char[lineno] = table
            col = table[min(col, len(table) - 1)]
        return min(max(self.shift + self.line_starts[lineno - 1] + col, 0), len(self.text))

    def pos(self, node: ast.AST) -> int:
        # An operator or attribute starts where its left operand does; point at the operator.
        if isinstance(node, (ast.BinOp, ast.Compare, ast.Attribute)):
            left = node.value if isinstance(node, ast.Attribute) else node.left
            i = self._pos(left.end_lineno, left.end_col_offset)
            end = self._pos(node.end_lineno, node.end_col_offset)
            while i < end:
                ch = self.text[i]
                if ch == "#":
                    i = self.text.find("\n", i)
                    i = end if i < 0 else i
                elif ch.isspace() or ch in ")\\":
                    i += 1
                else:
                    return i
        return self._pos(getattr(node, "lineno", None), getattr(node, "col_offset", None))

    def error(self, message: str, node: Optional[ast.AST] = None) -> ParseError:
        return ParseError(message, self.text, 0 if node is None else self.pos(node))

    # -- the whole run
    def run(self) -> Any:
        if not self.body.strip():
            raise ParseError("empty expression", self.text, 0)
        try:
            tree = _ast_parse(self.body)
        except SyntaxError as e:
            msg = e.msg or "invalid syntax"
            msg = msg if msg.startswith("invalid syntax") else f"invalid syntax ({msg})"
            offset = None if e.offset is None else max(e.offset - 1, 0)
            raise ParseError(msg, self.text, self._pos(e.lineno, offset, chars=True)) from None
        except (RecursionError, MemoryError):
            raise ParseError("expression is nested too deeply for Python's parser",
                             self.text, 0) from None
        except ValueError as e:  # e.g. text Python's compiler refuses outright
            raise ParseError(f"invalid syntax ({e})", self.text, 0) from None

        # Pass 1, pre-order and left first, so the outermost, leftmost problem is reported.
        order: list[tuple[ast.AST, Any, int]] = []
        stack = [(tree.body, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise self.error(f"expression is nested too deeply (more than {MAX_DEPTH} "
                                 "levels)", node)
            info, children = self.check(node)
            order.append((node, info, len(children)))
            stack.extend((child, depth + inc) for child, inc in reversed(children))

        # Pass 2: reversed pre-order puts every node after its subtree; the results of its
        # children are then on top of `values`, first child topmost.
        values: list[Any] = []
        for node, info, n in reversed(order):
            args = values[len(values) - n:][::-1]
            del values[len(values) - n:]
            values.append(self.build(node, info, args))
        return values[0]

    # -- pass 1: refuse anything not on the allow-list; say which children to translate
    def check(self, node: ast.AST) -> tuple[Any, list[tuple[ast.AST, int]]]:
        if isinstance(node, ast.Constant):
            return self.number(node), []
        if isinstance(node, ast.Name):
            self.check_name(node.id, node)
            return None, []
        if isinstance(node, ast.BinOp):
            return self.operator(node.op, _BINOPS, node), [(node.left, 0), (node.right, 1)]
        if isinstance(node, ast.UnaryOp):
            return self.operator(node.op, _UNARY, node), [(node.operand, 1)]
        if isinstance(node, ast.Compare):
            if len(node.ops) > 1:
                raise self.error("chained comparisons like 'a < b < c' are not supported",
                                 node)
            op = self.operator(node.ops[0], _COMPARE, node)
            return op, [(node.left, 0), (node.comparators[0], 1)]
        if isinstance(node, ast.Call):
            return self.check_call(node)
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise self.error(f"attribute access '.{node.attr}' is not allowed "
                                 "(only '.T', the transpose)", node)
            return None, [(node.value, 0)]
        if isinstance(node, ast.Subscript):
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return tuple(self.index(item) for item in items), [(node.value, 0)]
        raise self.error(_REFUSED_NODES.get(type(node), f"{type(node).__name__} "
                                            "expressions are not allowed"), node)

    def operator(self, op: ast.AST, allowed: dict, node: ast.AST) -> str:
        if type(op) in allowed:
            return allowed[type(op)]
        raise self.error(_REFUSED_OPS.get(type(op), f"operator {type(op).__name__} is not "
                                          "supported"), node)

    def number(self, node: ast.Constant) -> Any:
        value = node.value
        if type(value) in (int, float):
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
        if name.startswith("_"):
            raise self.error(f"names starting with '_' are not allowed ('{name}')", node)

    def check_call(self, node: ast.Call) -> tuple[Any, list[tuple[ast.AST, int]]]:
        func = node.func
        if not isinstance(func, ast.Name):
            if type(func) in _REFUSED_NODES:
                raise self.error(_REFUSED_NODES[type(func)], func)
            if isinstance(func, ast.Attribute):
                raise self.error(f"attribute access '.{func.attr}' is not allowed "
                                 "(method calls are not supported)", func)
            raise self.error("only a plain function name can be called, e.g. exp(x)", func)
        name = func.id
        self.check_name(name, func)
        if self.functions is not None and name not in self.functions:
            raise self.error(self.unknown_function(name), func)
        tuple_from = _TUPLE_ARGUMENT.get(name)
        args, children = [], []
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                raise self.error(_REFUSED_NODES[ast.Starred], arg)
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
            if kw.arg in kwargs:
                raise self.error(f"keyword argument '{kw.arg}' is repeated", kw.value)
            if kw.arg not in allowed:
                which = (f"allowed: {', '.join(allowed)}" if allowed
                         else "it takes no keyword arguments")
                raise self.error(f"keyword argument '{kw.arg}' is not allowed for "
                                 f"'{name}' ({which})", kw.value)
            kwargs[kw.arg] = self.keyword_value(kw.value, kw.arg)
        return (name, args, kwargs), children

    def unknown_function(self, name: str) -> str:
        known = sorted(self.functions)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        shown = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
        return f"unknown function '{name}'{hint} (known functions: {shown}; {len(known)} in all)"

    # -- constants: subscript keys, keyword values, shape tuples (flat, so no recursion)
    def int_const(self, node: ast.AST) -> Optional[int]:
        sign = 1
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            sign, node = (-1 if isinstance(node.op, ast.USub) else 1), node.operand
        if isinstance(node, ast.Constant) and type(node.value) is int:
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

    # -- pass 2: builder calls
    def build(self, node: ast.AST, info: Any, args: list) -> Any:
        b = self.builder
        try:
            if isinstance(node, ast.Constant):
                return b.number(info)
            if isinstance(node, ast.Name):
                return b.name(node.id, self.pos(node))
            if isinstance(node, ast.BinOp):
                return b.binop(info, args[0], args[1])
            if isinstance(node, ast.UnaryOp):
                return b.unary(info, args[0])
            if isinstance(node, ast.Compare):
                return b.compare(info, args[0], args[1])
            if isinstance(node, ast.Call):
                name, slots, kwargs = info
                built = iter(args)
                values = [const if is_const else next(built) for is_const, const in slots]
                return b.call(name, values, kwargs, self.pos(node))
            if isinstance(node, ast.Attribute):
                return b.attribute(args[0], node.attr)
            return b.subscript(args[0], info)
        except ParseError as e:
            if not e.text:  # raised by a builder, which does not know the text
                where = self.pos(node) if e.position is None else e.position
                raise ParseError(e.message, self.text, where) from None
            raise
        except SymdiffError:
            raise
        except Exception as e:
            raise ParseError(f"cannot build {_describe(node)}: {type(e).__name__}: {e}",
                             self.text, self.pos(node)) from e


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return f"the call to '{node.func.id}'"
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare)):
        op = type(node.ops[0] if isinstance(node, ast.Compare) else node.op)
        return "'" + (_BINOPS.get(op) or _UNARY.get(op) or _COMPARE[op]) + "'"
    return {ast.Name: "the name", ast.Constant: "the number", ast.Attribute: "'.T'",
            ast.Subscript: "the subscript"}.get(type(node), "the expression")


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "**": operator.pow, "@": operator.matmul,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class _OperatorBuilder:
    """What both builders share: Python's operators and calls of the allowed functions."""

    functions: Mapping[str, Callable]

    def binop(self, op: str, a: Any, b: Any) -> Any:
        return _OPERATORS[op](a, b)

    def compare(self, op: str, a: Any, b: Any) -> Any:
        return self.binop(op, a, b)

    def unary(self, op: str, a: Any) -> Any:
        return -a if op == "-" else +a

    def call(self, fname: str, args: list, kwargs: dict, position: int) -> Any:
        return self.functions[fname](*args, **kwargs)


class NodeBuilder(_OperatorBuilder):
    """Builds symdiff graph ``Node``s; one instance per parse (it caches the variables)."""

    def __init__(self, shapes: Mapping[str, tuple] | None = None):
        # Imported here so this module (and SympyBuilder) load without the graph modules.
        from .node import const, var
        from .ops import FUNCTIONS
        self._var, self._const = var, const
        self.functions = FUNCTIONS
        self.shapes = dict(shapes or {})
        self._names: dict[str, Any] = {}

    def _node(self, a: Any) -> Any:
        # Two plain numbers never meet Python arithmetic: 9**9**9 must not run at parse time.
        return self._const(a) if isinstance(a, (int, float)) else a

    def finish(self, result: Any) -> Any:
        return self._node(result)

    def number(self, value: int | float) -> int | float:
        return value

    def name(self, identifier: str, position: int) -> Any:
        if identifier not in self._names:
            if identifier in self.shapes:
                node = self._var(identifier, tuple(self.shapes[identifier]))
            elif identifier in self.functions:
                raise ParseError(f"function '{identifier}' must be called, "
                                 f"e.g. {identifier}(x)")
            elif identifier == "pi":
                node = self._const(math.pi)
            else:
                node = self._var(identifier, ())
            self._names[identifier] = node
        return self._names[identifier]

    def binop(self, op: str, a: Any, b: Any) -> Any:
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            a = self._const(a)
        return _OPERATORS[op](a, b)

    def attribute(self, a: Any, attr: str) -> Any:
        return self._node(a).T

    def subscript(self, a: Any, key: tuple) -> Any:
        return self._node(a)[key]


class SympyBuilder(_OperatorBuilder):
    """Builds SymPy expressions from the given ``symbols`` and ``functions`` only."""

    MAX_EXACT_BITS = 100_000
    """An exact power of numbers larger than this stays unevaluated (9**9**9 stays small)."""

    def __init__(self, symbols: Mapping[str, Any], functions: Mapping[str, Callable]):
        import sympy
        self._sympy = sympy
        self.symbols, self.functions = dict(symbols), dict(functions)

    def number(self, value: int | float) -> Any:
        return self._sympy.Integer(value) if isinstance(value, int) else self._sympy.Float(value)

    def name(self, identifier: str, position: int) -> Any:
        if identifier in self.symbols:
            return self.symbols[identifier]
        if identifier in self.functions:
            raise ParseError(f"function '{identifier}' must be called, e.g. {identifier}(x)")
        raise ParseError(f"unknown name '{identifier}'")

    def binop(self, op: str, a: Any, b: Any) -> Any:
        Rational = self._sympy.Rational
        if op == "**" and isinstance(a, Rational) and isinstance(b, Rational):
            bits = max(int(a.p).bit_length(), int(a.q).bit_length())
            if bits * (abs(int(b.p)) // int(b.q) + 1) > self.MAX_EXACT_BITS:
                return self._sympy.Pow(a, b, evaluate=False)
        return _OPERATORS[op](a, b)

    def attribute(self, a: Any, attr: str) -> Any:
        return a.T

    def subscript(self, a: Any, key: tuple) -> Any:
        return a[key[0] if len(key) == 1 else key]
