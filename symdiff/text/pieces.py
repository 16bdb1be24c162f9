"""Reading a text whose tree is deeper than ``ast.parse`` can build: in pieces.

CPython parses a flat chain such as ``x+x+...+x`` without recursion, then converts its
parse tree into ``ast`` objects recursively, within about three times the recursion limit
left to the caller: 3,000 terms fail with RecursionError, and ``MAX_LENGTH`` allows
50,000. Raising the recursion limit is no answer: it is one setting for the whole
process, and another thread that recursed while it was raised dies when it is lowered
again ("Fatal Python error: Cannot recover from stack overflow"). ``parse_in_pieces``
builds the same tree, positions included, without it:

1. cut before the operators of every long left-associative chain (``| ^ & << >> + - * /
   // % @``, and calls, subscripts and attributes: ``x[0][0]...``), at any depth of
   brackets (``symdiff.text.cuts``): each piece is a complete subexpression (a chain's
   start up to one of its operators, ``size`` characters apart, and the whole chain),
   which stands in the text around it as a placeholder name (``_p0``, ``_p1``: a prefix
   no name in the text has);
2. parse each piece with ``ast.parse`` where it stands, padded so that its nodes get
   their line and column in the whole text;
3. replace each placeholder by its piece's tree (``_Assembly.graft``).

Every character is read by Python's parser in one of the pieces, but the cuts are found
with its tokens (``symdiff.text.tokens``) and are right for valid Python only: the
reader reads in pieces only a text Python's parser has accepted (and failed to build). A
piece Python refuses raises ``NotInPieces``; a piece still too deep (a right-nested chain
such as ``----x``, or a caller deep in recursion) raises RecursionError. Nothing is run.

Imports symdiff.text (tokens, cuts) and the standard library.

>>> tree = parse_in_pieces("2*(" + "+".join(["x"] * 5000) + ")")
>>> tree.body.right.col_offset, tree.body.right.right.col_offset
(3, 10001)
"""
from __future__ import annotations

import ast
import bisect
import re
from typing import Any, Optional

from symdiff.text.cuts import NotInPieces, cuts
from symdiff.text.tokens import scan

PIECE_SIZE = 2000
"""Characters in a piece, about: a chain longer than this is cut. A piece of a chain holds
at most half as many levels of the tree (an operator and an operand each); Python's
budget is about 3,000 levels, less when the caller is deep in recursion."""

MAX_BRACKETS = 200
"""Python's tokenizer refuses more levels of brackets (each piece has fewer)."""

_NEWLINE = re.compile(r"\r\n|\r|\n")


def parse_in_pieces(body: str, size: int = PIECE_SIZE) -> ast.Expression:
    """``ast.parse(body, mode="eval")`` for a text whose tree is too deep for it: the
    same tree, positions included, read in pieces of about ``size`` characters.

    Raises ``NotInPieces`` if Python refuses a piece (the text is not valid Python),
    and RecursionError if a piece is still too deep.

    >>> tree = parse_in_pieces("+".join(["x"] * 20000))
    >>> tree.body.col_offset, tree.body.right.col_offset, tree.body.left.right.col_offset
    (0, 39998, 39996)
    """
    toks = scan(body)
    if not toks.balanced or toks.depth > MAX_BRACKETS:
        raise NotInPieces("unbalanced or too deeply nested brackets")
    ranges = cuts(toks, size, max(size, 24))
    return _Assembly(body, ranges).tree()


# ---------------------------------------------------------------------------
# parsing the pieces and putting them together
# ---------------------------------------------------------------------------

class _Assembly:
    """The pieces of one text: their texts, trees, and how they nest."""

    def __init__(self, body: str, ranges: set[tuple[int, int]]):
        self.body = body
        self.line_starts = [0] + [m.end() for m in _NEWLINE.finditer(body)]
        self.ascii = [body[a:b].isascii() for a, b in
                      zip(self.line_starts, self.line_starts[1:] + [len(body)])]
        whole = (0, len(body))
        self.ranges = sorted(ranges - {whole}, key=lambda r: (r[0], -r[1]))
        tag = "_p"
        while tag in body:       # no name in the text can be a placeholder
            tag += "p"
        self.names = {r: f"{tag}{i}" for i, r in enumerate(self.ranges)}
        self.children: dict[tuple[int, int], list[tuple[int, int]]] = {whole: []}
        self.parent: dict[tuple[int, int], tuple[int, int]] = {}
        stack = [whole]
        for r in self.ranges:
            while not (stack[-1][0] <= r[0] and r[1] <= stack[-1][1]):
                stack.pop()
            if r[0] < stack[-1][1] and r[1] > stack[-1][1]:
                raise NotInPieces("overlapping pieces")      # cannot happen: chains nest
            self.parent[r] = stack[-1]
            self.children[stack[-1]].append(r)
            self.children[r] = []
            stack.append(r)
        self.whole = whole

    def place(self, offset: int) -> tuple[int, int]:
        """(line, UTF-8 byte column) of a character offset of the body."""
        line = bisect.bisect_right(self.line_starts, offset) - 1
        begin = self.line_starts[line]
        if self.ascii[line]:
            return line + 1, offset - begin
        return line + 1, len(self.body[begin:offset].encode())

    def tree(self) -> ast.Expression:
        """Every piece parsed, and grafted into the piece around it."""
        trees = {r: self.parse(r) for r in [self.whole] + self.ranges}
        for r in reversed(self.ranges):      # a piece's own pieces first
            self.graft(trees[self.parent[r]], r, trees[r].body)
        return trees[self.whole]

    def parse(self, r: tuple[int, int]) -> ast.Expression:
        """The tree of piece ``r``, its own pieces as placeholders, where it stands."""
        body, (a, b) = self.body, r
        parts: list[str] = []
        if a > 0:        # "(" and the padding that puts the piece where it is
            line, col = self.place(a)
            parts.append("(" + " " * (col - 1) if line == 1 else
                         "(" + "\n" * (line - 1) + " " * col)
        at = a
        for c in self.children[r]:
            parts.append(body[at:c[0]])
            parts.append(self.placeholder(c))
            at = c[1]
        parts.append(body[at:b])
        if a > 0:
            parts.append("\n)")
        try:
            return ast.parse("".join(parts), mode="eval")
        except (SyntaxError, ValueError, MemoryError) as e:
            raise NotInPieces(f"a piece is not valid: {e}") from None

    def placeholder(self, r: tuple[int, int]) -> str:
        """The name standing for piece ``r``, laid out so that the text after it keeps
        its line and column: spaces, or line continuations and spaces."""
        name = self.names[r]
        (line, col), (end_line, end_col) = self.place(r[0]), self.place(r[1])
        lead = " " if _joins(self.body, r[0] - 1) else ""   # else: 'else' + name
        if line == end_line:
            fill = end_col - col - len(lead) - len(name)
            if fill < 1:
                raise NotInPieces("piece too short for its placeholder")  # chunk >= 24
            return lead + name + " " * fill
        return lead + name + " \\\n" + "\\\n" * (end_line - line - 1) + " " * end_col

    def graft(self, holder: ast.Expression, r: tuple[int, int], new: ast.AST) -> None:
        """Replace the placeholder of ``r`` in ``holder`` by ``new``: the nodes that
        started or ended with the placeholder start and end where the piece does."""
        name = self.names[r]
        line, col = self.place(r[0])
        if _joins(self.body, r[0] - 1):
            col += 1
        target, name_end = (line, col), (line, col + len(name))
        start, end = self.place(r[0]), self.place(r[1])
        path = _path_to(holder, target, name)
        # the nodes that end (start) with the placeholder are the deepest on the path
        for node in reversed(path[1:-1]):
            if getattr(node, "lineno", None) is None:    # arguments, comprehension
                continue
            ends_here = (node.end_lineno, node.end_col_offset) == name_end
            if ends_here:
                node.end_lineno, node.end_col_offset = end
            if target != start and (node.lineno, node.col_offset) == target:
                node.lineno, node.col_offset = start
            elif not ends_here:
                break
        parent, (field, index) = path[-2], path[-1]
        if index is None:
            setattr(parent, field, new)
        else:
            getattr(parent, field)[index] = new


def _joins(body: str, i: int) -> bool:
    """Whether a name written after character ``i`` would join it (``else`` + name)."""
    return i >= 0 and (body[i].isalnum() or body[i] == "_" or not body[i].isascii())


def _path_to(holder: ast.Expression, target: tuple[int, int], name: str) -> list[Any]:
    """The nodes from ``holder`` down to the parent of the placeholder ``name`` that
    starts at ``target``, then (field, index) of the placeholder in that parent."""
    path: list[Any] = [holder]
    field, node = "body", holder.body
    BinOp, Name = ast.BinOp, ast.Name
    while True:         # down the chains (left operands first), without a search
        kind = type(node)
        if kind is Name and node.id == name:
            return path + [(field, None)]
        path.append(node)
        if kind is BinOp:
            left = node.left
            field = "left" if (left.end_lineno, left.end_col_offset) > target else "right"
        elif kind is ast.Attribute or kind is ast.Subscript or kind is ast.Call:
            head = node.func if kind is ast.Call else node.value
            if (head.end_lineno, head.end_col_offset) <= target:
                break
            field = "func" if kind is ast.Call else "value"
        else:
            break
        node = getattr(node, field)
    stack: list[tuple[Any, Any]] = [(node, None)]       # (node, its parent's entry)
    while stack:
        entry = stack.pop()
        node = entry[0]
        for field in node._fields:
            value = getattr(node, field, None)
            items = enumerate(value) if isinstance(value, list) else [(None, value)]
            for index, child in items:
                if not isinstance(child, ast.AST):
                    continue
                if type(child) is Name and child.id == name:
                    found: list[Any] = [(field, index)]
                    while entry[1] is not None:
                        found.append(entry[0])
                        entry = entry[1]
                    return path + found[::-1]
                if _may_hold(child, target):
                    stack.append((child, entry))
    raise NotInPieces("placeholder not found")     # cannot happen


def _may_hold(node: ast.AST, target: tuple[int, int]) -> bool:
    lineno: Optional[int] = getattr(node, "lineno", None)
    if lineno is None:          # operators, contexts, comprehension, arguments
        return bool(node._fields)
    return (lineno, node.col_offset) <= target < (node.end_lineno, node.end_col_offset)
