"""Tests of the safe parser (symdiff/text and symdiff/graph/parse.py): grammar, refusals, positions, safety, limits."""
from __future__ import annotations

import math
import sys
import time

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import counting
from symdiff.errors import ParseError, ShapeError, SymdiffError
from symdiff.text import MAX_DEPTH, MAX_LENGTH, parse_with
from symdiff.text.sympy_builder import SympyBuilder, parse_sympy
from symdiff.graph.parse import parse

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


class Counter(counting.Counter):
    """A cheap builder: each result is the number of builder calls in its subtree."""

    functions = {"f", "g", "exp", "sum", "reshape", "transpose"}


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
    assert sys.getrecursionlimit() == limit  # never raised (see test_process_state.py)


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


# ---------------------------------------------------------------------------
# matrix notation (claims): the notation symdiff prints, read back
# ---------------------------------------------------------------------------

import numpy as np  # noqa: E402

import symdiff as sd  # noqa: E402
from symdiff.graph.claims import parse_claim  # noqa: E402

MA, Mx, Mb = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
MS, Mv, Ms = sd.var("S", (3, 3)), sd.var("v", (3,)), sd.var("s")
MVARS = [MA, Mx, Mb, MS, Mv, Ms]
RNG = np.random.default_rng(7)
MPOINT = {"A": RNG.uniform(-1, 1, (3, 2)), "x": RNG.uniform(-1, 1, 2),
          "b": RNG.uniform(-1, 1, 3), "S": np.eye(3) * 2 + RNG.uniform(-0.3, 0.3, (3, 3)),
          "v": RNG.uniform(0.2, 1, 3), "s": 0.7}


def mval(text, wrt=None):
    node = parse_claim(text, MVARS, wrt=wrt)
    names = {n.name for n in node.nodes() if n.op == "var"}
    return np.asarray(node.eval({k: v for k, v in MPOINT.items() if k in names}))


A_, x_, b_, S_, v_, s_ = (MPOINT[k] for k in "AxbSvs")
col = lambda a: a.reshape(-1, 1)  # noqa: E731
ones = np.ones


@pytest.mark.parametrize("text,expected", [
    ("2*A.T*(A*x - b)", 2 * A_.T @ col(A_ @ x_ - b_)),           # vectors are columns
    ("2*A.T@(A@x - b)", 2 * A_.T @ col(A_ @ x_ - b_)),           # @ is the same product
    ("x.T*x", col(x_).T @ col(x_)),                               # a 1x1 matrix
    ("(x.T*x)[0, 0]", x_ @ x_),                                   # ... and its number
    ("s*A + A*s", 2 * s_ * A_),                                   # numbers scale
    ("A/2 - 1", A_ / 2 - 1),                                      # elementwise with numbers
    ("S**2", S_ @ S_), ("S**0", np.eye(3)), ("S.T**(-1)", np.linalg.inv(S_).T),
    ("Inverse(S)*Determinant(S)", np.linalg.inv(S_) * np.linalg.det(S_)),
    ("Trace(S) + trace(S.T) + det(S) + logdet(S)",
     2 * np.trace(S_) + np.linalg.det(S_) + np.log(np.linalg.det(S_))),
    ("HadamardProduct(A, A, A)", A_**3), ("HadamardPower(A, 2)", A_**2),
    ("HadamardPower(v, s)", col(v_ ** s_)),
    ("tanh.(A*x)", col(np.tanh(A_ @ x_))), ("tanh(A*x)", col(np.tanh(A_ @ x_))),
    ("relu'.(A*x - b)", col((A_ @ x_ - b_ > 0) * 1.0)),
    ("relu'.(b)*0 + step(A*x, 0)", col(np.heaviside(A_ @ x_, 0.0))),
    ("tanh'.(A)", 1 - np.tanh(A_) ** 2),
    ("sigmoid'.(s)", np.exp(-s_) / (1 + np.exp(-s_)) ** 2),
    ("Lambda(_t, sqrt(_t) + _t).(v)", col(np.sqrt(v_) + v_)),
    ("Lambda(t, Heaviside(t, 1/2)).(x - x)", col(np.full(2, 0.5))),
    ("1.T*v", ones((1, 3)) @ col(v_)),                             # a row of ones
    ("(1.T*exp.(v))[0, 0]", np.sum(np.exp(v_))),
    ("1*b.T", ones((1, 1)) @ col(b_).T),                           # size from the result
    ("HadamardProduct(1*x.T, A)", ones((3, 1)) @ col(x_).T * A_),  # size from the product
    ("S.T*1 + 1*S.T", S_.T @ ones((3, 3)) + ones((3, 3)) @ S_.T),
    ("-((2*Trace(I - S))*I) + 0*S", -2 * np.trace(np.eye(3) - S_) * np.eye(3)),
    ("exp.((-log((1.T*exp.(v))[0, 0]))*1 + v)", col(np.exp(v_) / np.sum(np.exp(v_)))),
    ("2*1*A.T", 2 * ones((1, 2)) @ A_.T),                          # unfixed sizes are 1
    ("A[2, 1] + A[-1, 0] + A[3] + x[1]", A_[2, 1] + A_[2, 0] + A_[1, 1] + x_[1]),
    ("A[1:, :]", A_[1:, :]), ("A[0, :]", A_[0:1, :]), ("S[::2, 1]", S_[::2, 1:2]),
    ("where(A > 0, A, 0) + Max(A, 0.5) - Min(A, s)",
     np.where(A_ > 0, A_, 0) + np.maximum(A_, 0.5) - np.minimum(A_, s_)),
    ("sum(A) + mean(v) + norm(x) + logsumexp(v)",
     A_.sum() + v_.mean() + np.linalg.norm(x_) + np.log(np.exp(v_).sum())),
    ("Transpose(A)*transpose(A).T", A_.T @ A_), ("pi*E", math.pi * math.e),
    ("Matrix([[1, 2], [s, 4]])", [[1, 2], [s_, 4]]), ("Matrix([1, s, 3])", [[1], [s_], [3]]),
    ("Matrix([[S, v], [v.T, s]])", np.block([[S_, col(v_)], [col(v_).T, np.full((1, 1), s_)]])),
    ("Matrix([[A, 0], [0, x]])", np.block([[A_, np.zeros((3, 1))], [np.zeros((2, 2)),
                                                                      col(x_)]])),
    ("ImmutableMatrix([[Matrix([[x[1, 0]]])], [0]]) + 0*x", [[x_[1]], [0]]),
])
def test_matrix_notation_means_what_sympy_prints(text, expected):
    np.testing.assert_allclose(mval(text), np.asarray(expected, dtype=float), rtol=1e-12,
                               atol=1e-12, err_msg=text)


def test_claims_take_the_variables_shape():
    assert parse_claim("2*A.T*(A*x - b)", MVARS, wrt=Mx).shape == (2,)
    assert parse_claim("(x.T*x)[0, 0]", MVARS, wrt=Ms).shape == ()
    assert parse_claim("x.T*x", MVARS, wrt=Ms).shape == ()        # 1x1 for a number
    assert parse_claim("3", MVARS, wrt=MA).shape == (3, 2)        # a number is broadcast
    np.testing.assert_allclose(mval("1", MA), np.ones((3, 2)))
    np.testing.assert_allclose(mval("1*1", Mx), np.ones(2))
    np.testing.assert_allclose(mval("-((2*Trace(I - S))*I)", MS),   # each I has its own size
                               -2 * np.trace(np.eye(3) - S_) * np.eye(3))
    ones_32 = parse_claim("1", MVARS, wrt=MA).sympy()
    assert isinstance(ones_32, sympy.OneMatrix) and ones_32.shape == (3, 2)
    with pytest.raises(ShapeError, match="is it transposed"):
        parse_claim("A.T", MVARS, wrt=MA)
    with pytest.raises(ShapeError, match="must be a 3×2 matrix"):
        parse_claim("x", MVARS, wrt=MA)
    # a node of the graph over the same variables
    node = parse_claim("x.T*A.T", {"A": MA, "x": Mx})
    assert node.shape == (1, 3) and {n.name for n in node.nodes() if n.op == "var"} == {"A", "x"}


def test_printed_derivatives_parse_back():
    W, u = sd.var("W", (2, 3)), sd.var("u", (3,))
    f = sd.sum(sd.tanh(W @ u) ** 2) + sd.sum(sd.sqrt(W * W + 1)) + sd.sum(sd.relu(W @ u))
    for v in (W, u):
        g = sd.diff(f, v)
        back = parse_claim(str(g.sympy()), f, wrt=v)
        point = {"W": RNG.uniform(-1, 1, (2, 3)), "u": RNG.uniform(-1, 1, 3)}
        np.testing.assert_allclose(back.eval(point), g.eval(point), rtol=1e-12)


def test_block_matrices_take_their_zero_blocks_sizes_from_the_variable():
    np.testing.assert_allclose(mval("Matrix([[2*A[:1, :]], [0]])", MA),
                               np.vstack([2 * A_[:1], np.zeros((2, 2))]))
    np.testing.assert_allclose(mval("Matrix([[0], [Matrix([[v[1, 0]]])], [0]])", Mv),
                               [0, v_[1], 0])
    # two zero blocks in one column with two rows between them: SymPy's print is ambiguous
    with pytest.raises(ParseError, match="cannot be told"):
        parse_claim("Matrix([[0], [Matrix([[v[1, 0]]])], [0]])", MVARS)   # no size to go by
    with pytest.raises(ParseError, match="zero blocks"):
        parse_claim("Matrix([[0], [A[:1, 1:]], [0]])", MVARS, wrt=sd.var("big", (4, 1)))


def test_parse_in_matrix_mode():
    node = parse("W.T*v + 1", {"W": (3, 2), "v": (3,)}, matrix=True)
    assert node.shape == (2, 1)
    assert parse("x*y", matrix=True).sympy() == x * y      # unknown names: scalar variables


@pytest.mark.parametrize("text,fragment,position", [
    ("x*x", "inner sizes differ", 1),                       # two columns
    ("x*x", "HadamardProduct(x, y)", 1),
    ("(x.T*x)*x", "(x.T*x)[0, 0]", 7),
    ("A*A", "'*' multiplies a 3×2 matrix by a 3×2 matrix", 1),
    ("A + S", "same shape", 2),
    ("x + zz", "unknown name 'zz' (the variables are: A, S, b, s, v, x)", 4),
    ("A/S", "cannot divide by a matrix", 1),
    ("S**s", "integer exponent", 1), ("S**0.5", "integer exponent", 1),
    ("A**2", "must be square", 1), ("S**100", "limited", 1),
    ("s**A", "not a matrix", 1), ("s@A", "'@' multiplies two matrices", 1),
    ("Trace(A)", "square matrix", 0), ("A[3, 0]", "row index 3 is out of range", 0),
    ("A[0]", None, None), ("s[0]", "only a matrix can be indexed", 0),
    ("A[None, 0]", "None and ...", 0), ("A[0:0, :]", "empty slice", 0),
    ("Matrix([[1, 2], [3]])", "equal length", 7), ("Matrix(1)", "one list of rows", 0),
    ("Matrix([[1], 2])", "list of rows", 7), ("Matrix([[A, x]])", "does not fit", 0),
    ("Matrix([[A], [1]])", "block (1, 0) is a 1×1", 0),
    ("BlockMatrix([[A]])", "Matrix([[A, B]", 0),
    ("Matrix([[1, 2]])*Matrix([[1, 2, 3]])", "inner sizes differ", 16),
    ("Lambda(t, t)", "applied elementwise", 0),
    ("Piecewise((x, x > 0))", "where(", 0), ("sum(A, axis=0)", "no keyword", 12),
    ("exp", "must be called", 0), ("foo'.(x)", "unknown function 'foo''", 0),
    ("relu'.(x, x)", "'relu'' takes 1 argument", 0), ("where(A, A, A)", "comparison", 0),
    ("Lambda(_t, A).(x)", "scalar expression", 0), ("HadamardPower(A, A)", "number", 0),
    ("tanh.(x) + 1.T*__import__('os')", "names starting with '_'", 15),
])
def test_matrix_notation_refusals_name_the_problem_and_position(text, fragment, position):
    if fragment is None:
        mval(text)          # A[0] is SymPy's linear index: fine
        return
    with pytest.raises(ParseError) as info:
        parse_claim(text, MVARS)
    assert fragment in info.value.message, info.value.message
    assert info.value.position == position, info.value
    assert info.value.text == text


def test_rewrites_keep_positions_of_the_original_text():
    # 1.T gains a character and relu'.( changes two: positions still point into the text
    for text, name in [("1.T*v + relu'.(x)*zz", "zz"), ("tanh.(x).T*1.T + qq", "qq"),
                       ("relu'.(1.T*v)  +  ww", "ww")]:
        with pytest.raises(ParseError) as info:
            parse_claim(text, MVARS)
        assert info.value.position == text.index(name), (text, info.value)


def test_claim_text_is_never_executed(tmp_path):
    sentinel = tmp_path / "SENTINEL"
    attacks = [
        f"__import__('os').system('touch {sentinel}')",
        f"open('{sentinel}', 'w')", "(lambda: 1)()", "x.__class__", "x.real", "exp.__globals__",
        f"exec(\"open('{sentinel}', 'w')\")", "().__class__.__bases__[0].__subclasses__()",
        f"[open('{sentinel}', 'w') for _ in (1,)]", f"f'{{open(\"{sentinel}\", \"w\")}}'",
        "Lambda(__t, 1).(x)", f"Lambda(t, open('{sentinel}', 'w')).(x)", "getattr(x, 'T')",
        f"relu'.(open('{sentinel}'))", "x if x else x", "x.T.__dict__",
        f"Lambda(_t, _t).(__import__('os').system('touch {sentinel}'))",
    ]
    for text in attacks:
        with pytest.raises(ParseError) as info:
            parse_claim(text, MVARS)
        assert isinstance(info.value.position, int), text
    assert not sentinel.exists()


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=FUZZ_ALPHABET + "AbSvIT.'", max_size=120))
def test_random_claim_text_parses_or_raises_parse_error(text):
    start = time.perf_counter()
    try:
        parse_claim(text, MVARS)
    except ParseError as e:
        assert e.position is None or 0 <= e.position <= len(text)
    assert time.perf_counter() - start < 1.0


# ---------------------------------------------------------------------------
# regressions found by tests/text/test_fuzz_parse.py (hostile text), each fixed in parse.py
# (times are CPU times, time.process_time(): the bound is on the work done, and other
# processes on a loaded machine must not make these tests fail)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, fragment, position", [
    # integer literals beyond the float range: OverflowError from const()/float() before
    ("0x" + "f" * 300, "too large", 0),
    ("x + " + "9" * 400, "too large", 4),
    ("-" + "9" * 4300, "too large", 1),
    ("1e999999", "too large", 0),
    ("x**1e400", "too large", 3),
    # decimal literals over Python's 4300-digit limit: was position 0
    ("x + " + "1" * 5000, "too many digits", 4),
])
def test_huge_numbers_are_parse_errors_at_the_number(text, fragment, position):
    for run in (lambda: parse(text), lambda: parse_claim(text, MVARS),
                lambda: sp(text)):
        with pytest.raises(ParseError) as info:
            run()
        assert fragment in info.value.message or "too long" in info.value.message, \
            info.value
        if "too long" not in info.value.message:
            assert info.value.position == position, info.value


@pytest.mark.parametrize("text, position", [
    # ints as indices, axes and sizes: OverflowError / ShapeError from numpy before
    ("x[1:" + "9" * 30 + "]", 4),
    ("sum(x, axis=" + "9" * 25 + ")", 12),
    ("reshape(x, (" + "9" * 4000 + ",))", 12),
    ("x[-" + "9" * 20 + "]", 3),
])
def test_huge_indices_axes_and_sizes_are_parse_errors(text, position):
    with pytest.raises(ParseError, match=r"between -2\*\*63 and 2\*\*63") as info:
        parse(text, {"x": (3,)})
    assert info.value.position == position


@pytest.mark.parametrize("text, fragment, position", [
    ("x\x00+1", "null character (U+0000)", 1),          # was position 0, a ValueError text
    ("x + \ud800", "lone surrogate (U+D800)", 4),       # was position 0, a codec message
    ("x\x07 + 1", "control character (U+0007)", 1),
    ("x\u200d+1", "ZERO WIDTH JOINER", 1),
    ("x + 1  # \u202e comment", "RIGHT-TO-LEFT OVERRIDE", 9),   # even in a comment
    ("\ufeffx", "ZERO WIDTH NO-BREAK SPACE", 0),
    ("x\u22121", "MINUS SIGN): write '-'", 1),
    ("2\u00d7x", "MULTIPLICATION SIGN): write '*'", 1),
    ("x\u00b2", "superscripts are not powers", 1),
    ("x\u00a0+ 1", "NO-BREAK SPACE): write a plain space", 1),
    ("\uff11 + x", "FULLWIDTH DIGIT ONE): write '1'", 0),
])
def test_unicode_characters_are_refused_where_they_are(text, fragment, position):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert fragment in info.value.message, info.value
    assert info.value.position == position


@pytest.mark.parametrize("text, fragment, position", [
    # Python NFKC-normalises names: these were silently read as exp(x), x, xn and fi
    ("\uff45\uff58\uff50(x)", "write 'exp'", 0),
    ("1 + \U0001d431", "write 'x'", 4),
    ("x\u207f + 1", "superscripts are not powers", 1),
    ("\ufb01 + 1", "write 'fi'", 0),
    ("x.\uff34", "write 'T'", 2),
    ("sum(x, \uff41xis=0)", "write 'axis'", 7),
    # look-alikes of Latin letters: another name than the one it looks like
    ("\u0455in(x)", "CYRILLIC SMALL LETTER DZE, a look-alike of the Latin 's': write 'sin'", 0),
    ("x + \u0445", "write 'x'", 4),
    ("\u03bf + 1", "GREEK SMALL LETTER OMICRON", 0),
    ("x\u00b7y", "one name in Python", 1),
    # a Greek letter that looks Latin, in a name with Latin letters (found by the fuzzer)
    ("sigmoid(x)*\u03c1i", "RHO, a look-alike of the Latin 'p': write 'pi'", 11),
])
def test_names_python_would_read_as_other_names_are_refused(text, fragment, position):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert fragment in info.value.message, info.value
    assert info.value.position == position


def test_greek_and_accented_names_are_still_names():
    assert parse("\u03b1*x + \u03b8 + \u00e9 + \u03bd").op == "add"   # α θ é ν
    assert {n.name for n in parse("(\u03b1 +\n \u03b2)").nodes() if n.op == "var"} == \
        {"\u03b1", "\u03b2"}


def test_long_names_are_shortened_in_messages():
    with pytest.raises(ParseError) as info:
        parse("q" * 5000 + "(x)")
    assert len(info.value.message) < 400 and "5000 characters" in info.value.message


def test_graph_builders_limit_the_number_of_nodes():
    from symdiff.text import MAX_NODES
    text = "+".join(["x"] * (MAX_NODES // 2 + 1))
    for run in (lambda: parse(text), lambda: parse(text, matrix=True),
                lambda: parse_claim(text, MVARS)):
        start = time.process_time()
        with pytest.raises(ParseError, match="too large") as info:
            run()
        assert time.process_time() - start < 1.0
    assert str(MAX_NODES) in info.value.message
    assert parse_with(text, Counter()) == MAX_NODES + 1   # the limit is the builder's


def test_largest_sums_and_products_parse_in_well_under_a_second():
    # 50,000-term sums took 1.9 s (sd.parse) to 2.4 s (claims): a first ast.parse at
    # the normal recursion limit thrown away, a full GC walk every few thousand nodes,
    # and a str.isascii() of the whole line for every name's position (quadratic)
    from symdiff.text import MAX_NODES
    n = MAX_NODES // 2
    for text in ["+".join(["x"] * n), "*".join(["1"] * n), "+".join(["\u03b1"] * n)]:
        for run in (lambda: parse(text), lambda: parse(text, matrix=True)):
            start = time.process_time()
            run()
            assert time.process_time() - start < 1.0, text[:20]


def test_sympy_reader_refuses_numbers_it_would_hang_on():
    # 9**9**9 was kept unevaluated, but 9**9**9*2 then evaluated it (minutes), and
    # sqrt of a 20,000-bit integer factored it (minutes)
    for text in ["9**9**9*2", "-9**9**9", "9**9**9 + x", "x*9**3000", "9**300*9**300*9**300",
                 "(" + "9" * 300 + ")*" + "9" * 300 + "*" + "9" * 300]:
        start = time.process_time()
        with pytest.raises(ParseError, match="exact"):
            sp(text)
        assert time.process_time() - start < 1.0
    assert isinstance(sp("x**9**9**9"), sympy.Pow)          # a tower alone stays readable


def test_sympy_reader_limits_length_nodes_and_depth():
    # SymPy itself is slow on big formulas: a 50,000-term sum of distinct symbols was
    # quadratic (17 min), a tower of 80 powers 3 s; the reader is for short formulas
    assert SympyBuilder.max_length <= 1000 and SympyBuilder.max_depth <= 20
    with pytest.raises(ParseError, match="too long"):
        sp("+".join(["x"] * 600))
    with pytest.raises(ParseError, match="nested too deeply"):
        sp("**".join(["(x+1)"] * 40))
    start = time.process_time()
    sp("**".join(["(x+%d)" % i for i in range(19)]))
    assert time.process_time() - start < 1.0


def test_matrix_powers_are_built_by_squaring():
    # S**64 was 63 products: S**64*S**64*... made 12 nodes per character of text
    node = parse_claim("S**64", MVARS)
    assert len(node.nodes()) <= 8
    np.testing.assert_allclose(node.eval(S=S_), np.linalg.matrix_power(S_, 64), rtol=1e-9)
    np.testing.assert_allclose(mval("S**(-5)"), np.linalg.matrix_power(np.linalg.inv(S_), 5),
                               rtol=1e-9)


def test_matrix_literals_are_linear_in_their_entries():
    # Matrix([[1, 1, ...]]) added one full-size constant per entry (quadratic: minutes at
    # 25,000 entries), and every Matrix(...) re-solved the sizes of all the earlier ones
    for text in ["Matrix([" + ",".join(["[1]"] * 4000) + "])",
                 "Matrix([[" + ",".join(["s"] * 2000) + "]])",
                 "+".join(["Matrix([[s, 1]])"] * 150)]:
        start = time.process_time()
        parse_claim(text, MVARS)
        assert time.process_time() - start < 1.0
    assert mval("Matrix([[1, s], [0, 2]])").tolist() == [[1, s_], [0, 2]]
    with pytest.raises(ParseError, match="at most 5000 entries"):
        parse_claim("Matrix([" + ",".join(["[1]"] * 5001) + "])", MVARS)


def test_matrix_rewrites_may_lengthen_a_text_of_the_largest_size():
    # 1.T -> 1 .T made a text of MAX_LENGTH characters too long, refused with the
    # rewritten length and a position past the end of the text
    text = ("1.T*b+" * (MAX_LENGTH // 6))[:MAX_LENGTH - 5] + "1.T*b"
    text = text[:MAX_LENGTH]
    with pytest.raises(ParseError) as info:
        parse_claim(text, MVARS)
    assert "too long" not in info.value.message
    assert 0 <= info.value.position <= len(text)


def test_powers_of_numbers_with_huge_exponents_are_float_constants():
    # 9**9**9 became pow(const 9, p=387420489): its closed form computed the exact power
    # (370 million digits: symdiff verify --claim x=9**9**9 and diff never returned)
    for text, value in [("9**9**9", math.inf), ("(-9)**(9**9)", -math.inf),
                        ("(1/2)**(9**9)", 0.0), ("1.0001**2000", 1.0001**2000)]:
        for node in (parse(text), parse_claim(text, MVARS)):
            start = time.process_time()
            node.sympy()
            assert time.process_time() - start < 1.0
            assert float(node.eval()) == pytest.approx(value)
    assert parse("2**10").sympy() == 1024            # small powers stay exact
    assert str(parse("x**(9**9)").sympy()) == "x**387420489"


def test_claim_errors_found_after_translation_have_positions():
    # an index out of range of a variable's known size, and an ambiguous block matrix,
    # were ParseErrors with position None (found by test_fuzz_parse's huge numbers)
    with pytest.raises(ParseError, match="entry index 1711194 is out of range") as info:
        parse_claim("x + x[1711194]", MVARS)
    assert info.value.position == 4
    text = "1.T*v + Matrix([[0], [Matrix([[v[1, 0]]])], [0]])"
    with pytest.raises(ParseError, match="cannot be told") as info:
        parse_claim(text, MVARS)
    assert info.value.position == text.index("Matrix")


def test_sympy_reader_refuses_floats_beyond_the_float_range_as_operands():
    # exp(9**9**5.) evaluated exp of 9.0**59049 with mpmath: 1.5 s (the fuzzer's find)
    for text in ["exp(9**9**5.)", "exp(1e308*10)", "sin(2.0**2000)"]:
        start = time.process_time()
        with pytest.raises(ParseError, match="beyond the float range"):
            sp(text)
        assert time.process_time() - start < 1.0
    assert str(sp("1e308*10")) == "1.00000000000000e+309"   # alone it is read
