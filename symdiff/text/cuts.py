"""Where a text is cut into pieces (``symdiff.text.pieces``): the chains too long for
``ast.parse`` to build, found with the tokens of ``symdiff.text.tokens``.

A *segment* is the tokens between two that bind less tightly than any chain (commas,
colons, ``=``, comparisons, keywords) at one depth of brackets: one expression of
operands, unary and binary operators, ``**`` and trailers (``.name``, ``(...)``,
``[...]``), brackets counting as one token. A chain of one level of binding runs from
just after the nearest operator to its left that binds less tightly to just before the
nearest one to its right; ``cuts`` returns, for every chain longer than ``size``
characters, its prefixes ending before one of its operators (``chunk`` characters apart)
and the whole chain: complete subexpressions, which nest.

Imports symdiff.text.tokens and the standard library.

>>> from symdiff.text.tokens import scan
>>> text = "f(" + "+".join(["x"] * 20) + ")"
>>> [text[a:b] for a, b in sorted(cuts(scan(text), 24, 24))]    # the call, the sum
['f(x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x)', 'x+x+x+x+x+x+x+x+x+x+x+x+x', 'x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x+x']
"""
from __future__ import annotations

import bisect
import keyword

from symdiff.text.tokens import Tokens

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


class NotInPieces(Exception):
    """The text cannot be read in pieces: it is not valid Python (or holds ``await``,
    which binds more tightly than the chains around it)."""


def cuts(toks: Tokens, size: int, chunk: int) -> set[tuple[int, int]]:
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
