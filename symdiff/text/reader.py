"""The safe reader of formulas: text -> Python ``ast`` -> allow-list check -> builder calls.

Nothing in the text is ever executed: no ``eval``, ``exec``, ``sympify`` or ``parse_expr``.
``parse_with`` refuses a text that is too long or holds a refused character
(``symdiff.text.hygiene``) or one Python's parser would warn about
(``symdiff.text.tokens``), parses it with ``ast.parse(text, mode="eval")`` (in pieces
when its tree is too deep for that: ``symdiff.text.pieces``), checks every node against
the allow-list (pass 1, ``symdiff.text.checker``) and translates the tree into calls on a
*builder* object (pass 2, here; the protocol is in ``symdiff.text.builder``). Both passes
walk the tree with an explicit stack, so a 50,000-term sum does not hit the recursion
limit. Nothing the process shares is changed: not the recursion limit, not the warning
filters.

Hostile text (see docs/reliability.md, "Parsing hostile text"): every refusal is a
``ParseError`` with a position; the limits are in ``symdiff.text.allowlist``.

Imports symdiff.errors, symdiff.budget, symdiff.text and the standard library.

>>> import sympy
>>> from symdiff.text.sympy_builder import parse_sympy
>>> x = sympy.Symbol("x")
>>> parse_sympy("2*x**3 - 1", {"x": x}, {})
2*x**3 - 1
"""
from __future__ import annotations

import ast
from typing import Any

from symdiff.budget import gc_paused
from symdiff.errors import ParseError, SymdiffError
from symdiff.text.allowlist import LAMBDA, LITERAL, MAX_LENGTH, describe
from symdiff.text.checker import Checker
from symdiff.text.hygiene import character_problem, first_line
from symdiff.text.pieces import PIECE_SIZE, NotInPieces, parse_in_pieces
from symdiff.text.source import Source
from symdiff.text.tokens import warning_spot


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
    """``ast.parse(body, mode="eval")``, also for trees deeper than it can build.

    CPython converts its parse tree to ``ast`` objects recursively, within about three
    times the recursion limit the caller has left, and a flat chain such as x+x+...+x is
    one level per term (MAX_LENGTH allows 50,000). Raising the recursion limit would
    change it for every thread of the process (another thread deep in recursion when it
    is lowered again aborts the process), so such a text, which Python's parser has
    accepted, is read in pieces instead (``symdiff.text.pieces``): smaller ones when the
    caller is itself deep in recursion.
    """
    try:
        return ast.parse(body, mode="eval")    # SyntaxError: Python's own message
    except RecursionError:
        pass
    for size in (PIECE_SIZE, PIECE_SIZE // 8, PIECE_SIZE // 64):
        try:
            return parse_in_pieces(body, size)
        except RecursionError:      # a piece too deep: smaller ones may fit the budget
            continue
        except NotInPieces:         # `await`: Python reads it differently
            break
    raise RecursionError("the expression is nested too deeply")


class Translator:
    """One parse of ``text`` with ``builder``: ``run`` checks it and returns what the builder
    made of it. ``length_checked``: the caller has checked the length of the text the
    user wrote (of which ``text`` is a rewriting)."""

    def __init__(self, text: str, builder: Any, length_checked: bool = False):
        if not isinstance(text, str):
            raise TypeError(f"expected the formula as a str, got {type(text).__name__}")
        limit = min(MAX_LENGTH, getattr(builder, "max_length", MAX_LENGTH))
        if len(text) > limit and not length_checked:  # before any work on the text
            raise ParseError(f"expression is too long ({len(text)} characters; "
                             f"the limit is {limit})", text, limit)
        self.text, self.builder = text, builder
        self.source = Source(text)

    def run(self) -> Any:
        source = self.source
        if not source.body.strip():
            raise ParseError("empty expression", self.text, 0)
        problem = character_problem(source.body) or warning_spot(source.body)
        if problem is not None:
            raise ParseError(problem[1], self.text, source.shift + problem[0])
        with gc_paused(len(source.body)):
            try:
                tree = _ast_parse(source.body)
            except SyntaxError as e:
                raise source.syntax_error(e) from None
            except (RecursionError, MemoryError):
                raise ParseError("expression is nested too deeply for Python's parser",
                                 self.text, 0) from None
            except ValueError as e:  # e.g. text Python's compiler refuses outright
                raise ParseError(f"invalid syntax ({e})", self.text, 0) from None
            return self.translate(tree)

    def translate(self, tree: ast.Expression) -> Any:
        order = Checker(self.source, self.builder).walk(tree)
        # Pass 2: reversed pre-order puts every node after its subtree; the results of its
        # children are then on top of `values`, first child topmost.
        values: list[Any] = []
        b, build, vpop, vappend = self.builder, self.build, values.pop, values.append
        shift, flat, pos = self.source.shift, self.source.flat, self.source.pos
        Name, BinOp = ast.Name, ast.BinOp
        node = tree.body
        try:
            for node, info, n in reversed(order):
                kind = type(node)
                if kind is Name:
                    vappend(b.name(node.id, shift + node.col_offset if flat else pos(node)))
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

    def build(self, node: ast.AST, info: Any, args: Any) -> Any:
        """The builder's call for ``node``, from its ``info`` (pass 1) and its children's
        values ``args``."""
        b = self.builder
        kind = type(node)
        if kind is ast.Name:
            return b.name(node.id, self.source.pos(node))
        if kind is ast.BinOp:
            return b.binop(info, args[0], args[1])
        if kind is ast.Constant:
            return b.number(info)
        if kind is ast.UnaryOp:
            return b.unary(info, args[0])
        if kind is ast.Compare:
            return b.compare(info, args[0], args[1])
        if kind is ast.Call and info[0] == LAMBDA:
            return b.apply_lambda(info[1], args[0], args[1], self.source.pos(node))
        if kind is ast.Call and info[0] == LITERAL:
            return b.literal(info[1], info[2], list(args), self.source.pos(node))
        if kind is ast.Call:
            name, slots, kwargs = info
            built = iter(args)
            values = [const if is_const else next(built) for is_const, const in slots]
            return b.call(name, values, kwargs, self.source.pos(node))
        if kind is ast.Attribute:
            return b.attribute(args[0], node.attr)
        return b.subscript(args[0], info)

    def build_error(self, node: ast.AST, e: Exception) -> Exception:
        """What a builder's exception becomes: a ``ParseError`` without the text gets the
        text and the node's position; other ``SymdiffError``s pass unchanged; anything
        else becomes a ``ParseError`` at the node's position."""
        pos = self.source.pos
        if isinstance(e, ParseError):
            if e.text:
                return e
            where = pos(node) if e.position is None else e.position
            return ParseError(e.message, self.text, where)
        if isinstance(e, SymdiffError):
            return e
        if isinstance(e, RecursionError):
            return ParseError(f"cannot build {describe(node)}: the expression is nested too "
                              "deeply", self.text, pos(node))
        return ParseError(f"cannot build {describe(node)}: {type(e).__name__}: "
                          f"{first_line(e)}", self.text, pos(node))
