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
>>> x = sympy.Symbol("x")
>>> parse_sympy("2*x**3 - 1", {"x": x}, {})
2*x**3 - 1
"""
from __future__ import annotations

import ast
import contextlib
import difflib
import gc
import itertools
import math
import operator
import re
import sys
import threading
import unicodedata
import warnings
from typing import Any, Callable, Iterator, Mapping, Optional

import numpy as np

from .errors import ParseError, SymdiffError

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
_PAUSE_GC_LENGTH = 2_000        # texts longer than this are translated with the GC paused
_RECURSION_LOCK = threading.Lock()
_NEWLINE = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer counts as a line break


_LOOKALIKES = dict(zip(
    "аАВеЕКМНоОрРсСТуХхѕЅіІјЈԁһӏԛԝүҮοΟΑΒΕΖΗΙΚΜΝΡΤΥΧϳɡ",
    "aABeEKMHoOpPcCTyXxsSiIjJdhlqwyYoOABEZHIKMNPTYXjg"))
"""Cyrillic and Greek letters (and the Latin script g) that look like a Latin letter: a
name written only with these and ASCII is refused (``ѕin`` with a Cyrillic dze reads as
``sin`` but is another name)."""
_WEAK_LOOKALIKES = dict(zip("ρνχικυϲ", "pvxikuc"))
"""Greek letters that are names of their own in mathematics (ρ, ν, χ) but look like a
Latin letter: refused only in a name that also has Latin letters (``ρi`` reads as ``pi``)."""
_MIDDLE_DOTS = "\u00b7\u0387"    # Python reads x·y as one name
_MAX_SHOWN = 40                  # longest name or number quoted whole in a message
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL_ASCII = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_INT_LITERAL = re.compile(r"(?<![\w.])[0-9][0-9_]*")
_CHARACTER_HINTS = {
    "-": "\u2212\u2010\u2011\u2012\u2013\u2014\u2015\ufe63\uff0d",
    "*": "\u00d7\u2217\u22c5\u2219\u2022\u00b7\u0387\u2715\u2716",
    "/": "\u00f7\u2215\u2044\u2236",
    "<=": "\u2264\u2266", ">=": "\u2265\u2267", "!= (not supported)": "\u2260",
    "sqrt(x)": "\u221a", "sum(...)": "\u2211",
    "a plain space": "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                     "\u2009\u200a\u202f\u205f\u3000\u2028\u2029",
    "no quotes: formulas have no strings": "\u2018\u2019\u201a\u201b\u201c\u201d\u201e"
                                           "\u201f\u00ab\u00bb\u2032\u2033",
}
_HINT_OF = {ch: what for what, chars in _CHARACTER_HINTS.items() for ch in chars}


def _shown(name: str) -> str:
    """A name or number for a message: whole when short, else its start and its length."""
    if len(name) <= _MAX_SHOWN:
        return name
    return f"{name[:_MAX_SHOWN // 2]}...({len(name)} characters)"


def _first_line(e: BaseException) -> str:
    lines = str(e).splitlines()
    return lines[0][:200] if lines else ""


def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip()


def _character_hint(ch: str) -> str:
    """What to write instead of a character Python refuses, for the message."""
    if ch in _HINT_OF:
        what = _HINT_OF[ch]
        return f": write {what}" if " " in what else f": write '{what}'"
    name = unicodedata.name(ch, "")
    if "SUPERSCRIPT" in name:
        return ": superscripts are not powers, write x**2"
    if "SUBSCRIPT" in name:
        return ": subscripts are not part of names, write x1 or x_1"
    plain = unicodedata.normalize("NFKC", ch)
    if plain != ch and plain.isascii() and plain.isprintable():
        return f": write '{plain}'"
    return ""


def _spelling_problem(original: str) -> Optional[tuple[int, str]]:
    """Why the name ``original`` (as written in the text) is refused, and where in it, or
    None.  Python reads a name through NFKC normalisation, so ``ｅｘｐ``, ``𝐱`` and ``xⁿ``
    would silently become ``exp``, ``x`` and ``xn``: symdiff refuses them instead, and names
    made of Latin look-alikes (``ѕin`` with a Cyrillic dze), and ``x·y``, one name."""
    if original.isascii():
        return None
    shown = _shown(original)
    for i, ch in enumerate(original):
        if ch in _MIDDLE_DOTS:
            return i, (f"'{shown}' is one name in Python ({_char_name(ch)} is a letter "
                       "there): write '*' for a product")
    plain = unicodedata.normalize("NFKC", original)
    if plain != original:
        i = next(i for i, ch in enumerate(original)
                 if unicodedata.normalize("NFKC", ch) != ch)
        ch = original[i]
        if "SUPERSCRIPT" in unicodedata.name(ch, ""):
            return i, (f"the name '{shown}' contains {_char_name(ch)}: superscripts are "
                       "not powers, write x**2")
        return i, (f"the name '{shown}' is written with {_char_name(ch)}, which Python "
                   f"reads as '{unicodedata.normalize('NFKC', ch)}': write "
                   f"'{_shown(plain)}'")
    table = _LOOKALIKES
    if any("a" <= ch.lower() <= "z" for ch in original):   # mixed with Latin letters
        table = {**_WEAK_LOOKALIKES, **_LOOKALIKES}
    latin = "".join(table.get(ch, ch) for ch in original)
    if latin.isascii():
        i = next(i for i, ch in enumerate(original) if ch in table)
        return i, (f"the name '{shown}' is written with {_char_name(original[i])}, a "
                   f"look-alike of the Latin '{latin[i]}': write '{_shown(latin)}'")
    return None


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


def parse(text: str, shapes: Mapping[str, tuple] | None = None, *,
          matrix: bool = False) -> "Node":  # noqa: F821
    """Parse ``text`` into a symdiff graph ``Node`` (this is ``sd.parse``).

    Names become variables (shape from ``shapes``, scalar otherwise; ``pi`` is a constant);
    calls use ``symdiff.ops.FUNCTIONS``. With ``matrix=True`` the text is read in matrix
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
    if matrix:
        from .node import var
        mb = MatrixBuilder({k: var(k, tuple(v)) for k, v in (shapes or {}).items()},
                           strict=False)
        with _gc_paused(text):
            return mb.finish(_parse_matrix(text, mb), None, text)
    builder = NodeBuilder(shapes)
    with _gc_paused(text):
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


@contextlib.contextmanager
def _gc_paused(text: str) -> Iterator[None]:
    """Pause the cyclic GC while a long text is parsed and translated.  The ast tree, the
    passes' tuples and the builder's values are up to 100,000 objects each: every automatic
    collection would walk all of them again (a third of the time of a long formula).
    Nothing here makes reference cycles, so nothing is left for the GC to find."""
    if not isinstance(text, str) or len(text) <= _PAUSE_GC_LENGTH or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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


class _Translator:
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
        self.lines = _NEWLINE.split(body)
        self.line_starts = [0]
        for m in _NEWLINE.finditer(body):
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
        m = _CONTROL_ASCII.search(body)
        if m:
            ch = m.group()
            what = "a null character" if ch == "\0" else "a control character"
            raise ParseError(f"{what} (U+{ord(ch):04X}) is not allowed", self.text,
                             self.shift + m.start())
        if body.isascii():
            return
        for m in _NON_ASCII.finditer(body):
            ch = m.group()
            category = unicodedata.category(ch)
            if category == "Cs":
                msg = f"a lone surrogate (U+{ord(ch):04X}) is not a character"
            elif category == "Cc":
                msg = f"a control character ({_char_name(ch)}) is not allowed"
            elif category == "Cf":
                msg = (f"an invisible formatting character ({_char_name(ch)}) is not allowed"
                       + (": it changes the order in which text is displayed"
                          if ch in _BIDI else ""))
            else:
                continue
            raise ParseError(msg, self.text, self.shift + m.start())

    def syntax_error(self, e: SyntaxError) -> ParseError:
        msg = e.msg or "invalid syntax"
        offset = None if e.offset is None else max(e.offset - 1, 0)
        where = self._pos(e.lineno, offset, chars=True)
        if msg.startswith("Exceeds the limit"):   # a decimal literal of over 4300 digits
            m = next((m for m in _INT_LITERAL.finditer(self.text)
                      if len(m.group()) > 4000), None)
            return ParseError("this number has too many digits (numbers must fit in a float: "
                              "at most about 1.8e308)", self.text,
                              m.start() if m else where)
        if msg.startswith(("invalid character", "invalid non-printable character")) \
                and where < len(self.text):
            ch = self.text[where]
            return ParseError(f"invalid character '{ch}' ({_char_name(ch)})"
                              f"{_character_hint(ch)}", self.text, where)
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
        with _gc_paused(self.body):
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
                raise self.error(f"attribute access '.{_shown(node.attr)}' is not allowed "
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
                    type(value) is int and value.bit_length() > 1023 and not _fits_float(value):
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
            raise self.error(f"names starting with '_' are not allowed ('{_shown(name)}')",
                             node)

    def check_spelling(self, name: str, node: ast.AST) -> None:
        """Refuse a name Python would read as another one (see ``_spelling_problem``).
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
        problem = _spelling_problem(original)
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
                raise self.error(f"keyword argument '{_shown(kw.arg)}' is not allowed for "
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
        return (f"unknown function '{_shown(name)}'{hint} (known functions: {shown}; "
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
                          f"{_first_line(e)}", self.text, self.pos(node))


_FLOAT_MAX = float(np.finfo(np.float64).max)
_MAX_CONSTANT_EXPONENT = 1024
"""A power of two numbers with a larger |exponent| (base other than 0, 1, -1) is computed
in floats at parse time and kept as that constant: as a pow node its closed form is the
exact power (9**9**9 would have 370 million digits: SymPy never returns), while its float
value, the only one evaluation ever sees, is inf, 0, or a float like any other."""


def _number_of(value: Any) -> Optional[float]:
    """A plain number, or the value of a scalar node computed from numbers (a parse makes
    variables, which have no value), as a float; else None."""
    if isinstance(value, (int, float)):
        return float(value)
    v = getattr(value, "_value", None)
    if v is not None and getattr(value, "shape", None) == ():
        return float(v)
    return None


def _constant_power(base: Optional[float], exponent: Optional[float]) -> Optional[float]:
    """``base**exponent`` in float64 if both are numbers and the exponent is beyond
    ``_MAX_CONSTANT_EXPONENT`` (see there), else None."""
    if base is None or exponent is None or abs(base) in (0.0, 1.0) \
            or not abs(exponent) > _MAX_CONSTANT_EXPONENT:
        return None
    with np.errstate(all="ignore"):
        return float(np.float64(base) ** np.float64(exponent))


def _fits_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


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

    max_nodes = MAX_NODES

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
        if op == "**":
            folded = _constant_power(_number_of(a), _number_of(b))
            if folded is not None:
                return self._const(folded)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            a = self._const(a)
        return _OPERATORS[op](a, b)

    def attribute(self, a: Any, attr: str) -> Any:
        return self._node(a).T

    def subscript(self, a: Any, key: tuple) -> Any:
        return self._node(a)[key]


class SympyBuilder(_OperatorBuilder):
    """Builds SymPy expressions from the given ``symbols`` and ``functions`` only.

    It reads short formulas (the rows of symdiff's primitive table), and SymPy's own
    arithmetic is slow: each operation costs up to a millisecond, a sum of n distinct
    symbols built term by term is quadratic, and ``sqrt`` of a 4000-bit integer factors
    it for most of a second. So the text is limited to ``max_length`` characters and
    ``max_nodes`` numbers, names, operators and calls, ``max_depth`` levels of nesting,
    and exact numbers to
    ``MAX_EXACT_BITS`` bits: a power of numbers beyond that stays unevaluated
    (``9**9**9`` is read, but is refused as an operand), a product beyond it is refused.
    """

    MAX_EXACT_BITS = 1_100
    """Largest exact number computed, in bits (a float-range integer has 1024)."""
    max_length = 1_000
    """Longest text read, in characters."""
    max_nodes = 1_000
    """Most numbers, names, operators and calls in one text."""
    max_depth = 20
    """Deepest nesting (counted as ``MAX_DEPTH`` is): SymPy's time on a tower of powers
    grows faster than its depth (0.2 s at 20 levels, 3 s at 80)."""

    def __init__(self, symbols: Mapping[str, Any], functions: Mapping[str, Callable]):
        import sympy
        self._sympy = sympy
        self.symbols, self.functions = dict(symbols), dict(functions)
        # id -> (value, bound on the bits of the exact numbers in it), for values whose
        # bound is not 0; an unevaluated huge power has the bound None
        self._bits: dict[int, tuple[Any, Optional[int]]] = {}

    def _huge(self, value: Any) -> bool:
        entry = self._bits.get(id(value))
        return entry is not None and entry[0] is value and entry[1] is None

    def _bound(self, value: Any) -> int:
        entry = self._bits.get(id(value))
        if entry is None or entry[0] is not value:
            return 0
        if entry[1] is None:
            shown = _shown(str(value))
            if isinstance(value, self._sympy.Float) or value.has(self._sympy.Float):
                raise ParseError(f"the number {shown} is beyond the float range (about "
                                 "1.8e308)")
            raise ParseError(f"the number {shown} is too large to compute with exactly (more "
                             f"than {self.MAX_EXACT_BITS} bits)")
        return entry[1]

    def _keep(self, value: Any, bits: Optional[int]) -> Any:
        if isinstance(value, self._sympy.Float) and not abs(float(value)) <= _FLOAT_MAX:
            bits = None   # beyond float64 (mpmath goes on): exp(9.0**59049) takes seconds
        if bits is None or bits:
            self._bits[id(value)] = (value, bits)
        return value

    def number(self, value: int | float) -> Any:
        if isinstance(value, int):
            return self._keep(self._sympy.Integer(value), value.bit_length())
        return self._sympy.Float(value)

    def name(self, identifier: str, position: int) -> Any:
        if identifier in self.symbols:
            return self.symbols[identifier]
        if identifier in self.functions:
            raise ParseError(f"function '{_shown(identifier)}' must be called, e.g. "
                             f"{_shown(identifier)}(x)")
        raise ParseError(f"unknown name '{_shown(identifier)}'")

    def binop(self, op: str, a: Any, b: Any) -> Any:
        sympy = self._sympy
        if op == "**" and (self._huge(a) or self._huge(b)):  # 9**9**9**9: a tower, unevaluated
            return self._keep(sympy.Pow(a, b, evaluate=False), None)
        bits_a, bits_b = self._bound(a), self._bound(b)
        if op == "**" and isinstance(a, sympy.Number) and isinstance(b, sympy.Number):
            if isinstance(a, sympy.Rational) and isinstance(b, sympy.Rational):
                bits = max(int(a.p).bit_length(), int(a.q).bit_length(), 1)
                k = abs(int(b.p)) // int(b.q) + 1
                if bits * k > self.MAX_EXACT_BITS:
                    return self._keep(sympy.Pow(a, b, evaluate=False), None)
                return self._keep(a ** b, bits * k)
            try:   # a float power: mpmath's exponents would grow without bound
                size = abs(float(b) * math.log2(abs(float(a)))) if a != 0 else 0.0
            except (OverflowError, ValueError):
                size = math.inf
            if not size <= 1100:   # beyond the float range
                return self._keep(sympy.Pow(a, b, evaluate=False), None)
        if op in ("*", "/", "@", "**"):
            bits = bits_a + bits_b
            if bits > self.MAX_EXACT_BITS:
                raise ParseError(f"'{op}': the exact numbers in the result could have more "
                                 f"than {self.MAX_EXACT_BITS} bits")
        else:
            bits = max(bits_a, bits_b) + (1 if bits_a or bits_b else 0)
            bits = min(bits, self.MAX_EXACT_BITS)
        return self._keep(_OPERATORS[op](a, b), bits)

    def unary(self, op: str, a: Any) -> Any:
        return self._keep(super().unary(op, a), self._bound(a))

    def call(self, fname: str, args: list, kwargs: dict, position: int) -> Any:
        bits = max((self._bound(a) for a in args), default=0)
        return self._keep(super().call(fname, args, kwargs, position), bits)

    def attribute(self, a: Any, attr: str) -> Any:
        return self._keep(a.T, self._bound(a))

    def subscript(self, a: Any, key: tuple) -> Any:
        return self._keep(a[key[0] if len(key) == 1 else key], self._bound(a))


# ---------------------------------------------------------------------------
# matrix notation: claims, and SymPy's printed matrix formulas read back
# ---------------------------------------------------------------------------

_PRIME = "\u02b9"
"""MODIFIER LETTER PRIME, a letter in Python names: ``relu'`` is read as the name ``reluʹ``."""
_MATRIX_REWRITES = re.compile(
    r"(?P<one>(?<![\w.])1\.T(?!\w))"          # 1.T: a row of ones (Python reads "1." first)
    r"|(?P<prime>(?<=\w)'(?=\.?\s*\())"         # relu'.(: a derivative (Python: a string)
    r"|(?P<dot>(?<=[\w)'\u02b9])\.(?=\s*\())"  # tanh.(X): elementwise application
)
_MAX_MATRIX_POWER = 64
_MAX_MATRIX_LITERALS = 200    # Matrix([...]) in one text: their sizes are solved together
_MAX_MATRIX_ENTRIES = 5_000   # entries of those, in all


def _matrix_text(text: str) -> tuple[str, list[int]]:
    """Rewrite the three spellings Python cannot parse; ``where[i]`` is the position in
    ``text`` of character ``i`` of the result (for error positions)."""
    out: list[str] = []
    where: list[int] = []
    last = 0
    for m in _MATRIX_REWRITES.finditer(text):
        out.append(text[last:m.start()])
        where.extend(range(last, m.start()))
        i = m.start()
        if m.group("one"):
            out.append("1 .T")
            where.extend((i, i + 1, i + 1, i + 2))
        else:
            out.append(_PRIME if m.group("prime") else " ")
            where.append(i)
        last = m.end()
    out.append(text[last:])
    where.extend(range(last, len(text) + 1))
    return "".join(out), where


def _parse_matrix(text: str, builder: "MatrixBuilder") -> Any:
    if not isinstance(text, str):
        raise TypeError(f"expected the formula as a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"expression is too long ({len(text)} characters; "
                         f"the limit is {MAX_LENGTH})", text, MAX_LENGTH)
    body, where = _matrix_text(text)
    builder._back = where
    try:   # the rewrite may lengthen the text (1.T -> 1 .T): its length was checked above
        return _Translator(body, builder, length_checked=True).run()
    except ParseError as e:
        pos = None if e.position is None else where[min(e.position, len(where) - 1)]
        raise ParseError(e.message.replace(_PRIME, "'"), text, pos) from None


def parse_claim(text: str, variables: Any, wrt: Any = None) -> "Node":  # noqa: F821
    """Parse a claimed derivative written in matrix notation into a graph ``Node``.

    ``variables``: the names the text may use, as a mapping name -> Node, a list of
    variable nodes, or a function Node (its variables and tensors). Any other name is a
    ``ParseError``. With ``wrt`` (the variable the claim is the derivative for), the
    result has ``wrt``'s shape: a matrix claim must have ``wrt``'s matrix shape (a vector
    of shape (n,) is an n×1 column), a number is broadcast to it. See ``MatrixBuilder``
    for the notation.

    >>> import symdiff as sd
    >>> A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
    >>> g = parse_claim("2*A.T*(A*x - b)", [A, x, b], wrt=x)
    >>> g.shape, g.sympy()
    ((2,), 2*A.T*(A*x - b))
    """
    from .node import Node, topological
    if isinstance(variables, Node):
        variables = {n.name: n for n in topological([variables]) if n.op in ("var", "tensor")}
    elif isinstance(variables, Mapping):
        variables = dict(variables)
    else:
        variables = {n.name: n for n in variables}
    if wrt is not None and wrt.name not in variables:
        variables[wrt.name] = wrt
    builder = MatrixBuilder(variables, strict=True)
    with _gc_paused(text if isinstance(text, str) else ""):
        return builder.finish(_parse_matrix(text, builder), wrt, text)


class _Dim:
    """A matrix dimension, known or still to be inferred (union-find)."""

    __slots__ = ("up", "size")

    def __init__(self, size: Optional[int] = None):
        self.up: Optional[_Dim] = None
        self.size = size

    def root(self) -> "_Dim":
        d = self
        while d.up is not None:
            d = d.up
        n = self   # path compression: later lookups are one step
        while n.up is not None and n.up is not d:
            n.up, n = d, n.up
        return d

    def get(self) -> Optional[int]:
        return self.root().size


def _unify(a: _Dim, b: _Dim) -> bool:
    ra, rb = a.root(), b.root()
    if ra is rb:
        return True
    if ra.size is not None and rb.size is not None:
        return ra.size == rb.size
    if ra.size is None:
        ra.up = rb
    else:
        rb.up = ra
    return True


class _Term:
    """A piece of a claim before its sizes are all known: kind "s" (a number), "m" (a
    matrix with ``rows`` x ``cols``) or "1" (a literal 1, times ``args[0]`` if present:
    the number 1 or a matrix of ones, decided by what it meets)."""

    __slots__ = ("kind", "op", "args", "params", "rows", "cols", "index", "boolean")

    def shape_text(self) -> str:
        if self.kind != "m":
            return "a number"
        r, c = self.rows.get(), self.cols.get()
        return f"a {'?' if r is None else r}×{'?' if c is None else c} matrix"


_ELEMENTWISE = ("exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs",
                "sign")
_SQUARE = {"Trace": "trace", "trace": "trace", "Determinant": "det", "det": "det",
           "logdet": "logdet", "Inverse": "inv", "inv": "inv"}
_REDUCE = {"sum": "sum", "mean": "mean", "logsumexp": "logsumexp", "norm": "norm"}
_COMPARISONS = {"<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal"}
_OP_TEXT = {"add": "'+'", "sub": "'-'", "mul": "HadamardProduct", "div": "'/'",
            "less": "'<'", "less_equal": "'<='", "greater": "'>'", "greater_equal": "'>='"}
_NOT_READ = "give the claim as a SymPy expression or a symdiff Node instead"


class MatrixBuilder(_OperatorBuilder):
    """Reads matrix notation, the way symdiff prints matrix formulas (SymPy's), into Nodes.

    The rules:

    * a 1-D variable of shape (n,) is an n×1 column; ``x.T`` is its row;
    * ``*`` between two matrices is the matrix product, as ``@``; a number times a matrix
      scales it; ``x.T*x`` is a 1×1 matrix and ``(x.T*x)[0, 0]`` its number;
    * ``+``, ``-`` and comparisons are elementwise (a number is added to every entry);
      ``/`` divides by a number only (``Inverse(B)``, ``HadamardPower(B, -1)`` otherwise);
    * ``A**k`` is a matrix power (k an integer; ``A**(-1)`` the inverse);
      ``HadamardProduct(A, B)``, ``HadamardPower(A, p)`` are elementwise;
    * functions apply elementwise: ``tanh.(A)``, ``tanh(A)``, ``relu'.(A)`` (the
      derivative: relu' is the step with relu'(0) = 0; also exp' log' sin' cos' tan' tanh'
      sigmoid' sqrt' abs'), ``Lambda(t, sqrt(t)).(A)``; ``Trace``, ``Determinant``,
      ``Inverse``, ``logdet``, ``sum``, ``mean``, ``norm``, ``logsumexp`` take a matrix;
    * ``I`` is the identity and ``1`` next to a matrix in a product (``1*b.T``,
      ``A*1``) or transposed (``1.T``) is a matrix of ones, their sizes inferred from
      what they meet (a size nothing fixes is 1); elsewhere ``1`` is the number;
    * ``A[i, j]`` is an entry, ``A[i0:i1, j]`` a block, ``A[k]`` the k-th entry in row
      order (SymPy's indexing);
    * ``Matrix([[a, b], [c, d]])`` is an explicit matrix, ``Matrix([a, b])`` a column, and
      with matrices as entries a block matrix, ``0`` standing for a zero block whose size
      the blocks beside it and the claim's shape decide (as SymPy prints block matrices).
    """

    lambdas = True
    max_nodes = MAX_NODES
    literals = ("Matrix", "ImmutableMatrix")
    keywords: dict = {}
    hints = {
        "BlockMatrix": "write a block matrix as Matrix([[A, B], [C, D]])",
        "Piecewise": "Piecewise is not supported: write where(x > 0, a, b)",
        "Lambda": "a Lambda must be applied elementwise, e.g. Lambda(t, sqrt(t)).(X)",
        "Identity": "write I for the identity (its size is inferred)",
        "OneMatrix": "write 1 for a column (or matrix) of ones and 1.T for a row",
        "ZeroMatrix": "write 0 for a zero matrix",
    }

    def __init__(self, variables: Mapping[str, Any], strict: bool = True):
        from .node import apply, const, var
        self._apply, self._const, self._var = apply, const, var
        self.variables = dict(variables)
        self.strict = strict
        self.parameters: set[str] = set()
        self.ones: list[_Term] = []      # literal 1s read as matrices of ones
        self.ones_in_products = 0        # ... of them next to a matrix in a product
        self._literal_terms: list[_Term] = []   # Matrix([...]) terms: their block sizes
        self._open_literals: list[_Term] = []   # ... those whose sizes are not all known
        self._literal_entries = 0
        self._literal_positions: dict[int, Optional[int]] = {}  # in the text read
        self._back: Optional[list[int]] = None   # that text's positions in the user's text
        self._count = 0
        self._leaves: dict[str, _Term] = {}
        fns: dict[str, Callable[..., _Term]] = {}
        for name in _ELEMENTWISE:
            fns[name] = self._elementwise_fn(name)
            fns[name + _PRIME] = self._derivative_fn(name)
        fns["Abs"], fns["Abs" + _PRIME] = fns["abs"], fns["abs" + _PRIME]
        for name, op in _SQUARE.items():
            fns[name] = self._square_fn(op)
        for name, op in _REDUCE.items():
            fns[name] = self._reduce_fn(op)
        fns.update({"Transpose": self._transpose_fn, "transpose": self._transpose_fn,
                    "HadamardProduct": self._hadamard, "HadamardPower": self._hadamard_power,
                    "maximum": self._extremum("maximum"), "Max": self._extremum("maximum"),
                    "minimum": self._extremum("minimum"), "Min": self._extremum("minimum"),
                    "where": self._where, "step": self._step, "Heaviside": self._step})
        self.functions = fns

    # -- terms
    def _new(self, kind: str, op: str, args: tuple = (), params: Any = None,
             rows: Optional[_Dim] = None, cols: Optional[_Dim] = None,
             boolean: bool = False) -> _Term:
        t = _Term()
        t.kind, t.op, t.args, t.params, t.rows, t.cols = kind, op, args, params, rows, cols
        t.index, t.boolean = self._count, boolean
        self._count += 1
        return t

    def _num(self, value: float) -> _Term:
        return self._new("s", "num", (), float(value))

    def _one(self, coef: Optional[_Term]) -> _Term:
        return self._new("1", "one", () if coef is None else (coef,))

    def _scalar(self, t: _Term) -> _Term:
        if t.kind == "1":
            return t.args[0] if t.args else self._num(1.0)
        return t

    def _matrix(self, t: _Term) -> _Term:
        if t.kind != "1":
            return t
        ones = self._new("m", "ones", (), None, _Dim(), _Dim())
        self.ones.append(ones)
        return self._ew("mul", t.args[0], ones) if t.args else ones

    def _constant(self, t: _Term) -> Optional[float]:
        if t.op == "num":
            return t.params
        if t.kind == "1":
            return self._constant(t.args[0]) if t.args else 1.0
        return None

    def _ew(self, op: str, *terms: _Term, boolean: bool = False, **params: Any) -> _Term:
        ts = [self._scalar(t) for t in terms]
        mats = [t for t in ts if t.kind == "m"]
        for m in mats[1:]:
            first = mats[0]
            if not (_unify(first.rows, m.rows) and _unify(first.cols, m.cols)):
                what = _OP_TEXT.get(op, op)
                raise ParseError(f"{what}: {first.shape_text()} and {m.shape_text()} do not "
                                 "have the same shape (elementwise ops need equal shapes)")
        if not mats and all(t.op == "num" for t in ts) and not boolean:
            folded = _fold(op, [t.params for t in ts], params)
            if folded is not None:
                return self._num(folded)
        first = mats[0] if mats else None
        return self._new("m" if mats else "s", "ew", tuple(ts), (op, params),
                         first.rows if first else None, first.cols if first else None,
                         boolean)

    def _matmul(self, a: _Term, b: _Term, how: str = "*") -> _Term:
        if not _unify(a.cols, b.rows):
            hint = ""
            if (a.rows.get(), a.cols.get()) == (1, 1) or (b.rows.get(), b.cols.get()) == (1, 1):
                hint = "; a 1×1 product such as x.T*x is a matrix: (x.T*x)[0, 0] is its number"
            elif a.cols.get() == b.cols.get() == 1:
                hint = ("; for the elementwise product of two columns write "
                        "HadamardProduct(x, y), for their dot product x.T*y")
            raise ParseError(f"'{how}' multiplies {a.shape_text()} by {b.shape_text()}: the "
                             f"inner sizes differ (1-D variables are columns){hint}")
        return self._new("m", "matmul", (a, b), None, a.rows, b.cols)

    # -- builder interface
    def declare_parameter(self, name: str) -> None:
        self.parameters.add(name)

    def number(self, value: int | float) -> _Term:
        if type(value) is int and value == 1:
            return self._one(None)
        return self._num(float(value))

    def name(self, identifier: str, position: int) -> _Term:
        if identifier in self.parameters:
            return self._new("s", "param", (), identifier)
        if identifier in self.variables:
            return self._leaf(identifier)
        if identifier in self.functions:
            shown = identifier.replace(_PRIME, "'")
            raise ParseError(f"function '{shown}' must be called, e.g. {shown}.(X) or "
                             f"{shown}(x)")
        if identifier == "I":
            n = _Dim()
            return self._new("m", "eye", (), None, n, n)
        if identifier in ("pi", "E"):
            return self._num(math.pi if identifier == "pi" else math.e)
        if self.strict:
            known = ", ".join(sorted(self.variables)) or "none"
            shown = _shown(identifier.replace(_PRIME, "'"))
            what = "a derivative mark ' follows a function name, as in relu'.(X)" \
                if _PRIME in identifier else f"the variables are: {known}"
            raise ParseError(f"unknown name '{shown}' ({what})")
        self.variables[identifier] = self._var(identifier, ())
        return self._leaf(identifier)

    def _leaf(self, name: str) -> _Term:
        t = self._leaves.get(name)
        if t is None:
            node = self.variables[name]
            shape = tuple(node.shape)
            if len(shape) > 2:
                raise ParseError(f"'{name}' has shape {shape}: matrix notation covers numbers, "
                                 f"vectors and matrices ({_NOT_READ})")
            if not shape:
                t = self._new("s", "leaf", (), node)
            else:
                rows, cols = (shape[0], 1) if len(shape) == 1 else shape
                t = self._new("m", "leaf", (), node, _Dim(rows), _Dim(cols))
            self._leaves[name] = t
        return t

    def binop(self, op: str, a: _Term, b: _Term) -> _Term:
        if op in ("+", "-"):
            return self._ew("add" if op == "+" else "sub", a, b)
        if op == "*":
            return self._times(a, b)
        if op == "@":
            for t in (a, b):
                if t.kind == "s":
                    raise ParseError("'@' multiplies two matrices; use '*' to scale by a "
                                     "number")
            return self._matmul(self._matrix(a), self._matrix(b), "@")
        if op == "/":
            if b.kind == "m":
                raise ParseError("cannot divide by a matrix: write Inverse(B) for its "
                                 "inverse, HadamardPower(B, -1) for elementwise reciprocals")
            return self._ew("div", a, b)
        return self._power(a, b)

    def _times(self, a: _Term, b: _Term) -> _Term:
        ka, kb = a.kind, b.kind
        if ka == "m" and kb == "m":
            return self._matmul(a, b)
        if ka == "1" and kb == "m":
            self.ones_in_products += 1
            return self._matmul(self._matrix(a), b)
        if ka == "m" and kb == "1":
            self.ones_in_products += 1
            return self._matmul(a, self._matrix(b))
        if ka == "1" or kb == "1":
            # a number times a literal 1: still undecided (2*1*A is 2 times ones times A)
            coefs = [c for t in (a, b) for c in (t.args if t.kind == "1" else (t,))]
            coef = coefs[0] if len(coefs) == 1 else \
                self._ew("mul", *coefs) if coefs else None
            return self._one(coef)
        return self._ew("mul", a, b)

    def _power(self, a: _Term, b: _Term) -> _Term:
        if b.kind == "m":
            raise ParseError("an exponent must be a number, not a matrix")
        k = self._constant(b)
        if a.kind == "m":
            if k is None or not float(k).is_integer():
                raise ParseError("a matrix power needs an integer exponent (A**2, A**(-1)); "
                                 "for elementwise powers write HadamardPower(A, p)")
            if abs(k) > _MAX_MATRIX_POWER:
                raise ParseError(f"matrix powers are limited to |k| <= {_MAX_MATRIX_POWER}")
            if not _unify(a.rows, a.cols):
                raise ParseError(f"a power of {a.shape_text()}: it must be square")
            return self._new("m", "matpow", (a,), int(k), a.rows, a.cols)
        if k is None:
            return self._ew("pow_tensor", a, b)
        folded = _constant_power(self._constant(a), k)
        if folded is not None:
            return self._num(folded)
        return self._ew("pow", a, p=int(k) if float(k).is_integer() and abs(k) < 2**53 else k)

    def unary(self, op: str, a: _Term) -> _Term:
        if op == "+":
            return a
        if a.op == "num":
            return self._num(-a.params)
        if a.kind == "1":
            return self._one(self._ew("neg", a.args[0]) if a.args else self._num(-1.0))
        return self._ew("neg", a)

    def compare(self, op: str, a: _Term, b: _Term) -> _Term:
        return self._ew(_COMPARISONS[op], a, b, boolean=True)

    def attribute(self, a: _Term, attr: str) -> _Term:
        if a.kind == "s":
            return a  # a number is its own transpose
        a = self._matrix(a)
        return self._new("m", "T", (a,), None, a.cols, a.rows)

    def subscript(self, a: _Term, key: tuple) -> _Term:
        if a.kind != "m":
            raise ParseError("only a matrix can be indexed")
        if any(k is None or k is Ellipsis for k in key):
            raise ParseError("None and ... are not matrix indices: write A[i, j]")
        if len(key) == 1:
            if isinstance(key[0], slice):
                raise ParseError("index a matrix with two indices: A[i0:i1, j0:j1]")
            r, c = a.rows.get(), a.cols.get()
            _check_index(key[0], None if r is None or c is None else r * c, "entry")
            return self._new("s", "linear", (a,), key[0])
        if len(key) != 2:
            raise ParseError(f"a matrix takes two indices, A[i, j], not {len(key)}")
        if not any(isinstance(k, slice) for k in key):
            for k, d, what in zip(key, (a.rows, a.cols), ("row", "column")):
                _check_index(k, d.get(), what)
            return self._new("s", "entry", (a,), key)
        spans = []
        for k, d, what in zip(key, (a.rows, a.cols), ("row", "column")):
            n = d.get()
            if n is None:
                raise ParseError("cannot slice a matrix whose size is not known here")
            if isinstance(k, slice):
                spans.append(k)
            else:
                _check_index(k, n, what)
                spans.append(slice(k % n, k % n + 1))
        sizes = [len(range(n)[k]) for k, n in zip(spans, (a.rows.get(), a.cols.get()))]
        if 0 in sizes:
            raise ParseError("an empty slice")
        return self._new("m", "slice", (a,), tuple(spans), _Dim(sizes[0]), _Dim(sizes[1]))

    def call(self, fname: str, args: list, kwargs: dict, position: int) -> _Term:
        if any(isinstance(a, tuple) for a in args):
            raise ParseError(f"'{fname}' takes no tuple argument in matrix notation")
        return self.functions[fname](*args)

    def apply_lambda(self, param: str, body: _Term, arg: _Term, position: int) -> _Term:
        if body.kind == "m":
            raise ParseError("the body of a Lambda must be a scalar expression in its "
                             "parameter")
        arg = self._scalar(arg)
        return self._new(arg.kind, "lambda", (arg,), (param, self._scalar(body)),
                         arg.rows, arg.cols)

    def literal(self, nrows: int, ncols: int, entries: list,
                position: Optional[int] = None) -> _Term:
        """``Matrix([[...], ...])``: numbers, or blocks (SymPy prints a block matrix so,
        with ``0`` for a zero block of the size its row and column give it)."""
        grid = [entries[i * ncols:(i + 1) * ncols] for i in range(nrows)]
        if all(e.kind != "m" for e in entries):
            grid = [[self._as_block(e, _Dim(1), _Dim(1)) for e in row] for row in grid]
        else:
            grid = [[self._as_block(e, _Dim(), _Dim()) if e.kind != "m" else e for e in row]
                    for row in grid]
        for i, row in enumerate(grid):
            for j, block in enumerate(row):
                if not (_unify(block.rows, row[0].rows) and _unify(block.cols, grid[0][j].cols)):
                    raise ParseError(f"Matrix: block ({i}, {j}) is {block.shape_text()}, which "
                                     "does not fit its block row and column")
        if len(self._literal_terms) >= _MAX_MATRIX_LITERALS:
            raise ParseError(f"Matrix: at most {_MAX_MATRIX_LITERALS} explicit matrices in one "
                             "text")
        self._literal_entries += len(entries)
        if self._literal_entries > _MAX_MATRIX_ENTRIES:
            raise ParseError(f"Matrix: at most {_MAX_MATRIX_ENTRIES} entries in the explicit "
                             "matrices of one text (each entry is three graph nodes)")
        t = self._new("m", "literal", tuple(b for row in grid for b in row), (nrows, ncols),
                      _Dim(), _Dim())
        self._literal_terms.append(t)
        self._open_literals.append(t)
        self._literal_positions[id(t)] = position
        self._resolve_literals()
        return t

    def _resolve_literals(self) -> None:
        """Block sizes add up to the matrix's size: fill in what that decides (zero blocks
        are at least 1×1), until nothing changes.  A literal whose sizes are all known
        has nothing left to decide and leaves the open list (else every Matrix([...]) of
        a text would be visited again for each later one)."""
        changed = True
        while changed:
            changed = False
            still_open = []
            for t in self._open_literals:
                nrows, ncols = t.params
                heights = [t.args[i * ncols].rows for i in range(nrows)]
                widths = [t.args[j].cols for j in range(ncols)]
                changed |= _sum_rule(heights, t.rows) | _sum_rule(widths, t.cols)
                if t.rows.get() is None or t.cols.get() is None or \
                        any(d.get() is None for d in heights) or \
                        any(d.get() is None for d in widths):
                    still_open.append(t)
            self._open_literals = still_open

    def _as_block(self, t: _Term, rows: _Dim, cols: _Dim) -> _Term:
        """0 as a zero block of any size, another number as a 1×1 block."""
        t = self._scalar(t)
        if t.op == "num" and t.params == 0.0:
            return self._new("m", "zeros", (), None, rows, cols)
        return self._new("m", "block", (t,), None, _Dim(1), _Dim(1))

    # -- functions
    @staticmethod
    def _arity(name: str, args: tuple, *counts: int) -> None:
        if len(args) not in counts:
            want = " or ".join(map(str, counts))
            raise ParseError(f"'{name.replace(_PRIME, chr(39))}' takes {want} argument"
                             f"{'s' if counts != (1,) else ''}, got {len(args)}")

    def _elementwise_fn(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            self._arity(op, args, 1)
            return self._ew(op, args[0])
        return fn

    def _derivative_fn(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            self._arity(op + _PRIME, args, 1)
            x, e = args[0], self._ew
            one = self._num(1.0)
            if op == "relu":
                return e("step", x, h0=0.0)
            if op in ("abs", "sign"):
                return e("sign", x) if op == "abs" else e("mul", self._num(0.0), x)
            if op == "exp":
                return e("exp", x)
            if op == "log":
                return e("div", one, x)
            if op in ("sin", "cos"):
                return e("cos", x) if op == "sin" else e("neg", e("sin", x))
            if op in ("tan", "tanh"):
                sq = e("pow", e(op, x), p=2)
                return e("add", one, sq) if op == "tan" else e("sub", one, sq)
            if op == "sigmoid":
                s = e("sigmoid", x)
                return e("mul", s, e("sub", one, s))
            return e("div", self._num(0.5), e("sqrt", x))  # sqrt
        return fn

    def _square_fn(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            self._arity(op, args, 1)
            x = self._matrix(args[0])
            if x.kind != "m" or not _unify(x.rows, x.cols):
                raise ParseError(f"{op} needs a square matrix, got {x.shape_text()}")
            if op == "inv":
                return self._new("m", "reduce", (x,), op, x.rows, x.cols)
            return self._new("s", "reduce", (x,), op)
        return fn

    def _reduce_fn(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            self._arity(op, args, 1)
            x = self._matrix(args[0])
            if x.kind == "s":
                if op == "norm":
                    return self._ew("abs", x)
                return x
            return self._new("s", "reduce", (x,), op)
        return fn

    def _transpose_fn(self, *args: _Term) -> _Term:
        self._arity("Transpose", args, 1)
        return self.attribute(args[0], "T")

    def _hadamard(self, *args: _Term) -> _Term:
        if len(args) < 2:
            raise ParseError("HadamardProduct takes two or more arguments")
        out = args[0]
        for a in args[1:]:
            out = self._ew("mul", out, a)
        return out

    def _hadamard_power(self, *args: _Term) -> _Term:
        self._arity("HadamardPower", args, 2)
        x, p = args
        if p.kind == "m":
            raise ParseError("HadamardPower: the exponent must be a number")
        k = self._constant(p)
        if k is None:
            return self._ew("pow_tensor", x, p)
        return self._ew("pow", x, p=int(k) if float(k).is_integer() and abs(k) < 2**53 else k)

    def _extremum(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            if len(args) < 2:
                raise ParseError(f"{op} takes two or more arguments")
            out = args[0]
            for a in args[1:]:
                out = self._ew(op, out, a)
            return out
        return fn

    def _where(self, *args: _Term) -> _Term:
        self._arity("where", args, 3)
        if not args[0].boolean:
            raise ParseError("where: the condition must be a comparison such as x > 0")
        return self._ew("where", *args)

    def _step(self, *args: _Term) -> _Term:
        self._arity("step", args, 1, 2)
        h0 = 0.5 if len(args) == 1 else self._constant(args[1])
        if h0 is None:
            raise ParseError("step/Heaviside: the value at 0 must be a number")
        return self._ew("step", args[0], h0=float(h0))

    # -- the end: sizes, then nodes
    def finish(self, result: _Term, like: Any = None, text: str = "") -> Any:
        """The Node of ``result``; with ``like`` (a variable), in ``like``'s shape."""
        from .errors import ShapeError
        t = self._scalar(result)
        if like is not None and t.kind == "m":
            shape = tuple(like.shape)
            want = {0: (1, 1), 1: (shape[0], 1) if shape else None,
                    2: shape}.get(len(shape))
            if want is None or not (_unify(t.rows, _Dim(want[0])) and
                                    _unify(t.cols, _Dim(want[1]))):
                r, c = t.rows.get(), t.cols.get()
                hint = " (is it transposed?)" if want is not None and (c, r) == want else ""
                need = "a number" if not shape else f"a {want[0]}×{want[1]} matrix" \
                    if want else f"an array of shape {shape}"
                raise ShapeError(f"the claim {text!r} for '{like.name}' is {t.shape_text()}"
                                 f"{hint}, but it must be {need} ('{like.name}' has shape "
                                 f"{shape}; 1-D variables are columns)")
        self._resolve_literals()
        for lit in self._literal_terms:
            if any(d.get() is None for b in lit.args for d in (b.rows, b.cols)):
                pos = self._literal_positions.get(id(lit))
                if pos is not None and self._back:
                    pos = self._back[min(pos, len(self._back) - 1)]
                raise ParseError("Matrix: the sizes of its zero blocks cannot be told from "
                                 "the blocks around them (SymPy prints every zero block as "
                                 "0, so a block matrix with two zero blocks in one column or "
                                 f"row can be ambiguous): {_NOT_READ}", text,
                                 0 if pos is None else min(pos, len(text)))
        try:
            node = self._materialize(t, {})
        except ParseError as e:   # an index checked once the sizes are inferred
            if e.text:
                raise
            raise ParseError(e.message, text, 0) from None
        if self.ones_in_products and not node.is_leaf:
            node._cache["ones_read"] = True
        if like is None:
            return node
        shape = tuple(like.shape)
        if node.shape == shape:
            return node
        if node.shape == ():
            return self._apply("broadcast_to", node, shape=shape)
        if shape == ():
            return node[0, 0]
        return self._apply("reshape", node, shape=shape)

    def _materialize(self, root: _Term, env: dict) -> Any:
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
            nodes[id(t)] = self._node(t, [nodes[id(a)] for a in t.args], env)
        return nodes[id(root)]

    def _node(self, t: _Term, xs: list, env: dict) -> Any:
        ap, op = self._apply, t.op
        if op == "num":
            return self._const(t.params)
        if op == "leaf":
            node = t.params
            return ap("reshape", node, shape=(node.shape[0], 1)) if node.ndim == 1 else node
        if op == "param":
            if t.params not in env:
                raise ParseError(f"'{t.params}' is used outside its Lambda")
            return env[t.params]
        if op == "ones":
            return self._const(np.ones((t.rows.get() or 1, t.cols.get() or 1)))
        if op == "eye":
            return self._const(np.eye(t.rows.get() or 1))
        if op == "ew":
            name, params = t.params
            return ap(name, *xs, **params)
        if op == "matmul":
            return ap("matmul", *xs)
        if op == "T":
            return ap("transpose", xs[0], axes=None)
        if op == "matpow":
            k, x = t.params, xs[0]
            if k == 0:
                return self._const(np.eye(x.shape[0]))
            # by repeated squaring: about 2*log2(k) products, not k - 1 (S**64*S**64*...
            # would otherwise make 63 nodes per 5 characters of text)
            power, n, out = x if k > 0 else ap("inv", x), abs(k), None
            while True:
                if n & 1:
                    out = power if out is None else ap("matmul", out, power)
                n >>= 1
                if not n:
                    return out
                power = ap("matmul", power, power)
        if op == "reduce":
            if t.params in ("sum", "mean", "logsumexp"):
                return ap(t.params, xs[0], axis=None, keepdims=False)
            return ap(t.params, xs[0])
        if op == "entry":
            i, j = t.params
            for k, n, what in zip((i, j), xs[0].shape, ("row", "column")):
                _check_index(k, n, what)
            return xs[0][i, j]
        if op == "linear":
            r, c = xs[0].shape
            _check_index(t.params, r * c, "entry")
            return xs[0][divmod(t.params % (r * c), c)]
        if op == "slice":
            return xs[0][t.params]
        if op == "lambda":
            param, body = t.params
            return self._materialize(body, {**env, param: xs[0]})
        if op == "zeros":
            return self._const(np.zeros((t.rows.get() or 1, t.cols.get() or 1)))
        if op == "block":
            if xs[0].op == "const":   # a number: a 1×1 constant, which a literal folds
                return self._const(np.reshape(xs[0]._value, (1, 1)))
            return ap("reshape", xs[0], shape=(1, 1))
        if op == "literal":
            nrows, ncols = t.params
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
                    pieces.append(ap("unindex", block, key=key, shape=shape))
            out = None if dense is None else self._const(dense)
            for piece in pieces:
                out = piece if out is None else ap("add", out, piece)
            return out if out is not None else self._const(np.zeros(shape))
        raise ParseError(f"internal error: cannot build the term {op!r}")


def _sum_rule(parts: list, total: _Dim) -> bool:
    """Sizes ``parts`` add up to ``total``: unify what that decides; True if it did."""
    known = [d.get() for d in parts]
    if None not in known:
        if total.get() is None:
            return _unify(total, _Dim(sum(known)))
        if total.get() != sum(known):
            raise ParseError(f"Matrix: blocks of sizes {known} do not add up to {total.get()}")
        return False
    if total.get() is None:
        return False
    rest = total.get() - sum(k for k in known if k is not None)
    roots: dict[int, list] = {}
    for d, k in zip(parts, known):
        if k is None:
            roots.setdefault(id(d.root()), [d.root(), 0])[1] += 1
    count = sum(m for _, m in roots.values())
    if len(roots) == 1:
        root, m = next(iter(roots.values()))
        if rest < m or rest % m:
            raise ParseError(f"Matrix: blocks cannot add up to {total.get()}")
        return _unify(root, _Dim(rest // m))
    if rest == count:              # every unknown block is 1 wide
        for root, _ in roots.values():
            _unify(root, _Dim(1))
        return True
    return False


def _check_index(k: int, n: Optional[int], what: str) -> None:
    if n is not None and not -n <= k < n:
        raise ParseError(f"{what} index {k} is out of range for size {n}")


def _fold(op: str, values: list, params: dict) -> Optional[float]:
    """Arithmetic on two literal numbers, in floats (so 9**9**9 cannot run for long)."""
    try:
        if op == "add":
            return values[0] + values[1]
        if op == "sub":
            return values[0] - values[1]
        if op == "mul":
            return values[0] * values[1]
        if op == "div":
            return values[0] / values[1]
        if op == "neg":
            return -values[0]
        if op == "pow":
            return math.pow(values[0], float(params["p"]))
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return None
