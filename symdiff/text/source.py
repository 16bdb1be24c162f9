"""A formula's text as Python's parser sees it: where each ``ast`` node is, in characters.

``ast`` positions are (line, UTF-8 byte column) pairs in the text without its leading
whitespace; a ``ParseError`` gives one character offset in the text as written.
``Source`` converts between the two, builds the errors at a node (``error``), turns
Python's ``SyntaxError`` into a ``ParseError`` (``syntax_error``) and refuses a name
spelled so that Python would read another one (``check_spelling``).

Imports symdiff.errors, symdiff.text.hygiene and the standard library.

>>> import ast
>>> src = Source("  é + x")
>>> tree = ast.parse(src.body, mode="eval")
>>> src.pos(tree.body), src.pos(tree.body.right)   # the '+' and x (ast: 5 bytes in)
(4, 6)
"""
from __future__ import annotations

import ast
import re
from typing import Optional

from symdiff.errors import ParseError
from symdiff.text.hygiene import char_name, character_hint, spelling_problem

_NEWLINE = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer counts as a line break
_INT_LITERAL = re.compile(r"(?<![\w.])[0-9][0-9_]*")


class Source:
    """The text of one parse and the map from ``ast`` positions to character offsets."""

    def __init__(self, text: str):
        self.text = text
        # Python rejects leading indentation in eval mode; parse without it, shift positions.
        body = text.lstrip(" \t\f\r\n")
        self.body = body
        self.shift = len(text) - len(body)
        self.lines = _NEWLINE.split(body)
        self.line_starts = [0]
        for m in _NEWLINE.finditer(body):
            self.line_starts.append(m.end())
        self.byte_to_char: dict[int, list[int]] = {}
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

    def offset(self, lineno: Optional[int], col: Optional[int], chars: bool = False) -> int:
        """The offset in the text of column ``col`` (in bytes, or characters with
        ``chars``) of body line ``lineno``; 0 when there is no such place."""
        if lineno is None or col is None or not 1 <= lineno <= len(self.lines):
            return 0
        if not chars:
            col = self.char_col(lineno, col)
        return min(max(self.shift + self.line_starts[lineno - 1] + col, 0), len(self.text))

    def pos(self, node: ast.AST) -> int:
        """Where ``node`` is in the text: for an operator or attribute, which starts where
        its left operand does, the operator itself."""
        kind = type(node)
        if kind is ast.Name and self.flat:
            return self.shift + node.col_offset
        if kind is ast.BinOp or kind is ast.Compare or kind is ast.Attribute:
            left = node.value if isinstance(node, ast.Attribute) else node.left
            i = self.offset(left.end_lineno, left.end_col_offset)
            end = self.offset(node.end_lineno, node.end_col_offset)
            while i < end:
                ch = self.text[i]
                if ch == "#":
                    i = self.text.find("\n", i)
                    i = end if i < 0 else i
                elif ch.isspace() or ch in ")\\":
                    i += 1
                else:
                    return i
        return self.offset(getattr(node, "lineno", None), getattr(node, "col_offset", None))

    def error(self, message: str, node: Optional[ast.AST] = None) -> ParseError:
        """A ``ParseError`` at ``node`` (at the start without one)."""
        return ParseError(message, self.text, 0 if node is None else self.pos(node))

    def syntax_error(self, e: SyntaxError) -> ParseError:
        """What Python's ``SyntaxError`` on the body becomes: a ``ParseError`` at the same
        place, naming a character Python refuses and what to write instead."""
        msg = e.msg or "invalid syntax"
        offset = None if e.offset is None else max(e.offset - 1, 0)
        where = self.offset(e.lineno, offset, chars=True)
        if msg.startswith("Exceeds the limit"):   # a decimal literal of over 4300 digits
            m = next((m for m in _INT_LITERAL.finditer(self.text)
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
            end = self.offset(node.end_lineno, node.end_col_offset) - self.shift
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
