"""Reading a text whose tree is deeper than ``ast.parse`` can build: in pieces.

CPython parses a flat chain such as ``x+x+...+x`` without recursion, but then converts
its parse tree into ``ast`` objects recursively, within a budget of about three times the
recursion limit left to the caller: a chain of 3,000 terms fails with RecursionError,
and the longest text (``MAX_LENGTH`` characters) holds 50,000. Raising the recursion
limit is no answer: it is one setting for the whole process, and another thread that
recurses while it is raised dies when it is lowered again ("Fatal Python error: Cannot
recover from stack overflow"). So ``parse_in_pieces`` builds the same tree without it:

1. the text is cut where a long left-associative chain can be cut: chains of one of the
   operators ``| ^ & << >> + - * / // % @`` and chains of calls, subscripts and
   attributes (``x[0][0]...``, ``x.T.T...``), at any depth of brackets. Each piece is a
   complete subexpression: a chain's start up to one of its operators, the pieces
   ``size`` characters apart, and the whole chain; a piece stands in the text around it
   as a placeholder name (``_p0``, ``_p1``, ...: a prefix no name in the text has);
2. each piece, with the pieces inside it replaced by placeholders, is parsed by
   ``ast.parse`` where it stands: padded so that every node gets its line and column
   in the whole text, with no positions to shift afterwards;
3. each placeholder ``Name`` is replaced by the tree of its piece, and the nodes that
   ended with the placeholder end where the piece ends (``_Assembly.graft``).

Every character of the text is read by Python's parser in one of the pieces. The text
must be valid Python for the cuts to be right (the chains are found with the tokens of
``symdiff.text.tokens``): the reader only reads in pieces a text Python's parser has
accepted (and then failed to build), and any piece Python refuses raises
``NotInPieces``. A piece too deep for the budget (a long right-nested chain such as
``----x``, or a caller deep in recursion) raises RecursionError. Nothing is executed:
``ast.parse`` only.

Imports symdiff.text.tokens and the standard library.

>>> tree = parse_in_pieces("2*(" + "+".join(["x"] * 5000) + ")")
>>> tree.body.right.col_offset, tree.body.right.right.col_offset
(3, 10001)
"""
from __future__ import annotations

import ast
import bisect
import keyword
import re
from typing import Any, Optional

from symdiff.text.tokens import Tokens, scan

PIECE_SIZE = 2000
"""Characters in a piece, about: a chain longer than this is cut. A piece of a chain holds
at most half as many levels of the tree (an operator and an operand each); Python's
budget is about 3,000 levels, less when the caller is deep in recursion."""

MAX_BRACKETS = 200
"""Python's tokenizer refuses more levels of brackets (each piece has fewer)."""

_LEVEL = {"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4, "+": 5, "-": 5,
          "*": 6, "/": 6, "//": 6, "%": 6, "@": 6}
"""Binary operators by how tightly they bind; unary operators are 7, ``**`` 8 (right
associative, never cut), and calls, subscripts and attributes 9."""
_UNARY, _POWER, _TRAILER = 7, 8, 9
_UNARY_OPS = frozenset("-+~")
_OPERATOR_CHARS = frozenset("+-*/%@&|^~<>=!.,:;()[]{}")
_ATOMS = frozenset(["(", "[", "{", "..."])    # what starts an operand among them
_OPENING = frozenset("([{")
_KEYWORDS = frozenset(keyword.kwlist) - {"True", "False", "None"}
_ENDS_SEGMENT = frozenset(",:;=<>") | {":=", "<=", ">=", "==", "!=", "->"} \
    | {op + "=" for op in _LEVEL} | {"**="}
"""Tokens that bind less tightly than any chain (and keywords): a chain never crosses
them, so the tokens between two of them at one depth of brackets are one expression."""
_MARKS = _ENDS_SEGMENT | _KEYWORDS | _OPENING
_NEWLINE = re.compile(r"\r\n|\r|\n")


class NotInPieces(Exception):
    """The text cannot be read in pieces: it is not valid Python (or holds ``await``,
    which binds more tightly than the chains around it)."""


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
    ranges = _cuts(toks, size, max(size, 24))
    return _Assembly(body, ranges).tree()


# ---------------------------------------------------------------------------
# where to cut
# ---------------------------------------------------------------------------

def _cuts(toks: Tokens, size: int, chunk: int) -> set[tuple[int, int]]:
    """The (start, end) character ranges of the pieces: complete subexpressions.

    Targets are never cut (the name before ``=`` or ``:=``, between ``for`` and ``in``,
    a lambda's parameters): a placeholder would make a valid target of an invalid one,
    ``(a+b := 1)`` or ``for (a+b) in c``, and Python must see them as written."""
    texts, starts, ends, partner = toks.texts, toks.starts, toks.ends, toks.partner
    out: set[tuple[int, int]] = set()
    # the tokens that end a segment or open a bracket: the others are taken in bulk
    marks = [i for i, tok in enumerate(texts) if tok in _MARKS or tok[0] in "\r\n"]
    marks.append(len(texts))
    groups = [(-1, len(texts))]      # the text, then every bracket longer than `size`
    while groups:
        first, last = groups.pop()
        segment: list[int] = []
        inner: list[tuple[int, int]] = []      # the long brackets of the segment
        in_for, in_lambda, previous = False, 0, ""
        i = first + 1
        while True:
            j = min(marks[bisect.bisect_left(marks, i)], last)
            segment.extend(range(i, j))
            tok = texts[j] if j < last else ""
            if tok in _OPENING:    # a bracket: one item of the segment
                segment.append(j)
                close = partner[j]
                if ends[close] - starts[j] > size:
                    inner.append((j, close))
                i = close + 1
                continue
            if tok and tok[0] in "\r\n":
                if first >= 0 or not segment:    # inside brackets, or blank lines first
                    i = j + 1
                    continue
                if any(t[0] not in "\r\n" for t in texts[j + 1:last]):
                    raise NotInPieces("text after a line break outside brackets")
                tok = ""
            if tok == "await":
                raise NotInPieces("await")
            if not (tok in ("=", ":=") or in_for or in_lambda and previous != "="):
                _segment_cuts(segment, toks, size, chunk, out)
                groups.extend(inner)
            if not tok:
                break
            segment, inner = [], []
            if tok == "for" or tok == "in" and in_for:
                in_for = tok == "for"
            elif tok == "lambda" or tok == ":" and in_lambda:
                in_lambda += 1 if tok == "lambda" else -1
            previous = tok
            i = j + 1
    return out


def _segment_cuts(seg: list[int], toks: Tokens, size: int, chunk: int,
                  out: set[tuple[int, int]]) -> None:
    """Add the cuts of the chains of ``seg``: the tokens (brackets as their opening one)
    of one expression made of operands, unary and binary operators, ``**`` and
    trailers (``.name``, ``(...)``, ``[...]``)."""
    if not seg:
        return
    texts, starts, ends, partner = toks.texts, toks.starts, toks.ends, toks.partner
    if texts[seg[0]] in ("*", "**"):       # *args, **kwargs, [*x]: not part of the chain
        seg = seg[1:]
        if not seg:
            return
    last = seg[-1]
    if ends[partner.get(last, last)] - starts[seg[0]] <= size:
        return
    words = [texts[i] for i in seg]
    operators = set(words[1::2])
    if len(words) % 2 and len({_LEVEL.get(op) for op in operators}) == 1 \
            and operators <= _LEVEL.keys() \
            and {word[0] for word in words[::2]}.isdisjoint(_OPERATOR_CHARS):
        # x+x+...+x: names and numbers between operators of one level, the commonest
        places = list(range(1, len(seg), 2))
        _chain_cuts(seg, places, [_LEVEL[words[1]]] * len(places), toks, size, chunk, out)
        return
    places: list[int] = []      # where in seg the operators are
    levels: list[int] = []      # and how tightly they bind
    operand_next = True
    level_of = _LEVEL.get
    for k, tok in enumerate(words):
        if operand_next:
            if tok in _UNARY_OPS:
                places.append(k)
                levels.append(_UNARY)
            elif tok[0] not in _OPERATOR_CHARS or tok in _ATOMS or tok[0] == "." \
                    and len(tok) > 1:            # a name, number, string, bracket, ...
                operand_next = False
            else:
                raise NotInPieces(f"unexpected {tok!r}")
            continue
        level = level_of(tok)
        if level is None:
            if tok == "**":
                level = _POWER
            elif tok == "(" or tok == "[" or tok == ".":
                level = _TRAILER
            elif tok[0] in _OPERATOR_CHARS:
                raise NotInPieces(f"unexpected {tok!r}")
            else:               # the name after '.', or "a" "b" (one string)
                continue
        places.append(k)
        levels.append(level)
        if level < _TRAILER:
            operand_next = True
    if operand_next:
        raise NotInPieces("expression ends with an operator")
    _chain_cuts(seg, places, levels, toks, size, chunk, out)


def _chain_cuts(seg: list[int], places: list[int], levels: list[int], toks: Tokens,
                size: int, chunk: int, out: set[tuple[int, int]]) -> None:
    """A chain of level L runs from just after the nearest operator to its left that
    binds less tightly (or the start) to just before the nearest one to its right (or
    the end); every one longer than ``size`` is cut before its operators, ``chunk``
    characters apart, and as a whole."""
    starts, ends, partner = toks.starts, toks.ends, toks.partner

    def end_of(k: int) -> int:
        i = seg[k]
        return ends[partner.get(i, i)]

    m = len(places)
    if len(set(levels)) == 1:       # one flat chain (the common long text)
        chains = {(levels[0], 0): list(range(m))} if levels[0] not in (_UNARY, _POWER) else {}
        right = [len(seg) - 1] * m
    else:
        left, right = [0] * m, [len(seg) - 1] * m
        stack: list[int] = []
        for j in range(m):
            level = levels[j]
            while stack and levels[stack[-1]] >= level:
                stack.pop()
            if stack:
                left[j] = places[stack[-1]] + 1
            stack.append(j)
        stack = []
        for j in range(m - 1, -1, -1):
            level = levels[j]
            while stack and levels[stack[-1]] >= level:
                stack.pop()
            if stack:
                right[j] = places[stack[-1]] - 1
            stack.append(j)
        chains = {}
        for j in range(m):
            if levels[j] != _UNARY and levels[j] != _POWER:
                chains.setdefault((levels[j], left[j]), []).append(j)
    for (level, first), members in chains.items():
        start, stop = starts[seg[first]], end_of(right[members[-1]])
        if stop - start <= size:
            continue
        mark = start
        for j in members:
            k = places[j]
            if end_of(k - 1) - mark >= chunk:     # at least `chunk` characters of text
                out.add((start, end_of(k - 1)))
                mark = starts[seg[k]]
        out.add((start, stop))


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
