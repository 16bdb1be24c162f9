"""Reading in pieces (symdiff/text/pieces.py and cuts.py): the same tree as ``ast.parse``, positions
included, for texts whose trees are deeper than ``ast.parse`` can build at the recursion
limit (which the reader no longer raises; see test_process_state.py).

The equivalence is tested on texts short enough for ``ast.parse`` to build, cut into
pieces of a few dozen characters; the long texts are then tested through the reader.
"""
from __future__ import annotations

import ast
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symdiff as sd
from symdiff.errors import ParseError
from symdiff.graph.claims import parse_claim
from symdiff.text import MAX_LENGTH, parse_with
from symdiff.text.cuts import cuts
from symdiff.text.pieces import NotInPieces, parse_in_pieces
from symdiff.text.tokens import scan

from counting import Counter

_POSITIONS = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def assert_same_tree(got: ast.AST, want: ast.AST) -> None:
    """Every node of the two trees alike: type, values and positions (an iterative walk:
    ast.dump recurses, and these trees are deep)."""
    stack = [(got, want, "tree")]
    while stack:
        a, b, where = stack.pop()
        assert type(a) is type(b), (where, type(a).__name__, type(b).__name__)
        if not isinstance(a, ast.AST):
            assert a == b, (where, a, b)
            continue
        for attribute in _POSITIONS:
            assert getattr(a, attribute, None) == getattr(b, attribute, None), \
                (where, type(a).__name__, attribute)
        for field in a._fields:
            x, y = getattr(a, field, None), getattr(b, field, None)
            if isinstance(x, list) and isinstance(y, list):
                assert len(x) == len(y), (where, field)
                stack.extend((p, q, f"{where}.{field}[{i}]") for i, (p, q) in enumerate(zip(x, y)))
            else:
                stack.append((x, y, f"{where}.{field}"))


def chain(op: str, n: int, term: str = "x") -> str:
    return op.join([term] * n)


# Texts at most a few thousand characters long (ast.parse builds them), each read in
# pieces of 24 to 300 characters: every kind of chain, at every depth of brackets.
TEXTS = [
    chain("+", 60), chain("-", 60, "1"), chain(" * ", 50, "y"), chain("@", 40, "W"),
    chain("|", 40), chain("^", 40), chain("&", 40), chain("<<", 40), chain("//", 40, "2"),
    "x" + "[0]" * 40, "x" + ".T" * 50, "f" + "(x)" * 30, "x" + "[1:2, ::3, None]" * 20,
    "2*(" + chain("+", 60) + ")", "sum(" + chain("+", 60) + ", axis=0)",
    "exp(sin(" + chain("*", 50) + "))", "[" + ", ".join(chain("+", 20) for _ in range(5)) + "]",
    "a*b + c*d - " + chain(" * ", 40, "y") + " + 1",
    "-" + chain("*", 40) + " | " + chain("^", 30, "z"),
    "(" + chain("+", 40) + ")" + "*2" * 30, "x ** -y" + "*z" * 40, "-x**2" + "*x" * 40,
    "x" + "+ -x" * 40, "~x" + "+~x" * 40, "x" + "@W" * 40 + " ** 2",
    "x" + "//2" * 20 + "%3" * 20 + ">>1" * 10 + "<<1" * 10 + "&3" * 10 + "|y" * 10,
    "((((" + chain("+", 40) + ")*2)+1)" + "*3" * 20 + ")",
    "x < " + chain("+", 40) + " < z", "x in " + chain("+", 40) + " not in z",
    "not " + chain("+", 40) + " if c else " + chain("-", 40),
    "(q := " + chain("+", 40) + ")", "f(k=" + chain("+", 40) + ")(z)" + "[0]" * 30,
    "f(*" + chain("+", 40) + ", **" + chain("|", 40) + ")", "{k: " + chain("+", 40) + "}",
    "x[" + chain("+", 40) + ":" + chain("+", 30, "y") + "]",
    "[a for a in " + chain("+", 40) + " if " + chain("*", 40) + "]",
    "lambda q=" + chain("+", 40) + ": q", "(yield " + chain("+", 40) + ")",
    "(\n  " + chain(" +\n  ", 40) + "\n)", "(  é + " + chain(" + ", 40, "β") + ")",
    "(x" + "\r\n+x" * 40 + ")", "(x" + "\r+x" * 40 + ")",
    "x + \\\n" + chain("+", 60, "y"), "x" + "+x" * 60 + "  # a comment",
    "(x" + "+x" * 60 + "  # a comment\n)", "1 .T" + " .T" * 30, "'a' 'b'" + "[0]" * 30,
    "else_ + (a if b else(" + chain("+", 40) + "))", "0x1f" + "+0b1" * 20 + "+1.5e3j" * 20,
    "Matrix([[" + chain("+", 40, "s") + ", 1], [0, " + chain("*", 40, "s") + "]])",
    chain("+", 1000) + "\n\n", "x" + " " * 40 + ("+" + " " * 40 + "x") * 30,
]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
@pytest.mark.parametrize("size", [24, 60, 300])
def test_pieces_build_the_tree_ast_parse_builds(text, size):
    assert_same_tree(parse_in_pieces(text, size), ast.parse(text, mode="eval"))


def test_the_texts_are_cut():
    # else the test above would prove nothing: every text is cut at the smallest size
    for text in TEXTS:
        assert cuts(scan(text), 24, 24), text


@pytest.mark.parametrize("text", [
    "(" + chain("+", 40) + " := 1)", "f(" + chain("+", 40) + "=1)",
    "[a for (" + chain("+", 40) + ") in b]", "lambda " + chain("+", 40) + ": 0",
])
def test_targets_are_never_replaced_by_a_placeholder(text):
    # a placeholder is a name, and a name is a valid target where `a+b` is not
    with pytest.raises(SyntaxError):
        ast.parse(text, mode="eval")
    with pytest.raises(NotInPieces):
        parse_in_pieces(text, 24)


# -- random valid texts with long chains, and mutations of them ----------------------

LEVELS = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "//", "%", "@"]]
ATOMS = ["x", "y", "1", "2.5", "é", "None", "'s'", "...", "0x1f", "1j", "β", "True"]


class _Texts:
    """Random Python expressions made mostly of chains, in every context (a small
    grammar: brackets, calls, subscripts, comprehensions, lambdas, comparisons)."""

    def __init__(self, rng: random.Random):
        self.rng, self.budget = rng, 0

    def ws(self, inside: bool) -> str:
        return self.rng.choice(["", " ", "  ", "\n ", " \\\n", " # c\n"] if inside else
                               ["", " ", " \\\n"])

    def expr(self, d: int = 0, inside: bool = False) -> str:
        self.budget += 1
        if d > 4 or self.budget > 200:
            return "w"
        text = self.chain(self.rng.randrange(6), d, inside)
        return self.rng.choice(["{}", "{}", "{}", "not {}", "{} < w", "{} in w is not y",
                                "{} if w else w"]).format(text)

    def chain(self, level: int, d: int, inside: bool) -> str:
        self.budget += 1
        if level == 6:
            return self.factor(d, inside)
        n = self.rng.choice([1, 1, 2, self.rng.randrange(50) if self.budget < 80 else 2])
        ops = LEVELS[level]
        return "".join((self.ws(inside) + self.rng.choice(ops) + self.ws(inside) if i else "")
                       + self.chain(level + 1, d, inside) for i in range(n))

    def factor(self, d: int, inside: bool) -> str:
        text = "".join(self.rng.choice("-+~") for _ in range(self.rng.choice([0, 0, 1, 2])))
        text += self.primary(d, inside)
        if self.rng.random() < 0.1 and d < 5:
            text += "**" + self.factor(d + 1, inside)
        return text

    def primary(self, d: int, inside: bool) -> str:
        rng = self.rng
        text = self.atom(d)
        if text[0].isdigit():
            text += " "
        for _ in range(rng.choice([0, 0, 1, rng.randrange(40) if self.budget < 80 else 1])):
            sub = self.expr(d + 1, True)
            text += rng.choice([".T", "[0]", "[1:2, None]", f"[{sub}]", "()", f"({sub})",
                                ".real"])
        return text

    def atom(self, d: int) -> str:
        rng = self.rng
        if d > 3 or rng.random() < 0.5:
            return rng.choice(ATOMS)
        e = lambda: self.expr(d + 1, True)        # noqa: E731
        return rng.choice([
            lambda: f"({self.ws(True)}{e()}{self.ws(True)})", lambda: f"[{e()}, {e()}]",
            lambda: f"f({e()}, *{e()}, k={e()}, **{e()})", lambda: f"{{{e()}: {e()}}}",
            lambda: f"({e()}, {e()})", lambda: f"[{e()} for x in {e()} if {e()}]",
            lambda: f"(lambda q={e()}: {e()})", lambda: f"({e()} if {e()} else {e()})",
            lambda: f"(q := {e()})", lambda: f"[a for x.y[{e()}] in {e()}]",
        ])()


def _random_text(seed: int, mutations: int) -> str:
    rng = random.Random(seed)
    text = _Texts(rng).expr()
    chars = list(text)
    for _ in range(mutations):
        i = rng.randrange(len(chars) + 1)
        ch = rng.choice("()[]{}+-*/,:.=x1 \n'\\")
        if i < len(chars) and rng.random() < 0.5:
            chars[i] = ch
        else:
            chars.insert(i, ch)
    return "".join(chars)


def _check_random(seed: int, mutations: int, size: int) -> None:
    text = _random_text(seed, mutations)
    if len(text) > 3000:
        return
    try:
        want = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return          # the reader reads in pieces only what Python's parser accepts
    assert_same_tree(parse_in_pieces(text, size), want)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32), st.sampled_from([0, 0, 1, 2]), st.sampled_from([24, 40, 100]))
def test_random_chains_in_pieces_are_the_tree_ast_parse_builds(seed, mutations, size):
    _check_random(seed, mutations, size)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32), st.sampled_from([0, 0, 1, 2]), st.sampled_from([24, 40, 100]))
def test_random_chains_in_pieces_many(seed, mutations, size):
    _check_random(seed, mutations, size)


# -- long texts through the reader ----------------------------------------------------



N = MAX_LENGTH // 4 - 10       # terms of x+x+...: about half the longest text


@pytest.mark.parametrize("text, count", [
    ("2*(" + chain("+", N) + ")", 2 * N + 1),
    ("sum(" + chain("+", N) + ")", 2 * N),
    ("f(" + chain("+", N // 2) + ", " + chain("*", N // 2, "y") + ")", 2 * N - 1),
    ("exp(" + chain("-", N, "x.T") + ")", 3 * N),
    ("x" + "[0]" * (N // 2) + " + " + chain("*", N // 2), N // 2 + N + 1),
    ("-(" * 50 + chain("@", N) + ")" * 50, 2 * N + 49),
    ("(\n" + chain(" +\n", N // 2, "é") + "\n)", N - 1),
    ("x" + ".T" * N, N + 1),
], ids=lambda v: v[:12] if isinstance(v, str) else str(v))
def test_long_chains_inside_brackets_and_calls_are_read(text, count):
    assert parse_with(text, Counter()) == count


@pytest.mark.parametrize("text, fragment, where", [
    (chain("+", N) + "+__import__", "names starting with '_'", "__import__"),
    ("2*(" + chain("+", N) + "+1j)", "complex numbers", "1j"),
    ("(" + chain(" +\n", N // 2, "é") + " + x.y)", "attribute access '.y'", ".y"),
    ("f(" + chain("*", N) + ", q=2)", "keyword argument 'q'", "2)"),
    (chain("+", N) + " $", "invalid syntax", "$"),
    (chain("+", N) + " + 'a'", "strings are not allowed", "'a'"),
], ids=lambda v: v[-12:])
def test_refusals_far_into_a_long_chain_are_where_they_are(text, fragment, where):
    with pytest.raises(ParseError) as info:
        parse_with(text, Recorder())
    assert fragment in info.value.message
    assert info.value.position == text.rindex(where)


class Recorder(Counter):
    functions = {"f", "exp"}


def test_the_graph_readers_read_long_chains_in_brackets():
    node = sd.parse("2*(" + chain("+", 6000) + ")")
    assert float(node.eval(x=1.0)) == 12000.0
    node = sd.parse("exp(" + chain("-", 6000, "x") + ")", matrix=True)
    assert node.op == "exp"
    node = parse_claim("sum(" + chain("+", 6000, "v") + ")", [sd.var("v", (3,))])
    assert float(node.eval(v=[1.0, 2.0, 3.0])) == 6000 * 6.0


def _with_recursion_left(levels: int, work):
    """``work()`` called with only ``levels`` levels of recursion left."""
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1

    def down(n):
        return work() if n <= 0 else down(n - 1)
    return down(sys.getrecursionlimit() - depth - levels)


def test_a_caller_deep_in_recursion_still_reads_long_chains():
    # ast.parse builds about three times the recursion levels left: 300 here, so even
    # a 300-term sum is read in smaller pieces
    for text, count in [(chain("+", 300), 599), (chain("+", 20000), 39999),
                        ("2*(" + chain("+", 20000) + ")", 40001)]:
        assert _with_recursion_left(100, lambda: parse_with(text, Counter())) == count


def test_right_nested_chains_too_deep_for_the_parser_are_refused():
    # unary minus and ** nest to the right: no piece can hold them, Python's parser
    # accepts them and then cannot build them
    for text in ["-" * 3000 + "x", "2" + "**-2" * 1400]:
        with pytest.raises(ParseError, match="nested too deeply"):
            parse_with(text, Counter())
