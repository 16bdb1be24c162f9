"""Reading matrix notation: three spellings Python cannot parse are rewritten, keeping
positions, and the rewritten text goes through the safe reader of ``symdiff.text``.

``1.T`` -> ``1 .T`` (Python reads ``1.`` first), ``f.(`` -> ``f (`` (SymPy's elementwise
application), and the prime of ``relu'`` becomes ``PRIME``, a letter of the name (for
Python ``'`` starts a string). Errors are reported at their place in the text as
written, with ``'`` for the prime. Imports symdiff.errors and symdiff.text.

>>> matrix_text("relu'.(x) + 1.T")[0]
'reluʹ (x) + 1 .T'
"""
from __future__ import annotations

import re
from typing import Any

from symdiff.errors import ParseError
from symdiff.text.allowlist import MAX_LENGTH
from symdiff.text.reader import Translator

PRIME = "\u02b9"
"""MODIFIER LETTER PRIME, a letter in Python names: ``relu'`` is read as the name ``reluʹ``."""
_MATRIX_REWRITES = re.compile(
    r"(?P<one>(?<![\w.])1\.T(?!\w))"          # 1.T: a row of ones (Python reads "1." first)
    r"|(?P<prime>(?<=\w)'(?=\.?\s*\())"         # relu'.(: a derivative (Python: a string)
    r"|(?P<dot>(?<=[\w)'\u02b9])\.(?=\s*\())"  # tanh.(X): elementwise application
)


def matrix_text(text: str) -> tuple[str, list[int]]:
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
            out.append(PRIME if m.group("prime") else " ")
            where.append(i)
        last = m.end()
    out.append(text[last:])
    where.extend(range(last, len(text) + 1))
    return "".join(out), where


def parse_matrix(text: str, builder: Any) -> Any:
    """Read ``text`` in matrix notation with ``builder`` (a ``MatrixBuilder``); errors
    are at their place in ``text``. The builder gets the map of positions as
    ``original_positions`` (for the errors it finds once the sizes are inferred)."""
    if not isinstance(text, str):
        raise TypeError(f"expected the formula as a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"expression is too long ({len(text)} characters; "
                         f"the limit is {MAX_LENGTH})", text, MAX_LENGTH)
    body, where = matrix_text(text)
    builder.original_positions = where
    try:   # the rewrite may lengthen the text (1.T -> 1 .T): its length was checked above
        return Translator(body, builder, length_checked=True).run()
    except ParseError as e:
        pos = None if e.position is None else where[min(e.position, len(where) - 1)]
        raise ParseError(e.message.replace(PRIME, "'"), text, pos) from None
