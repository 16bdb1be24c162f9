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
callable names, used to reject unknown ones early), ``keywords`` (overrides ``KEYWORDS``),
``hints`` (function name -> the message refusing it), ``lambdas`` (accept SymPy's
``Lambda(t, body)(x)``, calling ``declare_parameter`` and ``apply_lambda``) and
``literals`` (names that take one list of rows, ``Matrix([[a, b]])``, calling ``literal``).

Matrix notation (``parse_claim``, ``parse(..., matrix=True)``: claimed derivatives and
the formulas symdiff prints, read back). The rule: the text means what SymPy's printed
matrix formulas mean. A 1-D variable of shape (n,) is an n×1 column; ``*`` between two
matrices (or vectors) is the matrix product, as ``@`` is; a number times a matrix scales
it; ``.T`` transposes; ``x.T*x`` is a 1×1 matrix and ``(x.T*x)[0, 0]`` its number;
``A**k`` is a matrix power (``A.T**(-1)`` the inverse transpose); ``+ - < >`` and
functions act elementwise (``tanh.(A)``, ``relu'.(A)``, ``HadamardProduct(A, B)``); ``I``
is the identity and ``1`` next to a matrix in a product, or ``1.T``, a matrix of ones,
their sizes inferred; ``Matrix([[A, 0], [0, B]])`` is an explicit or block matrix (the one
place a list is allowed). Three spellings Python cannot parse are rewritten first, keeping
positions: ``1.T`` -> ``1 .T``, ``f.(`` -> ``f (``, and the prime of ``relu'`` becomes a
letter of the name. The rewritten text then goes through the same allow-list.

Hostile text (see docs/reliability.md, "Parsing hostile text"): every refusal is a
``ParseError`` with a position. Limits: ``MAX_LENGTH`` characters (checked before any
other work), ``MAX_DEPTH`` levels of nesting (Python's own parser allows 200 levels of
brackets), ``MAX_NODES`` numbers, names, operators and calls for the graph builders
(``SympyBuilder`` has tighter ones), numbers within the float range (about 1.8e308) and
ints used as indices, axes or sizes within int64. Unicode: names may use any letters
Python accepts, but a name Python would NFKC-normalise into another one (``ｅｘｐ``,
``𝐱``, ``xⁿ``), a name written with Cyrillic or Greek look-alikes of Latin letters only
(``ѕin``) and ``x·y`` are refused, suggesting the plain spelling; controls, null bytes,
lone surrogates and invisible format characters (zero-width joiners, bidirectional
marks) are refused anywhere, comments included; characters Python refuses (``−``, ``×``,
``²``, a no-break space) are named with what to write instead.

>>> import sympy
>>> from symdiff.text.sympy_builder import parse_sympy
>>> x = sympy.Symbol("x")
>>> parse_sympy("2*x**3 - 1", {"x": x}, {})
2*x**3 - 1
"""
from __future__ import annotations
from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import sys
import threading
import unicodedata
import warnings
from typing import Any, Callable, Mapping, Optional


from symdiff.budget import gc_paused
from symdiff.errors import ParseError, SymdiffError
from symdiff.text.hygiene import BIDI, CONTROL_ASCII, INT_LITERAL, NEWLINE, NON_ASCII, char_name, character_hint, first_line, clip_text, spelling_problem
from symdiff.text.numbers import fits_float

__all__ = ["MAX_LENGTH", "MAX_DEPTH", "MAX_NODES", "KEYWORDS", "parse", "parse_with",
           "parse_sympy", "parse_claim", "NodeBuilder", "SympyBuilder", "MatrixBuilder"]

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
_LAMBDA = "<Lambda application>"     # markers in the info of a call (no name has spaces)
_LITERAL = "<matrix literal>"
_EXTRA_RECURSION = 20_000

_RECURSION_LOCK = threading.Lock()


def parse_with(text: str, builder: Any) -> Any:
    """Check ``text`` against the allow-list and translate it with ``builder``.

    Raises ``ParseError`` (a ``ValueError``) naming what was refused and where.  Errors a
    builder raises on purpose (``SymdiffError``) pass through; any other exception from a
    builder method becomes a ``ParseError`` at the node's position.

    >>> import sympy
    >>> from symdiff.text.sympy_builder import SympyBuilder
    >>> x, y = sympy.symbols("x y")
    >>> parse_with("x*y + 1", SympyBuilder({"x": x, "y": y}, {}))
    x*y + 1
    """
    return Translator(text, builder).run()



def _ast_parse(body: str) -> ast.Expression:
    # SyntaxWarnings ("'int' object is not callable") would leak to the caller's console.
    # CPython converts its parse tree to ast objects recursively, within a budget tied to
    # sys.getrecursionlimit(), and a flat chain such as x+x+...+x is one level per term.
    # Real nesting is capped by the parser itself (MemoryError / "too many nested
    # parentheses"), and MAX_LENGTH bounds a chain to 50,000 levels, so a temporarily
    # larger budget is safe. It is raised up front: a first try at the normal limit would
    # do all the parsing work before failing on a long chain (a third of a second at
    # MAX_LENGTH).
    with warnings.catch_warnings(), _RECURSION_LOCK:
        warnings.simplefilter("ignore")
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(old + _EXTRA_RECURSION)
        try:
            return ast.parse(body, mode="eval")
        finally:
            sys.setrecursionlimit(old)


class Translator:
    """One parse: positions, the allow-list check and the translation."""

    def __init__(self, text: str, builder: Any, length_checked: bool = False):
        if not isinstance(text, str):
            raise TypeError(f"expected the formula as a str, got {type(text).__name__}")
        limit = min(MAX_LENGTH, getattr(builder, "max_length", MAX_LENGTH))
        if len(text) > limit and not length_checked:  # before any work on the text
            raise ParseError(f"expression is too long ({len(text)} characters; "
                             f"the limit is {limit})", text, limit)
        self.text, self.builder = text, builder
        self.functions = getattr(builder, "functions", None)
        self.keywords = getattr(builder, "keywords", KEYWORDS)
        self.hints: Mapping[str, str] = getattr(builder, "hints", {})
        self.lambdas = bool(getattr(builder, "lambdas", False))
        self.lambda_params: set[str] = set()
        # Python rejects leading indentation in eval mode; parse without it, shift positions.
        body = text.lstrip(" \t\f\r\n")
        self.shift = len(text) - len(body)
        self.lines = NEWLINE.split(body)
        self.line_starts = [0]
        for m in NEWLINE.finditer(body):
            self.line_starts.append(m.end())
        self.byte_to_char: dict[int, list[int]] = {}
        self.body = body
        self.ascii_lines = [line.isascii() for line in self.lines]
        self.flat = len(self.lines) == 1 and self.ascii_lines[0]  # columns are characters

    def char_col(self, lineno: int, col: int) -> int:
        """The character offset in line ``lineno`` of the UTF-8 byte offset ``col``."""
        if self.ascii_lines[lineno - 1]:
            return col
        line = self.lines[lineno - 1]
        table = self.byte_to_char.get(lineno)
        if table is None:
            table = [i for i, ch in enumerate(line) for _ in range(len(ch.encode()))]
            table.append(len(line))
            self.byte_to_char[lineno] = table
        return table[min(max(col, 0), len(table) - 1)]

    # -- positions: ast columns are UTF-8 byte offsets per line; ParseError wants characters
    def _pos(self, lineno: Optional[int], col: Optional[int], chars: bool = False) -> int:
        if lineno is None or col is None or not 1 <= lineno <= len(self.lines):
            return 0
        if not chars:
            col = self.char_col(lineno, col)
        return min(max(self.shift + self.line_starts[lineno - 1] + col, 0), len(self.text))

    def pos(self, node: ast.AST) -> int:
        # An operator or attribute starts where its left operand does; point at the operator.
        kind = type(node)
        if kind is ast.Name and self.flat:
            return self.shift + node.col_offset
        if kind is ast.BinOp or kind is ast.Compare or kind is ast.Attribute:
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

    def refuse_characters(self) -> None:
        """Characters refused anywhere, comments included, before Python sees the text:
        controls and null bytes, lone surrogates (not characters: they cannot be encoded),
        and invisible format characters (zero-width joiners, byte-order marks, and the
        bidirectional controls that make text display in another order than it reads)."""
        body = self.body
        m = CONTROL_ASCII.search(body)
        if m:
            ch = m.group()
            what = "a null character" if ch == "\0" else "a control character"
            raise ParseError(f"{what} (U+{ord(ch):04X}) is not allowed", self.text,
                             self.shift + m.start())
        if body.isascii():
            return
        for m in NON_ASCII.finditer(body):
            ch = m.group()
            category = unicodedata.category(ch)
            if category == "Cs":
                msg = f"a lone surrogate (U+{ord(ch):04X}) is not a character"
            elif category == "Cc":
                msg = f"a control character ({char_name(ch)}) is not allowed"
            elif category == "Cf":
                msg = (f"an invisible formatting character ({char_name(ch)}) is not allowed"
                       + (": it changes the order in which text is displayed"
                          if ch in BIDI else ""))
            else:
                continue
            raise ParseError(msg, self.text, self.shift + m.start())

    def syntax_error(self, e: SyntaxError) -> ParseError:
        msg = e.msg or "invalid syntax"
        offset = None if e.offset is None else max(e.offset - 1, 0)
        where = self._pos(e.lineno, offset, chars=True)
        if msg.startswith("Exceeds the limit"):   # a decimal literal of over 4300 digits
            m = next((m for m in INT_LITERAL.finditer(self.text)
                      if len(m.group()) > 4000), None)
            return ParseError("this number has too many digits (numbers must fit in a float: "
                              "at most about 1.8e308)", self.text,
                              m.start() if m else where)
        if msg.startswith(("invalid character", "invalid non-printable character")) \
                and where < len(self.text):
            ch = self.text[where]
            return ParseError(f"invalid character '{ch}' ({char_name(ch)})"
                              f"{character_hint(ch)}", self.text, where)
        if msg.startswith("too many nested parentheses"):
            msg = ("too many nested parentheses: Python's parser allows at most 200 levels "
                   "of brackets")
        msg = msg if msg.startswith("invalid syntax") else f"invalid syntax ({msg})"
        return ParseError(msg, self.text, where)

    # -- the whole run
    def run(self) -> Any:
        if not self.body.strip():
            raise ParseError("empty expression", self.text, 0)
        self.refuse_characters()
        with gc_paused(len(self.body)):
            try:
                tree = _ast_parse(self.body)
            except SyntaxError as e:
                raise self.syntax_error(e) from None
            except (RecursionError, MemoryError):
                raise ParseError("expression is nested too deeply for Python's parser",
                                 self.text, 0) from None
            except ValueError as e:  # e.g. text Python's compiler refuses outright
                raise ParseError(f"invalid syntax ({e})", self.text, 0) from None
            return self.translate(tree)

    def translate(self, tree: ast.Expression) -> Any:
        # Pass 1, pre-order and left first, so the outermost, leftmost problem is reported.
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
                append((node, _BINOPS.get(type(node.op)) or
                        self.operator(node.op, _BINOPS, node), 2))
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
                             f"and calls (the limit here is {limit})", self.text, 0)

        # Pass 2: reversed pre-order puts every node after its subtree; the results of its
        # children are then on top of `values`, first child topmost.
        values: list[Any] = []
        b, build, vpop, vappend = self.builder, self.build, values.pop, values.append
        shift = self.shift
        node = tree.body
        try:
            for node, info, n in reversed(order):
                kind = type(node)
                if kind is Name:
                    vappend(b.name(node.id, shift + node.col_offset if flat
                                   else self.pos(node)))
                elif kind is BinOp:
                    first = vpop()
                    vappend(b.binop(info, first, vpop()))
                elif n == 0:
                    vappend(build(node, info, ()))
                elif n == 1:
                    vappend(build(node, info, (vpop(),)))
                elif n == 2:
                    first = vpop()
                    vappend(build(node, info, (first, vpop())))
                else:
                    args = values[len(values) - n:][::-1]
                    del values[len(values) - n:]
                    vappend(build(node, info, args))
        except Exception as e:
            raise self.build_error(node, e) from (None if isinstance(e, SymdiffError) or
                                                  isinstance(e, RecursionError) else e)
        return values[0]

    # -- pass 1: refuse anything not on the allow-list; say which children to translate
    def check(self, node: ast.AST) -> tuple[Any, list[tuple[ast.AST, int]]]:
        kind = type(node)  # ast.parse makes exact node types: `is` is the fast test
        if kind is ast.Name:
            self.check_name(node.id, node)
            return None, []
        if kind is ast.BinOp:
            return self.operator(node.op, _BINOPS, node), [(node.left, 0), (node.right, 1)]
        if kind is ast.Constant:
            return self.number(node), []
        if kind is ast.Call:
            return self.check_call(node)
        if kind is ast.UnaryOp:
            return self.operator(node.op, _UNARY, node), [(node.operand, 1)]
        if kind is ast.Compare:
            if len(node.ops) > 1:
                raise self.error("chained comparisons like 'a < b < c' are not supported",
                                 node)
            op = self.operator(node.ops[0], _COMPARE, node)
            return op, [(node.left, 0), (node.comparators[0], 1)]
        if kind is ast.Attribute:
            if not self.flat:
                self.check_spelling(node.attr, node)
            if node.attr != "T":
                raise self.error(f"attribute access '.{clip_text(node.attr)}' is not allowed "
                                 "(only '.T', the transpose)", node)
            return None, [(node.value, 0)]
        if kind is ast.Subscript:
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return tuple(self.index(item) for item in items), [(node.value, 0)]
        raise self.error(_REFUSED_NODES.get(kind, f"{kind.__name__} "
                                            "expressions are not allowed"), node)

    def operator(self, op: ast.AST, allowed: dict, node: ast.AST) -> str:
        if type(op) in allowed:
            return allowed[type(op)]
        raise self.error(_REFUSED_OPS.get(type(op), f"operator {type(op).__name__} is not "
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
            self.check_spelling(name, node)
        if name.startswith("_") and (name not in self.lambda_params or name.startswith("__")):
            raise self.error(f"names starting with '_' are not allowed ('{clip_text(name)}')",
                             node)

    def check_spelling(self, name: str, node: ast.AST) -> None:
        """Refuse a name Python would read as another one (see ``spelling_problem``).
        ``node`` is the Name, the Attribute or the keyword whose name it is."""
        lineno, end_lineno = node.lineno, node.end_lineno
        if self.flat or not 1 <= lineno <= len(self.lines) or self.ascii_lines[lineno - 1] \
                and (lineno == end_lineno or type(node) is ast.Name):
            return
        line = self.lines[lineno - 1]
        if type(node) is ast.Name:
            start = self.char_col(lineno, node.col_offset)
            original = line[start:self.char_col(lineno, node.end_col_offset)]
        else:   # .attr or attr=value: the name is the identifier after '.' or before '='
            start = self.pos(node) - self.shift - self.line_starts[lineno - 1] \
                if type(node) is ast.Attribute else self.char_col(lineno, node.col_offset)
            end = self._pos(node.end_lineno, node.end_col_offset) - self.shift
            segment = self.body[self.line_starts[lineno - 1] + start:end]
            m = re.search(r"\w+", segment)
            if m is None:
                return
            original, start = m.group(), start + m.start()
        problem = spelling_problem(original)
        if problem is not None:
            i, message = problem
            pos = self.shift + self.line_starts[lineno - 1] + start + i
            raise ParseError(message, self.text, min(pos, len(self.text)))

    def check_call(self, node: ast.Call) -> tuple[Any, list[tuple[ast.AST, int]]]:
        func = node.func
        if self.lambdas and isinstance(func, ast.Call) and isinstance(func.func, ast.Name) \
                and func.func.id == "Lambda":
            return self.check_lambda(node, func)
        if not isinstance(func, ast.Name):
            if type(func) in _REFUSED_NODES:
                raise self.error(_REFUSED_NODES[type(func)], func)
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
            if not self.flat:
                self.check_spelling(kw.arg, kw)
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
            self.check_spelling(param, inner.args[0])
        if param.startswith("__"):
            raise self.error(f"names starting with '_' are not allowed ('{param}')",
                             inner.args[0])
        self.lambda_params.add(param)
        declare = getattr(self.builder, "declare_parameter", None)
        if declare is not None:
            declare(param)
        return (_LAMBDA, param), [(inner.args[1], 1), (node.args[0], 1)]

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
        return (_LITERAL, len(grid), len(grid[0])), [(e, 1) for row in grid for e in row]

    def unknown_function(self, name: str) -> str:
        known = sorted(self.functions)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        shown = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
        return (f"unknown function '{clip_text(name)}'{hint} (known functions: {shown}; "
                f"{len(known)} in all)")

    # -- constants: subscript keys, keyword values, shape tuples (flat, so no recursion)
    def int_const(self, node: ast.AST) -> Optional[int]:
        sign = 1
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
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

    # -- pass 2: builder calls
    def build(self, node: ast.AST, info: Any, args: Any) -> Any:
        """The builder's call for ``node``, from its ``info`` (pass 1) and its children's
        values ``args``."""
        b = self.builder
        kind = type(node)
        if kind is ast.Name:
            return b.name(node.id, self.pos(node))
        if kind is ast.BinOp:
            return b.binop(info, args[0], args[1])
        if kind is ast.Constant:
            return b.number(info)
        if kind is ast.UnaryOp:
            return b.unary(info, args[0])
        if kind is ast.Compare:
            return b.compare(info, args[0], args[1])
        if kind is ast.Call and info[0] == _LAMBDA:
            return b.apply_lambda(info[1], args[0], args[1], self.pos(node))
        if kind is ast.Call and info[0] == _LITERAL:
            return b.literal(info[1], info[2], list(args), self.pos(node))
        if kind is ast.Call:
            name, slots, kwargs = info
            built = iter(args)
            values = [const if is_const else next(built) for is_const, const in slots]
            return b.call(name, values, kwargs, self.pos(node))
        if kind is ast.Attribute:
            return b.attribute(args[0], node.attr)
        return b.subscript(args[0], info)

    def build_error(self, node: ast.AST, e: Exception) -> Exception:
        """What a builder's exception becomes: a ``ParseError`` without the text gets the
        text and the node's position; other ``SymdiffError``s pass unchanged; anything
        else becomes a ``ParseError`` at the node's position."""
        if isinstance(e, ParseError):
            if e.text:
                return e
            where = self.pos(node) if e.position is None else e.position
            return ParseError(e.message, self.text, where)
        if isinstance(e, SymdiffError):
            return e
        if isinstance(e, RecursionError):
            return ParseError(f"cannot build {_describe(node)}: the expression is nested too "
                              "deeply", self.text, self.pos(node))
        return ParseError(f"cannot build {_describe(node)}: {type(e).__name__}: "
                          f"{first_line(e)}", self.text, self.pos(node))



def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return f"the call to '{node.func.id}'"
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare)):
        op = type(node.ops[0] if isinstance(node, ast.Compare) else node.op)
        return "'" + (_BINOPS.get(op) or _UNARY.get(op) or _COMPARE[op]) + "'"
    return {ast.Name: "the name", ast.Constant: "the number", ast.Attribute: "'.T'",
            ast.Subscript: "the subscript"}.get(type(node), "the expression")


OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "**": operator.pow, "@": operator.matmul,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class OperatorBuilder:
    """What both builders share: Python's operators and calls of the allowed functions."""

    functions: Mapping[str, Callable]

    def binop(self, op: str, a: Any, b: Any) -> Any:
        return OPERATORS[op](a, b)

    def compare(self, op: str, a: Any, b: Any) -> Any:
        return self.binop(op, a, b)

    def unary(self, op: str, a: Any) -> Any:
        return -a if op == "-" else +a

    def call(self, fname: str, args: list, kwargs: dict, position: int) -> Any:
        return self.functions[fname](*args, **kwargs)
