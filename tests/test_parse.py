"""Tests of the safe parser (symdiff/parse.py): grammar, refusals, positions, safety, limits."""
from __future__ import annotations

import math
import sys
import time

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symdiff.errors import ParseError, ShapeError, SymdiffError
from symdiff.parse import MAX_DEPTH, MAX_LENGTH, SympyBuilder, parse, parse_sympy, parse_with

x, y, z = sympy.symbols("x y z")
A = sympy.MatrixSymbol("A", 2, 2)
B = sympy.MatrixSymbol("B", 2, 2)
SYMBOLS = {"x": x, "y": y, "z": z, "A": A, "B": B}
FUNCTIONS = {
    "exp": sympy.exp, "sin": sympy.sin, "Max": sympy.Max, "Heaviside": sympy.Heaviside,
    "where": lambda c, a, b: sympy.Piecewise((a, c), (b, True)),
    "sum": lambda a, axis=None, keepdims=False: ("sum", a, axis, keepdims),
    "reshape": lambda a, shape: ("reshape", a, shape),
}


def sp(text: str):
    return parse_sympy(text, SYMBOLS, FUNCTIONS)


class Counter:
    """A cheap builder: each result is the number of builder calls in its subtree."""

    functions = {"f", "g", "exp", "sum", "reshape", "transpose"}

    def number(self, value): return 1
    def name(self, identifier, position): return 1
    def binop(self, op, a, b): return a + b + 1
    def compare(self, op, a, b): return a + b + 1
    def unary(self, op, a): return a + 1
    def call(self, fname, args, kwargs, position):
        return 1 + sum(a for a in args if isinstance(a, int))
    def attribute(self, a, attr): return a + 1
    def subscript(self, a, key): return a + 1


class Recorder:
    """A builder that renders fully parenthesised text and logs what it was given."""

    def __init__(self, functions=("f", "g", "sum", "reshape", "transpose")):
        self.functions = None if functions is None else set(functions)
        self.log: list = []

    def number(self, value): return repr(value)
    def name(self, identifier, position):
        self.log.append(("name", identifier, position))
        return identifier
    def binop(self, op, a, b): return f"({a} {op} {b})"
    def compare(self, op, a, b): return f"({a} {op} {b})"
    def unary(self, op, a): return f"({op}{a})"
    def call(self, fname, args, kwargs, position):
        self.log.append(("call", fname, args, kwargs, position))
        return f"{fname}({', '.join(map(str, args))})"
    def attribute(self, a, attr): return f"({a}).{attr}"
    def subscript(self, a, key):
        self.log.append(("subscript", key))
        return f"{a}[{key!r}]"


# ---------------------------------------------------------------------------
# grammar, precedence (against SymPy built directly)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("x + y*z", x + y * z),
    ("(x + y)*z", (x + y) * z),
    ("x - y - z", (x - y) - z),
    ("x - (y - z)", x - (y - z)),
    ("x / y / z", (x / y) / z),
    ("-x**2", -(x**2)),
    ("(-x)**2", x**2),
    ("x**y**z", x**(y**z)),
    ("x**-1", 1 / x),
    ("2**-1", sympy.Rational(1, 2)),
    ("1/3", sympy.Rational(1, 3)),
    ("+x - -y", x + y),
    ("0.5*x", sympy.Float(0.5) * x),
    ("2*x**3 - 1", 2 * x**3 - 1),
    ("  x +\ty", x + y),
    ("(x +\n y)", x + y),
    ("(x +  # a comment\n y)", x + y),
    ("Max(x, y)", sympy.Max(x, y)),
    ("exp(sin(x))**2", sympy.exp(sympy.sin(x))**2),
    ("Heaviside(x, z)", sympy.Heaviside(x, z)),
    ("where(x > 0, x, y)", sympy.Piecewise((x, x > 0), (y, True))),
])
def test_sympy_expressions_and_precedence(text, expected):
    assert sp(text) == expected


def test_integers_stay_exact_and_floats_are_floats():
    assert isinstance(sp("3"), sympy.Integer)
    assert isinstance(sp("2.5"), sympy.Float)
    assert sp("10**30") == sympy.Integer(10)**30  # exact, not a float


@pytest.mark.parametrize("text, expected", [
    ("x > y", sympy.StrictGreaterThan(x, y)),
    ("x >= y", sympy.GreaterThan(x, y)),
    ("x < 2", sympy.StrictLessThan(x, 2)),
    ("x <= y + 1", sympy.LessThan(x, y + 1)),
    ("x + 1 > y*2", sympy.StrictGreaterThan(x + 1, 2 * y)),
])
def test_comparisons(text, expected):
    assert sp(text) == expected


def test_matrix_product_transpose_and_indexing():
    assert sp("A @ B") == sympy.MatMul(A, B)
    assert sp("A.T @ B") == sympy.MatMul(A.T, B)
    assert sp("A[0, 1]") == A[0, 1]
    assert sp("(A @ B)[1, 0]") == sympy.MatMul(A, B)[1, 0]


def test_huge_exact_powers_stay_unevaluated():
    start = time.perf_counter()
    result = sp("9**9**9**9")
    assert time.perf_counter() - start < 1.0
    assert isinstance(result, sympy.Pow)


def test_subscript_keys_are_tuples_of_ints_slices_none_ellipsis():
    rec = Recorder()
    parse_with("x[0]", rec)
    parse_with("x[-1, 1:, ::2, :-1:3, None, ...]", rec)
    keys = [entry[1] for entry in rec.log if entry[0] == "subscript"]
    assert keys == [(0,), (-1, slice(1, None, None), slice(None, None, 2),
                           slice(None, -1, 3), None, Ellipsis)]


def test_call_arguments_keywords_and_shape_tuples():
    rec = Recorder()
    parse_with("sum(x, axis=(0, -1), keepdims=True)", rec)
    parse_with("reshape(x, (2, -1))", rec)
    parse_with("transpose(x, axes=None)", rec)
    calls = [entry[1:4] for entry in rec.log if entry[0] == "call"]
    assert calls == [("sum", ["x"], {"axis": (0, -1), "keepdims": True}),
                     ("reshape", ["x", (2, -1)], {}),
                     ("transpose", ["x"], {"axes": None})]


def test_name_and_call_positions_are_character_offsets():
    rec = Recorder()
    parse_with("é + f(β)", rec)  # non-ASCII: ast columns are bytes, positions are characters
    assert ("name", "é", 0) in rec.log and ("name", "β", 6) in rec.log
    assert [e[4] for e in rec.log if e[0] == "call"] == [4]


# ---------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------

REFUSED = [
    # (text, fragment of the message, position or None)
    ("x.foo", "attribute access '.foo' is not allowed", 1),
    ("x.__class__", "attribute access '.__class__'", 1),
    ("exp(x).real", "attribute access '.real'", 6),
    ("__import__", "names starting with '_'", 0),
    ("x + _secret", "names starting with '_'", 4),
    ("lambda: 1", "lambda", 0),
    ("[t for t in x]", "comprehensions", 0),
    ("{t for t in x}", "comprehensions", 0),
    ("{t: 1 for t in x}", "comprehensions", 0),
    ("sum(t for t in x)", "generator expressions", 3),
    ("f'{x}'", "f-strings", 0),
    ("(y := 2)", "walrus", 1),
    ("'abc'", "strings", 0),
    ("x + b'abc'", "strings", 4),
    ("2j", "complex", 0),
    ("x and y", "'and'/'or'", 0),
    ("x or y", "'and'/'or'", 0),
    ("not x", "'not'", 0),
    ("x ^ 2", "**", 2),
    ("x % 2", "'%'", 2),
    ("x // 2", "'//'", 2),
    ("x & y", "'&'", 2),
    ("x | y", "'|'", 2),
    ("x << 1", "'<<'", 2),
    ("x >> 1", "'>>'", 2),
    ("~x", "'~'", 0),
    ("exp(x)(y)", "only a plain function name can be called", 0),
    ("(lambda: 1)()", "lambda", 1),
    ("f(*x)", "starred", 2),
    ("f(**x)", "'**' argument unpacking", 4),
    ("sum(x, foo=1)", "keyword argument 'foo' is not allowed for 'sum'", 11),
    ("f(x, axis=1)", "keyword argument 'axis' is not allowed for 'f'", 10),
    ("sum(x, axis=y)", "keyword 'axis' must be a constant", 12),
    ("sum(x, axis=1.5)", "keyword 'axis' must be a constant", 12),
    ("sum(x, axis=1, axis=0)", "repeated", 20),
    ("reshape(x, (2, y))", "tuple of int constants", 11),
    ("[x, y]", "lists", 0),
    ("{'a': x}", "dicts", 0),
    ("{x, y}", "sets", 0),
    ("(x, y)", "tuples", 0),
    ("f((1, 2))", "tuples", 2),
    ("x if y else z", "where(", 0),
    ("x == y", "'=='", 2),
    ("x != y", "'!='", 2),
    ("x is y", "'is'", 2),
    ("x is not y", "'is not'", 2),
    ("x in y", "'in'", 2),
    ("x not in y", "'not in'", 2),
    ("x < y < z", "chained comparisons", 2),
    ("True", "keyword values", 0),
    ("x + False", "keyword values", 4),
    ("None", "None", 0),
    ("...", "'...'", 0),
    ("x[y]", "basic indexing", 2),
    ("x[1.5]", "basic indexing", 2),
    ("x[True]", "basic indexing", 2),
    ("x[[0, 1]]", "basic indexing", 2),
    ("x[1:y]", "slice bounds", 4),
    ("foo(x)", "unknown function 'foo'", 0),
    ("await x", "'await'", 0),
    ("(yield x)", "'yield'", 1),
    ("x +* 2", "invalid syntax", 3),
    ("x = 1", "invalid syntax", None),
    ("import os", "invalid syntax", None),
    ("x; y", "invalid syntax", 1),
    ("f(x", "never closed", 1),
    ("", "empty", 0),
    ("  \n ", "empty", 0),
]


@pytest.mark.parametrize("text, fragment, position", REFUSED)
def test_refusals(text, fragment, position):
    with pytest.raises(ParseError) as info:
        parse_with(text, Recorder())
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, SymdiffError)
    assert fragment in err.message
    assert err.text == text
    if position is not None:
        assert err.position == position
    assert 0 <= err.position <= len(text)


def test_caret_and_bitwise_xor_suggests_power():
    with pytest.raises(ParseError, match=r"x\*\*2") as info:
        sp("x^2 + 1")
    assert info.value.position == 1
    assert "^" in str(info.value)  # the message shows the text with a caret under '^'


def test_positions_on_later_lines_and_non_ascii_text():
    text = "(x +\n  y) % 2"
    with pytest.raises(ParseError) as info:
        parse_with(text, Recorder())
    assert info.value.position == text.index("%")
    text = "α + β.foo"
    with pytest.raises(ParseError) as info:
        parse_with(text, Recorder())
    assert info.value.position == text.index(".")


def test_unknown_function_lists_some_known_ones_and_suggests():
    with pytest.raises(ParseError) as info:
        sp("sine(x)")
    msg = info.value.message
    assert "unknown function 'sine'" in msg and "did you mean 'sin'" in msg
    assert "known functions" in msg and f"{len(FUNCTIONS)} in all" in msg


def test_unknown_name_and_uncalled_function_in_sympy():
    with pytest.raises(ParseError, match="unknown name 'q'") as info:
        sp("x + q")
    assert info.value.position == 4 and info.value.text == "x + q"
    with pytest.raises(ParseError, match="must be called"):
        sp("exp + 1")


def test_builder_exceptions_become_parse_errors_with_position():
    with pytest.raises(ParseError, match="cannot build '@'") as info:
        sp("x @ y")  # SymPy raises TypeError for @ on scalars
    assert info.value.position == 2
    assert isinstance(info.value.__cause__, TypeError)


def test_builder_symdiff_errors_propagate_unchanged():
    class Refuses(Recorder):
        def binop(self, op, a, b):
            raise ShapeError("add: shapes (2,) and (3,)")
    with pytest.raises(ShapeError, match=r"shapes \(2,\) and \(3,\)"):
        parse_with("x + y", Refuses())


def test_any_function_name_allowed_when_builder_lists_none():
    rec = Recorder(functions=None)
    assert parse_with("anything(x, 2)", rec) == "anything(x, 2)"


# ---------------------------------------------------------------------------
# nothing is ever executed
# ---------------------------------------------------------------------------

def test_nothing_is_executed(tmp_path):
    sentinel = tmp_path / "SENTINEL"
    attacks = [
        f"__import__('os').system('touch {sentinel}')",
        f"open('{sentinel}', 'w')",
        "(lambda: 1)()",
        f"exec(\"open('{sentinel}', 'w')\")",
        f"eval(\"open('{sentinel}', 'w')\")",
        "().__class__.__bases__[0].__subclasses__()",
        f"[open('{sentinel}', 'w') for _ in (1,)]",
        f"f'{{open(\"{sentinel}\", \"w\")}}'",
    ]
    builders = [Recorder, lambda: Recorder(functions=None), lambda: Counter(),
                lambda: SympyBuilder(SYMBOLS, FUNCTIONS)]
    for text in attacks:
        for make in builders:
            with pytest.raises(ParseError):
                parse_with(text, make())
        with pytest.raises(ParseError):
            parse(text)
    assert not sentinel.exists()


# ---------------------------------------------------------------------------
# size and depth limits
# ---------------------------------------------------------------------------

def test_deeply_nested_parentheses_are_refused():
    with pytest.raises(ParseError):
        parse_with("(" * 5000 + "x" + ")" * 5000, Counter())


@pytest.mark.parametrize("text", [
    "-" * 5000 + "x",
    "-" * (MAX_DEPTH + 5) + "x",
    "x" + "**x" * 2000,
    "-" * 100_000,
    "f(" * 150 + "x" + ")" * 150 + "+" + "-" * 2000 + "x",
])
def test_deep_nesting_gives_parse_error(text):
    with pytest.raises(ParseError, match="nested|too long|invalid syntax"):
        parse_with(text, Counter())


def test_depth_just_under_the_limit_is_fine():
    assert parse_with("-" * (MAX_DEPTH - 5) + "x", Counter()) == MAX_DEPTH - 4


def test_long_flat_chains_parse_without_recursion_error():
    limit = sys.getrecursionlimit()
    n = 20_000
    assert parse_with("+".join(["x"] * n), Counter()) == 2 * n - 1
    assert parse_with("-".join(["1"] * n), Counter()) == 2 * n - 1
    assert parse_with("x" + "[0]" * n, Counter()) == n + 1
    assert parse_with("x" + ".T" * n, Counter()) == n + 1
    assert parse_with("x*" + "y*" * n + "z", Counter()) == 2 * (n + 2) - 1
    assert sys.getrecursionlimit() == limit  # the temporary raise is undone


def test_longest_allowed_chain():
    text = "x+" * (MAX_LENGTH // 2 - 1) + "x "
    assert len(text) == MAX_LENGTH
    assert parse_with(text, Counter()) == MAX_LENGTH - 1  # 50,000 names, 49,999 '+'


def test_sympy_builder_on_a_long_sum():
    assert sp("+".join(["x"] * 500)) == 500 * x


def test_length_limit():
    with pytest.raises(ParseError, match="too long") as info:
        parse_with("x" * (MAX_LENGTH + 1), Counter())
    assert info.value.position == MAX_LENGTH


def test_non_string_input_is_a_type_error():
    with pytest.raises(TypeError):
        parse_with(b"x + 1", Counter())


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------

FUZZ_ALPHABET = "xyzfg0123456789.+-*/@()[]<>=!,:;^%&|~ _'\"\n\tTeE#{}lambdsumr"


def _parse_or_refuse(text: str) -> None:
    start = time.perf_counter()
    try:
        result = parse_with(text, Counter())
    except ParseError as e:
        assert isinstance(e.position, int) and 0 <= e.position <= len(text)
    else:
        assert isinstance(result, int) and result >= 1
    assert time.perf_counter() - start < 1.0


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=200))
def test_random_text_parses_or_raises_parse_error(text):
    _parse_or_refuse(text)


@settings(max_examples=500, deadline=None, database=None)
@given(st.text(alphabet=FUZZ_ALPHABET, max_size=200))
def test_formula_like_text_parses_or_raises_parse_error(text):
    _parse_or_refuse(text)


_leaves = st.one_of(st.sampled_from(["x", "y", "z"]),
                    st.integers(0, 99).map(str))
_exprs = st.recursive(
    _leaves,
    lambda sub: st.one_of(
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "**", "@", "<", ">="]), sub)
          .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda e: f"(-{e})"),
        st.tuples(st.sampled_from(["f", "g"]), st.lists(sub, min_size=1, max_size=3))
          .map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        sub.map(lambda e: f"({e}).T"),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_exprs)
def test_fully_parenthesised_text_round_trips(text):
    # The Recorder re-renders with the same parentheses, so children must arrive in order.
    assert parse_with(text, Recorder()) == text


# ---------------------------------------------------------------------------
# NodeBuilder: sd.parse builds graph nodes
# ---------------------------------------------------------------------------

def test_parse_builds_nodes():
    f = parse("x**2 + 3")
    assert f.op == "add"
    assert f.shape == ()


def test_parse_uses_shapes():
    assert parse("W", {"W": (2, 3)}).shape == (2, 3)
    assert parse("W.T @ v", {"W": (2, 3), "v": (2,)}).shape == (3,)
    assert parse("sum(W, axis=0, keepdims=True)", {"W": (2, 3)}).shape == (1, 3)
    assert parse("reshape(W, (3, -1))", {"W": (2, 3)}).shape == (3, 2)
    assert parse("W[0, 1:]", {"W": (2, 3)}).shape == (2,)
    assert parse("W[..., None]", {"W": (2, 3)}).shape == (2, 3, 1)


def test_same_name_gives_same_node_within_one_parse():
    f = parse("x * x")
    assert f.args[0] is f.args[1]
    g = parse("sin(x) + x")
    assert g.args[0].args[0] is g.args[1]


def test_numbers_pi_and_sympy_spellings():
    assert parse("2").op == "const" and float(parse("2")) == 2.0
    assert float(parse("-2.5")) == -2.5
    assert float(parse("pi")) == math.pi
    assert parse("Abs(x) + Max(x, y) + Heaviside(x, 0.5)").op == "add"
    assert parse("where(x > 0, x, 0)").op == "where"
    start = time.perf_counter()
    parse("9**9**9**9")  # never Python arithmetic on huge ints
    assert time.perf_counter() - start < 1.0


def test_parse_error_handling_with_nodes():
    with pytest.raises(ShapeError):
        parse("W @ W", {"W": (2, 3)})  # the graph's own clear error, unchanged
    with pytest.raises(ParseError, match="cannot build the call to 'exp'") as info:
        parse("1 + exp(x, y)")
    assert info.value.position == 4
    with pytest.raises(ParseError, match="'exp' must be called") as info:
        parse("x + exp")
    assert info.value.position == 4
    with pytest.raises(ParseError, match="unknown function 'foo'"):
        parse("foo(x)")


def test_public_form_sd_parse():
    import symdiff as sd

    assert sd.parse("x**2 + 3").op == "add"
    with pytest.raises(sd.ParseError):
        sd.parse("x ^ 2")
