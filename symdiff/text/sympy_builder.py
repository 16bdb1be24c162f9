"""The SymPy builder: formula text to a SymPy expression, with bounded exact arithmetic.

symdiff reads the SymPy side of its primitive table (``symdiff.symbolic.functions``) with
it, so the rows are data, not code. Imports symdiff.errors, symdiff.text and SymPy (when
a builder is made).

>>> import sympy
>>> x = sympy.Symbol("x")
>>> parse_sympy("2*x**3 - 1", {"x": x}, {})
2*x**3 - 1
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional

from symdiff.errors import ParseError
from symdiff.text.builder import OPERATORS, OperatorBuilder
from symdiff.text.hygiene import clip_text
from symdiff.text.numbers import FLOAT_MAX
from symdiff.text.reader import parse_with


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


class SympyBuilder(OperatorBuilder):
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
            shown = clip_text(str(value))
            if isinstance(value, self._sympy.Float) or value.has(self._sympy.Float):
                raise ParseError(f"the number {shown} is beyond the float range (about "
                                 "1.8e308)")
            raise ParseError(f"the number {shown} is too large to compute with exactly (more "
                             f"than {self.MAX_EXACT_BITS} bits)")
        return entry[1]

    def _keep(self, value: Any, bits: Optional[int]) -> Any:
        if isinstance(value, self._sympy.Float) and not abs(float(value)) <= FLOAT_MAX:
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
            raise ParseError(f"function '{clip_text(identifier)}' must be called, e.g. "
                             f"{clip_text(identifier)}(x)")
        raise ParseError(f"unknown name '{clip_text(identifier)}'")

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
        return self._keep(OPERATORS[op](a, b), bits)

    def unary(self, op: str, a: Any) -> Any:
        return self._keep(super().unary(op, a), self._bound(a))

    def call(self, fname: str, args: list, kwargs: dict, position: int) -> Any:
        bits = max((self._bound(a) for a in args), default=0)
        return self._keep(super().call(fname, args, kwargs, position), bits)

    def attribute(self, a: Any, attr: str) -> Any:
        return self._keep(a.T, self._bound(a))

    def subscript(self, a: Any, key: tuple) -> Any:
        return self._keep(a[key[0] if len(key) == 1 else key], self._bound(a))
