"""The tokens of a formula's text, found with one regular expression (no recursion, no
``tokenize``: five times faster on the longest texts).

``scan`` splits a text the way Python's tokenizer does for the expressions symdiff reads:
names, numbers, strings, operators and brackets (matched), with whitespace, comments and
line continuations skipped. It never fails: a character Python would refuse becomes an
``ERROR`` token, and an unmatched bracket has no partner. The reader uses the tokens to
cut a long text into pieces (``symdiff.text.pieces``) and to find the spellings on which
Python's parser would print a warning (``warning_spot``).

Imports only the standard library.

>>> toks = scan("f(x) + 2  # note")
>>> toks.texts
['f', '(', 'x', ')', '+', '2']
>>> toks.partner[1], toks.kind(5) == NUMBER
(3, True)
"""
from __future__ import annotations

import re
from itertools import accumulate
from typing import Optional

NAME, NUMBER, STRING, OP, NEWLINE, ERROR = range(6)

_DIGITS = r"[0-9](?:_?[0-9])*"
_EXPONENT = rf"[eE][-+]?{_DIGITS}"
_FLOAT = rf"(?:{_DIGITS}\.(?:{_DIGITS})?|\.{_DIGITS})(?:{_EXPONENT})?|{_DIGITS}{_EXPONENT}"
_NUMBER = (rf"{_DIGITS}[jJ]|(?:{_FLOAT})[jJ]?|0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+"
           rf"|0[oO](?:_?[0-7])+|0(?:_?0)*|[1-9](?:_?[0-9])*")
"""Python's numeric literals (as in the ``tokenize`` module), the longest first."""
_STRING = ("[rRbBuUfF]{0,2}(?:'''(?:[^\\\\]|\\\\.)*?'''|\"\"\"(?:[^\\\\]|\\\\.)*?\"\"\""
           "|'(?:[^\\\\'\\r\\n]|\\\\(?:\\r\\n|.))*'|\"(?:[^\\\\\"\\r\\n]|\\\\(?:\\r\\n|.))*\")")
_TOKEN = re.compile(
    # names first (the commonest), unless they are the prefix of a string: rb'x'
    r"(?![rRbBuUfF]{1,2}['\"])(?:[^\W\d]|[^\x00-\x7f])(?:\w|[^\x00-\x7f])*"
    r"|[-+*/%@&|^<>=!]=|\*\*=?|//=?|<<=?|>>=?|->|:=|\.\.\.|\.(?![0-9])"
    r"|[-+*/%@&|^~<>=,:;()\[\]{}]"
    r"|[ \t\f]+|\\(?:\r\n|\r|\n)|\#[^\r\n]*"
    rf"|{_NUMBER}|{_STRING}|\r\n|\r|\n|.", re.DOTALL)
"""Every token, and every run of whitespace or comment: the matches cover the text, so
their offsets are the running sums of their lengths. A name is any run of word characters
and non-ASCII ones: Python refuses the non-ASCII characters that cannot be in names, and
the reader has Python parse every character of the text. Anything else is one character
(an ``ERROR``, or the quote of an unterminated string)."""
_SKIPPED = frozenset(" \t\f#\\")   # whitespace, comments, line continuations (and a lone \)
_ANY_SKIPPED = re.compile(r"[ \t\f#\\]")
_OPENING = {"(": ")", "[": "]", "{": "}"}
_BRACKETS = frozenset("()[]{}")

_WARNING_AFTER_NUMBER = re.compile(r"and|else|for|i[fns]|not|or")
"""What Python 3.11-3.13 warn about right after a number ("invalid decimal literal"):
``1if x else 2`` is read as ``1 if x else 2`` with a SyntaxWarning; any other letter
there is a SyntaxError."""
_MAYBE_WARNING = re.compile(r"[0-9.a-fA-FjJ](?:and|else|for|i[fns]|not|or)")
"""A quick test for texts that may hold one of those: a keyword right after what can end
a number (``sin(x)`` has none; ``define(x)`` is scanned to find it is a name)."""


class Tokens:
    """The tokens of one text: ``texts``, ``starts`` and ``ends`` (character offsets);
    ``partner`` maps a bracket's index to its matching bracket's (both ways),
    ``balanced`` says every bracket has one and ``depth`` is the deepest nesting of
    brackets. Line breaks are tokens (``NEWLINE``) too."""

    def __init__(self, text: str, texts: list[str], starts: list[int], ends: list[int]):
        self.source, self.texts, self.starts, self.ends = text, texts, starts, ends
        self.partner: dict[int, int] = {}
        self.balanced = True
        self.depth = 0

    def __len__(self) -> int:
        return len(self.texts)

    def kind(self, i: int) -> int:
        """NAME, NUMBER, STRING, OP, NEWLINE or ERROR."""
        tok = self.texts[i]
        first = tok[0]
        if len(tok) > 1 and tok[-1] in "'\"":
            return STRING
        if "0" <= first <= "9" or first == "." and len(tok) > 1 and tok[1] != ".":
            return NUMBER
        if first.isidentifier() or not first.isascii():
            return NAME
        if first in "\r\n":
            return NEWLINE
        if first in "'\"$?`!" and tok != "!=":
            return ERROR
        return OP


def scan(text: str) -> Tokens:
    """The tokens of ``text`` (see ``Tokens``); never raises."""
    texts = _TOKEN.findall(text)
    ends = list(accumulate(map(len, texts)))
    if _ANY_SKIPPED.search(text):
        keep = [i for i, tok in enumerate(texts) if tok[0] not in _SKIPPED]
        texts = [texts[i] for i in keep]
        ends = [ends[i] for i in keep]
        starts = [end - len(tok) for tok, end in zip(texts, ends)]
    else:                               # every match is a token (x+x+...+x)
        starts = [0] + ends[:-1]
    toks = Tokens(text, texts, starts, ends)
    opened: list[int] = []
    partner = toks.partner
    for i in [i for i, tok in enumerate(texts) if tok in _BRACKETS]:
        tok = texts[i]
        if tok in _OPENING:
            opened.append(i)
            if len(opened) > toks.depth:
                toks.depth = len(opened)
        elif opened and _OPENING[texts[opened[-1]]] == tok:
            j = opened.pop()
            partner[i], partner[j] = j, i
        else:
            toks.balanced = False
    toks.balanced = toks.balanced and not opened
    return toks


def warning_spot(text: str) -> Optional[tuple[int, str]]:
    """Where Python's parser would print a warning on ``text`` (and raise a SyntaxError
    with ``-W error``), and what it would say; None when it prints none. Python 3.11 to
    3.13 warn about an invalid escape in a string ("'\\d'") and about a number written
    against a keyword ("1if x else 2"): both are texts symdiff refuses.

    >>> warning_spot("x + 1if x else 2")
    (5, 'invalid syntax (invalid decimal literal)')
    >>> warning_spot("x + 1  # 1if") is None
    True
    """
    if "\\" not in text and not _MAYBE_WARNING.search(text):
        return None     # the common case, without scanning
    toks = scan(text)
    starts, ends = toks.starts, toks.ends
    for i, tok in enumerate(toks.texts):
        kind = toks.kind(i)
        if kind == STRING and "\\" in tok:
            prefix = re.match(r"[a-zA-Z]*", tok).group()  # type: ignore[union-attr]
            return starts[i], ("f-strings are not allowed" if "f" in prefix.lower()
                               else "strings are not allowed")
        if kind == NUMBER and _WARNING_AFTER_NUMBER.match(text, ends[i]):
            literal = tok.lower()
            what = ("hexadecimal" if literal.startswith("0x") else "binary"
                    if literal.startswith("0b") else "octal" if literal.startswith("0o")
                    else "imaginary" if literal.endswith("j") else "decimal")
            return ends[i], f"invalid syntax (invalid {what} literal)"
    return None
