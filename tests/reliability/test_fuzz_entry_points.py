"""Fuzzing every public entry point with hostile and random input, each call watched.

Every name of ``symdiff.__all__`` that is a function (the exception classes excepted),
the methods and operators of ``Node``, ``symdiff.testing.assert_gradient`` and the four
commands of ``python -m symdiff`` get arguments drawn by hypothesis: plausible ones
(variables of a small pool, random graphs over the table's ops, points, claims, formula
texts) mixed with hostile ones (wrong types, nan/inf, huge and tiny numbers, big
integers, deep nests, long, unicode and control-character text, names NFKC would merge,
odd shapes, odd objects: sympy and torch values, numpy scalars, structured, masked and
object arrays, objects whose ``__float__`` or ``__eq__`` raise, self-containing lists).

Each call runs in a worker process (``fuzz_worker.py``) under the fuzz budget: SymPy's
``limit`` of ``SYMPY_LIMIT`` s for the whole call, plus ``sd.check``'s ``fd_seconds``
(4 s) where it checks and Graphviz's 2 s where it draws (``fuzz_worker.budget_of``).
Per call it asserts that:

* the call returns (its result used as a user would: printed, displayed, called) or
  raises an ``sd.SymdiffError`` subclass with a message (``assert_gradient`` may raise
  its documented AssertionError); a command exits 0, 1 or 2, an error being one line
  ``symdiff: error: ...`` (or argparse's usage), never a traceback nor an internal error;
* it ends within its budget + 2 s (a slower call is run again once, so a loaded machine
  does not count; a worker silent for 20 s more is killed: a hang);
* the worker does not die (a crash), and no budget worker thread runs on after the call.

Arguments that a public builder refuses (a ShapeError building the graph) are counted
and not called; a builder raising anything else is a finding too.

The run is behind the ``slow`` marker (docs/reliability.md has the command and figures)::

    SYMDIFF_FUZZ_REPORT=fuzz.jsonl python -m pytest -m slow -n 2 -p no:benchmark \\
        tests/reliability/test_fuzz_entry_points.py
    python tests/reliability/test_fuzz_entry_points.py fuzz.jsonl   # the figures

``SYMDIFF_FUZZ_EXAMPLES`` sets the calls per entry (default 60). The default run checks
the harness itself: it catches a hang, a crash and a raw exception.
"""
from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fuzz_worker import ODD_KINDS, USER_FUNCTIONS, R, budget_of  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

EXAMPLES = int(os.environ.get("SYMDIFF_FUZZ_EXAMPLES", "60"))
GRACE = 2.0
"""A call may take its budget plus this long."""
KILL_AFTER = 20.0
"""A worker silent this long past a call's budget + GRACE is killed: a hang."""


# ---------------------------------------------------------------------------
# the runner: one worker process, restarted after a hang or a crash
# ---------------------------------------------------------------------------

class Runner:
    def __init__(self, startup: float = 15.0):
        self.startup = startup   # a new worker imports symdiff and warms up on its first call
        self.proc = None
        self.tmpdir = tempfile.mkdtemp(prefix="symdiff-entry-fuzz-")
        self.restarts = 0

    def start(self):
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        self.stderr = tempfile.TemporaryFile()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.dirname(os.path.dirname(HERE)), HERE, os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fuzz_worker.py"), str(req_r), str(ans_w),
             self.tmpdir], pass_fds=(req_r, ans_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.stderr, env=env, start_new_session=True)
        os.close(req_r)
        os.close(ans_w)
        self.requests, self.answers = req_w, ans_r

    def stop(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            os.close(self.requests)
            os.close(self.answers)
            self.proc = None

    def _stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-1500:]

    def run(self, entry: str, recipe, budget: float) -> dict:
        from fuzz_worker import _read, _write
        if self.proc is None:
            self.start()
        start = time.perf_counter()
        try:
            _write(self.requests, (entry, recipe))
        except BrokenPipeError:
            pass
        wait = budget + GRACE + KILL_AFTER + self.startup
        ready, _, _ = select.select([self.answers], [], [], wait)
        if not ready:
            self.stop()
            self.restarts += 1
            return {"outcome": "finding", "where": entry, "seconds": time.perf_counter() - start,
                    "budget": budget, "error": f"a hang: no answer within {wait:.0f} s"}
        answer = _read(self.answers)
        if answer is None:
            self.proc.wait()
            code = self.proc.returncode
            tail = self._stderr_tail()
            self.stop()
            self.restarts += 1
            return {"outcome": "finding", "where": entry, "seconds": time.perf_counter() - start,
                    "budget": budget, "error": f"a crash: the worker died ({code}): {tail}"}
        return answer


# ---------------------------------------------------------------------------
# strategies: plain data and recipes (fuzz_worker.R), built in the worker
# ---------------------------------------------------------------------------

POOL = {"x": (), "y": (), "v": (3,), "W": (2, 3), "S": (3, 3)}
"""The variables most graphs use, so that points and claims often fit them."""

NAN, INF = math.nan, math.inf
SPECIAL_FLOATS = [NAN, INF, -INF, 1e308, -1e308, 5e-324, -5e-324, 1e-320, -0.0, 0.0, 1.0,
                  -1.0, 2.0**53 + 1, 1e16, 1e-16, 3.0, 0.5, 10.5, 700.0, 710.0, -745.0]
SPECIAL_INTS = [0, 1, -1, 2, 3, 2**31, 2**63 - 1, -2**63, 2**64, 10**400, -10**400, 10**5]
NAMES = ["x", "y", "v", "W", "S", "z", "a", "b", "t", "theta", "\u03b8", "\u00e9", "x1", "X"]
HOSTILE_NAMES = ["", " ", "x y", "1x", "_x", "__class__", "lambda", "None", "True", "e\u0301",
                 "\uff58", "\U0001d431", "\u0455in", "x\u00b7y", "x\u207f", "\u03c1i",
                 "HUGE_VALF", "pow", "M_LN2", "FP_NAN", "numpy", "np", "exp", "sin", "sum",
                 "grad_f", "d_x", "t0", "cse0", "x" * 1000, "\u00e9" * 300, "x\x00",
                 "x\n", "\ud800", "\u202ex", "x\u200b", "\u0663", "I", "E", "pi", "oo", "nan",
                 "inf", "Q", "S", "N", "O", "beta", "gamma", "zeta", "lambda_", "print",
                 "self", "f", "int", "float", "double", "main", "return", "restrict"]
FORMULAS = ["x**2 + 3", "sin(x)*x", "exp(x)/(1+exp(x))", "log(x)", "sqrt(x)", "x/y",
            "relu(x - 1)", "where(x > 0, x, -x)", "maximum(x, y)", "sum(v**2)",
            "sum(W @ v)", "sum(W.T @ W)", "logdet(S)", "det(S)", "trace(inv(S))",
            "norm(v)", "logsumexp(v)", "sum(softmax(v) * v)", "abs(x) + sign(x)",
            "tanh(tanh(tanh(x)))", "x**y", "x**0.5", "(x+1)**100", "(x+1)**(10**6)",
            "exp(exp(exp(10.5)))*x", "(3*x)**1e9", "x**1e308", "1/0", "x/0", "0*x",
            "x > 0", "mean(W)", "sum(reshape(W, (3, 2)) @ W)", "step(x)",
            "sum(broadcast_to(x, (3,)))", "sigmoid(x)*tan(x)", "cos(x)**2 + sin(x)**2",
            "-" * 50 + "x", "(" * 300 + "x" + ")" * 300, "+".join(["x"] * 500),
            "*".join(["sin(x)"] * 80), "exp(" * 30 + "x" + ")" * 30,
            "x**2**2**2**2**2", "9**9**9", "1e999*x", "x @ x", "v @ v", "W @ W", "S**-1",
            "sum(v[1:])", "W[0, 1] * v[2]", "v[5]", "sum(S[::-1])", "x.T", "x[0]"]


def texts(max_size=40):
    return st.one_of(
        st.text(max_size=max_size),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=max_size),
        st.text(alphabet="\x00\x01\x07\x1b\x7f\u200b\u202e\ufeff\r\n\t xy()+*-/^.,=[]",
                max_size=max_size),
        st.sampled_from(HOSTILE_NAMES + FORMULAS),
        st.sampled_from(["x" * 10**5, "x" * (10**5 + 1), "\u00e9" * 50_000,
                         "1" * 5000, "(" * 1200, "[" * 100 + "1" + "]" * 100]))


floats = st.one_of(st.floats(), st.sampled_from(SPECIAL_FLOATS))
ints = st.one_of(st.integers(-3, 5), st.sampled_from(SPECIAL_INTS),
                 st.integers(-(2**70), 2**70))
scalars = st.one_of(floats, ints, st.booleans(),
                    st.complex_numbers(allow_nan=True, allow_infinity=True))
SHAPES = [(), (1,), (2,), (3,), (2, 2), (2, 3), (3, 3), (0,), (3, 0), (1, 1, 1)]
shapes = st.one_of(
    st.sampled_from(SHAPES),
    st.lists(st.integers(-2, 4), max_size=4).map(tuple),
    st.sampled_from([(2.5,), (-1,), (10**6, 10**6), (2**63,), (10**400,), (1,) * 40,
                     (1,) * 33, (True,), ("2",), (None,), [2, 2], "2,2", 3, None, (NAN,),
                     (10**9,), (10**7,), (4000, 4000)]),
    st.sampled_from(["np-int64-max", "np-bool", "np-float16"]).map(lambda k: (R("odd", k),)))
arrays = st.builds(lambda d, s, f: R("array", d, s, f),
                   st.sampled_from(["float64", "float32", "float16", "int64", "int8", "uint8",
                                    "bool", "complex128", "object", "U3", "longdouble"]),
                   st.sampled_from(SHAPES + [(10**5,), (1,) * 33]),
                   st.one_of(floats, st.sampled_from([0, 1, -1, 2**62, "x", None])))
odd = st.sampled_from(ODD_KINDS).map(lambda k: R("odd", k))
user_fns = st.sampled_from(USER_FUNCTIONS).map(lambda k: R("fn", k))


def sd_call(function, *args, **kwargs):
    return R("sd", function, list(args), kwargs)


def pool_var():
    return st.sampled_from(sorted(POOL)).map(lambda n: sd_call("var", n, POOL[n]))


leaf_nodes = st.one_of(
    pool_var(), pool_var(), pool_var(),
    st.builds(lambda n, s: sd_call("var", n, s), st.sampled_from(NAMES), st.sampled_from(SHAPES)),
    st.builds(lambda n, s: sd_call("var", n, s), st.one_of(texts(12), st.sampled_from(HOSTILE_NAMES)),
              shapes),
    floats.map(lambda v: sd_call("const", v)),
    st.one_of(arrays, scalars).map(lambda v: sd_call("const", v)),
    st.builds(lambda v, g, n: sd_call("tensor", v, requires_grad=g, name=n),
              st.one_of(floats, st.lists(floats, min_size=1, max_size=3), arrays),
              st.booleans(), st.sampled_from(["a", "b", "x", None])),
    st.sampled_from(FORMULAS).map(lambda t: sd_call("parse", t, POOL)),
)
UNARY = ["exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs", "sign",
         "step", "trace", "det", "logdet", "inv", "norm", "sum", "mean", "logsumexp", "softmax",
         "transpose"]
BINOPS = ["add", "sub", "mul", "truediv", "pow", "matmul", "gt", "lt", "ge", "le", "eq", "ne"]
"""The operators Node defines (``//``, ``%``, ``&``: Python's own TypeError, not symdiff's)."""
BUILD_OPS = BINOPS[:-2]
"""In graphs: ``==`` and ``!=`` compare Nodes by identity (Nodes are dict keys) and give a bool."""
UFUNCS = ["sin", "exp", "log", "sqrt", "abs", "tanh", "negative", "square", "maximum", "add",
          "multiply", "power", "arctan", "floor", "matmul", "isnan", "sign", "greater"]
NUMPY_FUNCTIONS = ["sum", "mean", "dot", "transpose", "linalg.det", "fft.fft", "sort", "cumsum",
                   "linalg.inv", "where", "reshape", "trace", "max"]
"""numpy functions (not ufuncs) reach a Node through ``__array_function__``, which the API
documents and this branch does not have yet (numpy then calls Node's methods with its own
keywords, or converts it with ``__array__``): they are fuzzed once Node has it."""
if hasattr(__import__("symdiff").Node, "__array_function__"):
    UFUNCS += NUMPY_FUNCTIONS
METHODS = [m for m in ("sum", "mean", "reshape", "transpose", "max", "dot")
           if hasattr(__import__("symdiff").Node, m)]
"""Array methods of Node (the API lists .max and .dot too; fuzzed once Node has them)."""
axes = st.one_of(st.sampled_from([None, 0, 1, -1, (0,), (0, 1), 5, -5, (0, 0), 2.0, "0", NAN,
                                  [0], 10**400]))


def extend(children):
    numbers = st.one_of(floats, ints, arrays)
    operand = st.one_of(children, children, numbers, odd)
    return st.one_of(
        st.builds(lambda n, c: sd_call(n, c), st.sampled_from(UNARY), children),
        st.builds(lambda n, c, a: sd_call(n, c, axis=a),
                  st.sampled_from(["sum", "mean", "logsumexp", "softmax"]), children, axes),
        st.builds(lambda op, a, b: R("bin", op, a, b), st.sampled_from(BUILD_OPS), children,
                  operand),
        st.builds(lambda op, a, b: R("bin", op, b, a), st.sampled_from(BUILD_OPS), children,
                  operand),
        st.builds(lambda c, e: R("bin", "pow", c, e), children,
                  st.one_of(floats, st.sampled_from([0.5, 2, -1, 1e9, 1e308, 10**6, 2**70]))),
        st.builds(lambda n, a, b: sd_call(n, a, b), st.sampled_from(["maximum", "minimum", "matmul"]),
                  children, operand),
        st.builds(lambda c, a, b: sd_call("where", R("bin", "gt", c, 0.0), a, b), children,
                  children, operand),
        st.builds(lambda c, s: sd_call("reshape", c, s), children, shapes),
        st.builds(lambda c, s: sd_call("broadcast_to", c, s), children, shapes),
        st.builds(lambda c, h: sd_call("step", c, h0=h), children, floats),
        st.builds(lambda c, o: sd_call("norm", c, ord=o), children,
                  st.sampled_from([None, 1, 2, INF, "fro", "nuc", 0, -1, NAN, "x"])),
        st.builds(lambda c, i: R("index", c, i), children,
                  st.sampled_from([0, 1, -1, 5, slice(None, None, -1), (0, 0), (0, slice(1, None)),
                                   None, ..., [0, 1], 1.5, "x", (0, 0, 0), 10**400, True])),
        children.map(lambda c: R("attr", c, "T")),
        st.builds(lambda n, c, o: R("ufunc", n, [c] if n not in ("maximum", "add", "multiply",
                                                                  "power", "dot", "matmul",
                                                                  "greater")
                                    else [c, o]),
                  st.sampled_from(UFUNCS), children, operand),
        st.builds(lambda m, c, a: R("method", c, m, a, {}),
                  st.sampled_from(METHODS),
                  children, st.lists(st.one_of(ints, children, shapes), max_size=2)),
    )


nodes = st.recursive(leaf_nodes, extend, max_leaves=8)
scalar_nodes = st.one_of(nodes.map(lambda n: sd_call("sum", n)), nodes)
tensor_graphs = st.recursive(
    st.builds(lambda v, n: sd_call("tensor", v, requires_grad=True, name=n),
              st.one_of(floats, st.lists(floats, min_size=1, max_size=3)),
              st.sampled_from(["a", "b", "c"])),
    extend, max_leaves=5)


MODE = st.shared(st.sampled_from(["plausible", "mixed", "mixed"]), key="mode")
"""Drawn once per call: a third of the calls get only plausible arguments (so the work
behind the argument checks is reached), the others a mix."""


def mix(plausible, *, hostile_weight=1, bad=None):
    """Plausible in a plausible call; else mostly plausible, sometimes hostile (``bad``,
    or any hostile value)."""
    bad = hostile if bad is None else st.one_of(bad, hostile)
    mixed = st.one_of(*([plausible] * 3), *([bad] * hostile_weight))
    return MODE.flatmap(lambda mode: plausible if mode == "plausible" else mixed)


hostile = st.deferred(lambda: st.one_of(
    scalars, texts(), shapes, arrays, odd, st.none(), user_fns,
    st.lists(st.one_of(floats, ints, st.none()), max_size=4),
    st.recursive(st.one_of(floats, st.none()), lambda c: st.lists(c, max_size=3), max_leaves=10),
    st.dictionaries(texts(8), st.one_of(floats, texts(8)), max_size=3),
    nodes))

wrt_one = mix(pool_var())
wrt_many = st.one_of(st.lists(pool_var(), min_size=1, max_size=3), wrt_one, hostile,
                     st.lists(st.one_of(pool_var(), hostile), max_size=3))
values_for = {n: st.one_of(floats, st.just(R("array", "float64", s, 0.5)),
                           st.builds(lambda f: R("array", "float64", s, f), floats))
              for n, s in POOL.items()}
point_values = st.one_of(floats, arrays, hostile)
auto_points = st.sampled_from(["normal", "normal", "normal", "zero", "kink", "nan", "huge",
                               "tiny", "int", "negative", "list"]).map(lambda k: R("point", k))
"""A point for the call's own f, made in the worker from f's variables (``fuzz_worker``)."""
points = st.one_of(auto_points, auto_points, auto_points,
    st.fixed_dictionaries({}, optional={n: v for n, v in values_for.items()}),
    st.fixed_dictionaries({}, optional={n: v for n, v in values_for.items()}),
    st.dictionaries(st.one_of(st.sampled_from(sorted(POOL)), texts(8), pool_var(), odd),
                    point_values, max_size=4),
    hostile)
claim_texts = st.one_of(st.sampled_from(FORMULAS + ["2*x", "cos(x)", "3*x**2", "W", "v",
                                                    "2*v", "S.T", "Matrix([[1, 2]])",
                                                    "Lambda(t, t).(v)", "2*x + 1e-15"]),
                        texts())
auto_claims = st.sampled_from(["true", "true", "wrong", "scaled", "plus-where", "tiny-off",
                               "zero", "swapped"]).map(lambda k: R("claims", k))
"""Claims for the call's own f: its true derivatives as symdiff prints them, or wrong ones."""
claims = st.one_of(auto_claims, auto_claims, auto_claims,
    st.dictionaries(st.sampled_from(sorted(POOL)),
                    st.one_of(claim_texts, nodes, user_fns, floats, odd), min_size=1, max_size=3),
    st.dictionaries(st.one_of(pool_var(), texts(6), odd), st.one_of(claim_texts, hostile),
                    max_size=3),
    hostile)
paths = st.builds(lambda n, s: R("path", n, s),
                  st.sampled_from(["g", "a b", "../escape", "x" * 300, "d/", "\u00e9", "g\x00",
                                   "-o", ".hidden"]),
                  st.sampled_from([".svg", ".png", ".pdf", ".dot", ".gv", ".txt", "", ".SVG",
                                   ".html"]))
seconds = mix(st.sampled_from([None, 0.5, 1.0, 2.0]),
              bad=st.sampled_from([0, -1, NAN, INF, 1e308, "2", True]))
max_nodes = mix(st.sampled_from([200, 50]),
                bad=st.sampled_from([1, 0, -1, 10**6, 2.5, None, NAN, "200", True]))


def kw(**fields):
    """Keyword arguments, each present or not."""
    return st.fixed_dictionaries({}, optional=fields)


def entry(args, kwargs=None):
    kwargs = kwargs if kwargs is not None else st.just({})
    return st.tuples(st.tuples(*args).map(list), kwargs)


ENTRIES = {
    # building
    "var": entry([mix(st.sampled_from(NAMES), hostile_weight=2)],
                 kw(shape=mix(st.sampled_from(SHAPES), hostile_weight=2))),
    "tensor": entry([mix(st.one_of(floats, st.lists(floats, max_size=4), arrays))],
                    kw(requires_grad=mix(st.booleans()), name=mix(st.sampled_from(NAMES)))),
    "const": entry([mix(st.one_of(floats, arrays, ints), hostile_weight=2)]),
    "randn after manual_seed": st.tuples(
        st.tuples(mix(ints), st.lists(mix(st.integers(0, 4)), max_size=3)).map(
            lambda t: [t[0], *t[1]]),
        kw(requires_grad=mix(st.booleans()), name=mix(st.sampled_from(NAMES)))),
    "manual_seed": entry([mix(ints)]),
    **{name: entry([mix(nodes, hostile_weight=1)])
       for name in ["exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs",
                    "sign", "trace", "det", "logdet", "inv"]},
    "step": entry([mix(nodes)], kw(h0=hostile)),
    "maximum": entry([mix(nodes), mix(nodes)]),
    "minimum": entry([mix(nodes), mix(nodes)]),
    "matmul": entry([mix(nodes), mix(nodes)]),
    "where": entry([mix(nodes.map(lambda n: R("bin", "gt", n, 0.0))), mix(nodes), mix(nodes)]),
    **{name: entry([mix(nodes)], kw(axis=mix(axes), keepdims=mix(st.booleans())))
       for name in ["sum", "mean", "logsumexp"]},
    "softmax": entry([mix(nodes)], kw(axis=mix(axes))),
    "transpose": entry([mix(nodes)], kw(axes=mix(st.sampled_from([None, (1, 0), (0,), (0, 0)])))),
    "reshape": entry([mix(nodes), mix(shapes)]),
    "broadcast_to": entry([mix(nodes), mix(shapes)]),
    "norm": entry([mix(nodes)], kw(ord=mix(st.sampled_from([None, 1, 2, INF, "fro", "nuc"])))),
    # numbers and derivatives
    "evaluate": entry([mix(nodes), mix(points)]),
    "value_and_grad then call": entry([mix(scalar_nodes), wrt_many, mix(points)]),
    "diff": entry([mix(scalar_nodes), wrt_one]),
    "grad": entry([mix(scalar_nodes), wrt_many]),
    "jacobian": entry([mix(nodes), st.one_of(wrt_one, wrt_many)]),
    "hessian": entry([mix(scalar_nodes), st.one_of(wrt_one, wrt_many)],
                     kw(sparse=mix(st.sampled_from([None, True, False])))),
    "hessian_info": entry([mix(st.builds(lambda f, w: sd_call("hessian", f, w), scalar_nodes,
                                         pool_var()))]),
    "formula": entry([mix(scalar_nodes), st.one_of(st.none(), wrt_one, wrt_many),
                      mix(st.sampled_from(["sympy", "latex", "python", "c"]))],
                     kw(name=mix(st.sampled_from(["f", "loss"])), sympy_seconds=seconds)),
    "parse": entry([mix(st.one_of(st.sampled_from(FORMULAS), texts()))],
                   kw(shapes=mix(st.just(POOL)), matrix=mix(st.booleans()))),
    # checking
    "check": entry([mix(scalar_nodes), mix(points)],
                   kw(wrt=mix(st.none(), bad=wrt_many), eps=mix(st.just(1e-6), bad=floats),
                      atol=mix(st.just(1e-5), bad=floats), rtol=mix(st.just(1e-3), bad=floats),
                      seed=mix(st.integers(0, 99), bad=ints), sympy_seconds=seconds,
                      fd_seconds=mix(st.sampled_from([0.5, 4.0]),
                                     bad=st.sampled_from([0, -1, NAN, INF, "1", None, 1e308])))),
    "verify": entry([st.one_of(mix(scalar_nodes), mix(scalar_nodes), mix(scalar_nodes), user_fns),
                     mix(claims)],
                    kw(at=mix(points), seed=mix(st.integers(0, 99), bad=ints),
                       points=mix(st.integers(1, 50), bad=st.sampled_from([0, -1, 10**9, 2.5])),
                       atol=mix(st.just(1e-9), bad=floats), rtol=mix(st.just(1e-7), bad=floats),
                       sympy_seconds=seconds)),
    "assert_gradient": entry([mix(scalar_nodes), mix(claims)]),
    "from_function": st.tuples(
        st.tuples(mix(user_fns)).map(list),
        st.dictionaries(st.sampled_from(["x", "y", "w", "X", "t", "args"]),
                        st.one_of(st.sampled_from(SHAPES), shapes, arrays, floats, hostile),
                        max_size=3)),
    "supported_numpy": st.just(([], {})),
    # teaching
    "to_dot": entry([mix(nodes)], kw(at=mix(points), max_nodes=max_nodes)),
    "explain": entry([mix(scalar_nodes)], kw(at=mix(points), max_nodes=max_nodes)),
    "render": entry([mix(scalar_nodes), mix(paths)], kw(at=mix(points), seconds=seconds)),
    "show": entry([mix(scalar_nodes)], kw(at=mix(points), max_nodes=max_nodes,
                                          sympy_seconds=seconds)),
    # nodes
    "Node.eval": st.tuples(st.tuples(nodes).map(list), st.one_of(
        st.fixed_dictionaries({}, optional={n: v for n, v in values_for.items()}),
        st.dictionaries(texts(6), point_values, max_size=3))),
    "Node.eval dict": entry([nodes, mix(points)]),
    "Node.sympy": entry([nodes]),
    "Node._repr_latex_": entry([nodes]),
    "Node.repr": entry([nodes]),
    "Node.str": entry([nodes]),
    "Node.nodes": entry([nodes]),
    "Node.backward then grad": entry([tensor_graphs],
                                     kw(gradient=mix(st.one_of(floats, arrays)))),
    "Node.item": entry([st.one_of(tensor_graphs, nodes)]),
    "Node.numpy": entry([st.one_of(tensor_graphs, nodes)]),
    "Node.detach": entry([tensor_graphs]),
    "Node.retain_grad": entry([tensor_graphs]),
    "Node.zero_grad": entry([tensor_graphs]),
    "Node.grad_fn": entry([st.one_of(tensor_graphs, nodes)]),
    "Node.operator": entry([nodes, st.sampled_from(BINOPS + ["contains"]),
                            st.one_of(nodes, hostile)]),
    "Node.ufunc": entry([nodes, st.sampled_from(UFUNCS),
                         st.one_of(nodes, hostile)]).map(
        lambda t: (t[0] if t[0][1] in ("maximum", "add", "multiply", "power", "dot", "matmul",
                                     "greater", "where")
                   else t[0][:2], t[1])),
    "Node.getitem": entry([nodes, hostile]),
    "Node.sum": entry([nodes], kw(axis=mix(axes))),
    "Node.mean": entry([nodes], kw(axis=mix(axes))),
    "Node.reshape": st.tuples(st.tuples(nodes, st.lists(mix(st.integers(-1, 6)),
                                                             max_size=3)).map(
        lambda t: [t[0], *t[1]]), st.just({})),
    "Node.transpose": entry([nodes]),
    "Node.T": entry([nodes]),
    "Node.float": entry([nodes]),
    "Node.bool": entry([nodes]),
    "Node.len": entry([nodes]),
    "Node.iter": entry([nodes]),
    "Node.array": entry([nodes]),
    "Node.hash": entry([nodes]),
}



def _by_signature(name: str):
    """Arguments for a public function from its signature: nodes (or lists of nodes, for a
    sequence parameter) where a value is required, axes, flags, numbers or hostile values
    for its options. The functions numpy's names brought (sd.log1p ... sd.einsum) get
    theirs this way, so a new one is fuzzed as soon as it is public."""
    import inspect

    import symdiff as sd
    params = list(inspect.signature(getattr(sd, name)).parameters.values())
    many = mix(st.lists(nodes, min_size=1, max_size=3))
    required = [many if p.name in ("arrays", "tup", "operands") else mix(nodes)
                for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        required += [mix(nodes), mix(nodes)]
    options = {p.name: mix(st.one_of(axes, st.booleans(), ints, floats, st.none()))
               for p in params if p.default is not p.empty
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return entry(required or [mix(nodes)], kw(**options))


def _unfuzzed() -> list:
    import inspect

    import symdiff as sd
    covered = {name.split()[0] for name in ENTRIES} | {"randn"}
    return sorted(n for n in sd.__all__ if not inspect.isclass(getattr(sd, n))
                  and n not in covered and callable(getattr(sd, n)))


ENTRIES.update({name: _by_signature(name) for name in _unfuzzed()})
# einsum's first argument is its subscripts: plausible ones as well as hostile values
ENTRIES["einsum"] = entry([mix(st.sampled_from(["ij,j->i", "ii->", "i,i->", "ij->ji", "ij,jk",
                                                 "...i,...i->..."])), mix(nodes), mix(nodes)])

# the command line: the four commands with fuzzed formulas, points, shapes and options
cli_formulas = st.one_of(*[st.sampled_from(FORMULAS)] * 3, texts(60))
cli_points = st.one_of(
    st.sampled_from(["x=1", "x=0.5,y=2", "v=[1,2,3]", "W=[[1,2,3],[4,5,6]]",
                     "S=[[2,0,0],[0,2,0],[0,0,2]]", "x=-1", "y=3"]),
    st.sampled_from(["x=1", "x=1,y=2", "x=0", "x=-1", "x=1e308", "x=nan", "x=inf",
                     "v=[1,2,3]", "W=[[1,2,3],[4,5,6]]", "S=[[2,0,0],[0,2,0],[0,0,2]]",
                     "x=", "=1", "x=[]", "x=[[1]", "x=1e999", "x=" + "9" * 400, "x=None",
                     "x=True", "x=1j", "x=0x10", "v=(1,2)", "x=\uff11", "x=1;y=2", "x==1"]),
    st.builds(lambda n, v: f"{n}={v!r}", st.sampled_from(sorted(POOL)), floats),
    texts(30))
CLI_OPTIONS = {
    "at": cli_points.map(lambda p: ["--at", p]),
    "shape": st.sampled_from(["v=3", "W=2,3", "S=3,3", "x=2", "W=0", "W=-1", "W=10**9",
                              "W=1," * 40, "v=1e3", "v=", "W=2.5"]).map(lambda s: ["--shape", s]),
    "wrt": st.one_of(st.sampled_from(["x", "y", "x,y", "v", "q", ""]), texts(10)).map(
        lambda w: ["--wrt", w]),
    "latex": st.just(["--latex"]),
    "code": st.sampled_from(["python", "c", "c++", "", "sympy"]).map(lambda c: ["--code", c]),
    "sympy-seconds": st.sampled_from(["0", "0.5", "1", "-1", "nan", "inf", "1e308", "x",
                                      ""]).map(lambda s: ["--sympy-seconds", s]),
    "claim": st.builds(lambda n, c: ["--claim", f"{n}={c}"],
                       st.sampled_from(sorted(POOL) + ["q", ""]), st.one_of(claim_texts, texts(30))),
    "o": st.sampled_from(["g.dot", "g.svg", "g.png", "g.pdf", "g.txt", "g", "d/g.svg", "",
                          "x" * 300 + ".dot"]).map(lambda o: ["-o", o]),
    "stray": texts(8).map(lambda t: [t]),
}
CLI_VALID = {"diff": ["at", "shape", "wrt", "latex", "code", "sympy-seconds"],
             "verify": ["at", "shape", "claim", "sympy-seconds"],
             "graph": ["at", "shape", "sympy-seconds", "o"],
             "explain": ["at", "shape", "sympy-seconds"]}


def cli_options(command):
    """Mostly the command's own options; sometimes another's, or a stray argument."""
    own = st.sampled_from(CLI_VALID[command]).flatmap(lambda k: CLI_OPTIONS[k])
    other = st.sampled_from(sorted(CLI_OPTIONS)).flatmap(lambda k: CLI_OPTIONS[k])
    return st.lists(st.one_of(own, own, own, own, other), max_size=4)


def _argv(command, formula, options, tmpdir_marker="@TMP@"):
    argv = [command]
    for option in options:
        if option[:1] == ["-o"]:
            option = ["-o", f"{tmpdir_marker}/{option[1]}"]
        argv.extend(option)
    argv.extend(["--", formula] if formula.startswith("-") else [formula])
    return argv


VERIFY_CASES = [("x**2 + 3", "x=2*x"), ("x**2 + 3", "x=2*x + 1"), ("sin(x)*x", "x=x*cos(x) + sin(x)"),
                ("exp(x)/(1+exp(x))", "x=exp(x)/(1 + exp(x))**2"), ("relu(x - 1)", "x=Heaviside(x - 1)"),
                ("x**2", "x=2*x + where(x > 1e7, 1, 0)"), ("x**2", "x=2*x + 1e-15"), ("log(x)", "x=1/x"),
                ("sqrt(x)", "x=1/(2*sqrt(x))"), ("x*y", "x=y"), ("sum(v**2)", "v=2*v"),
                ("tanh(tanh(tanh(x)))", "x=1"), ("(x+1)**(10**6)", "x=0"), ("exp(exp(exp(10.5)))*x", "x=1")]
GOOD_POINTS = ["x=1", "x=0.5,y=2", "x=-1,y=3", "v=[1,2,3]", "x=0", "x=1e7"]
CLI_PLAUSIBLE = {
    "diff": st.lists(st.one_of(st.sampled_from(GOOD_POINTS).map(lambda p: ["--at", p]),
                               st.just(["--latex"]), st.sampled_from([["--code", "python"],
                                                                      ["--code", "c"]]),
                               st.sampled_from([["--wrt", "x"], ["--wrt", "x,y"]])), max_size=2),
    "graph": st.lists(st.one_of(st.sampled_from(GOOD_POINTS).map(lambda p: ["--at", p]),
                                st.sampled_from(["g.dot", "g.svg"]).map(lambda o: ["-o", o])),
                      max_size=2),
    "explain": st.lists(st.sampled_from(GOOD_POINTS).map(lambda p: ["--at", p]), max_size=1),
}


def _cli_entry(command):
    mixed = st.builds(lambda f, o: ([_argv(command, f, o)], {}), cli_formulas,
                      cli_options(command))
    if command == "verify":
        plausible = st.builds(lambda case, at: ([_argv("verify", case[0], [["--claim", case[1]],
                                                                            *at])], {}),
                              st.sampled_from(VERIFY_CASES),
                              st.lists(st.sampled_from(GOOD_POINTS).map(lambda p: ["--at", p]),
                                       max_size=1))
    else:
        plausible = st.builds(lambda f, o: ([_argv(command, f, o)], {}),
                              st.sampled_from(FORMULAS), CLI_PLAUSIBLE[command])
    return MODE.flatmap(lambda mode: plausible if mode == "plausible" else mixed)


for _command in ("diff", "verify", "graph", "explain"):
    ENTRIES[f"cli {_command}"] = _cli_entry(_command)


# ---------------------------------------------------------------------------
# the campaign
# ---------------------------------------------------------------------------

RUNNER = None
STATS: dict = {}
"""entry -> Counter of outcomes, worst seconds, worst seconds over budget."""
FINDINGS: list = []


def runner() -> Runner:
    global RUNNER
    if RUNNER is None:
        RUNNER = Runner()
    return RUNNER


def _fix_paths(recipe, tmpdir):
    args, kwargs = recipe
    if args and isinstance(args[0], list) and args[0] and isinstance(args[0][0], str):
        args = [[a.replace("@TMP@", tmpdir) if isinstance(a, str) else a for a in args[0]]]
    return args, kwargs


def fuzz(name: str, examples: int) -> dict:
    stats = STATS.setdefault(name, {"outcomes": Counter(), "worst": 0.0, "over": -1e9,
                                    "reruns": 0, "calls": 0})
    found: dict = {}
    run = runner()

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(ENTRIES[name])
    def prop(recipe):
        recipe = _fix_paths(recipe, run.tmpdir) if name.startswith("cli ") else recipe
        budget = budget_of(name)
        answer = run.run(name, recipe, budget)
        if answer["outcome"] != "finding" and answer["seconds"] > budget + GRACE:
            stats["reruns"] += 1      # once more: a loaded machine is not a finding
            again = run.run(name, recipe, budget)
            if again["outcome"] != "finding" and again["seconds"] > budget + GRACE:
                again = dict(again, outcome="finding", where=name,
                             error=f"over budget: {answer['seconds']:.1f} s and "
                                   f"{again['seconds']:.1f} s (budget {budget:g} s + {GRACE:g})")
            answer = min(answer, again, key=lambda a: a.get("seconds", 0.0)) \
                if again["outcome"] != "finding" else again
        stats["calls"] += 1
        stats["outcomes"][answer["outcome"]] += 1
        stats["worst"] = max(stats["worst"], answer.get("seconds", 0.0))
        stats["over"] = max(stats["over"], answer.get("seconds", 0.0) - budget)
        if answer["outcome"] == "finding":
            key = (answer["where"], answer["error"][:80])
            found.setdefault(key, (repr(recipe)[:600], answer))

    prop()
    for (where, _), (recipe, answer) in found.items():
        FINDINGS.append({"entry": name, "where": where, "error": answer["error"],
                         "recipe": recipe, "trace": answer.get("trace", "")})
    _save(name, stats, found)
    return found


def _save(name, stats, found):
    path = os.environ.get("SYMDIFF_FUZZ_REPORT")
    if not path:
        return
    with open(path, "a") as out:
        out.write(json.dumps({"entry": name, "calls": stats["calls"],
                              "outcomes": dict(stats["outcomes"]), "worst": stats["worst"],
                              "over": stats["over"], "reruns": stats["reruns"],
                              "budget": budget_of(name),
                              "findings": [{"where": w, "error": a["error"][:400], "recipe": r,
                                            "trace": a.get("trace", "")[-1500:]}
                                           for (w, _), (r, a) in found.items()]}) + "\n")


@pytest.fixture(scope="module", autouse=True)
def _stop_the_worker():
    yield
    if RUNNER is not None:
        RUNNER.stop()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ENTRIES))
def test_fuzz_entry_point(name):
    found = fuzz(name, EXAMPLES)
    assert not found, "\n\n".join(
        f"{where}: {answer['error']}\n  input: {recipe}\n{answer.get('trace', '')}"
        for (where, _), (recipe, answer) in found.items())


STARTUP = 8.0
"""Seconds a fresh ``python -m symdiff`` may take to import and start on a loaded machine."""


@pytest.mark.slow
def test_fuzz_the_real_command_line(tmp_path):
    """A few dozen commands as real processes (``python -m symdiff``), so that what the
    in-process runs cannot see (the interpreter's exit, output encoding, a traceback
    printed by Python itself) is seen: status 0, 1 or 2, one line, within budget."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(HERE)),
               PYTHONIOENCODING="ascii")   # a terminal that cannot print the symbols
    problems, worst = [], 0.0

    @settings(max_examples=max(EXAMPLES // 5, 10), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(CLI_VALID)).flatmap(
        lambda c: ENTRIES[f"cli {c}"]))
    def prop(recipe):
        nonlocal worst
        (argv,), _ = _fix_paths(recipe, str(tmp_path))
        assume(not any("\x00" in a for a in argv))   # no process can be given a null byte
        argv = [argv[0], "--sympy-seconds", "2", *argv[1:]]   # a later value wins
        budget = budget_of(f"cli {argv[0]}") + STARTUP
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-m", "symdiff", *argv], env=env,
                                  capture_output=True, text=True, errors="replace",
                                  timeout=budget + GRACE + KILL_AFTER)
        except subprocess.TimeoutExpired:
            problems.append(f"a hang: {argv!r}")
            return
        seconds = time.perf_counter() - start
        worst = max(worst, seconds)
        from fuzz_worker import cli_problem
        problem = cli_problem(done.returncode, done.stdout, done.stderr)
        if problem or seconds > budget + GRACE:
            problems.append(f"{problem or f'{seconds:.1f} s'}: {argv!r}: {done.stderr[:500]!r}")

    prop()
    print(f"\nreal command line: worst {worst:.1f} s")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# the default run: the harness catches what it is for
# ---------------------------------------------------------------------------

def test_the_harness_catches_a_hang_a_crash_and_a_raw_exception(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "KILL_AFTER", 0.5)
    monkeypatch.setattr(sys.modules[__name__], "GRACE", 0.2)
    run = Runner(startup=0.5)
    try:
        hang = run.run("_hang", None, 0.2)
        assert hang["outcome"] == "finding" and "a hang" in hang["error"]
        run.startup = 10.0   # a fresh interpreter on a loaded machine: not a hang
        crash = run.run("_crash", None, 0.5)
        assert crash["outcome"] == "finding" and "a crash" in crash["error"]
        raw = run.run("_raw", None, 0.5)
        assert raw["outcome"] == "finding" and raw["error"].startswith("KeyError")
    finally:
        run.stop()


def test_every_public_function_is_fuzzed():
    import inspect

    import symdiff as sd
    functions = {n for n in sd.__all__ if not inspect.isclass(getattr(sd, n))}
    covered = {name.split()[0] for name in ENTRIES} | {"randn"}
    assert functions <= covered, functions - covered


def test_a_strategy_draws_examples():
    @settings(max_examples=5, database=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(ENTRIES)).flatmap(lambda n: st.tuples(st.just(n), ENTRIES[n])))
    def prop(pair):
        name, (args, kwargs) = pair
        assert isinstance(args, list) and isinstance(kwargs, dict), name
    prop()


# ---------------------------------------------------------------------------
# the figures: python tests/reliability/test_fuzz_entry_points.py fuzz.jsonl
# ---------------------------------------------------------------------------

def summary(path: str) -> str:
    rows = [json.loads(line) for line in open(path)]
    lines = [f"{'entry':28s} {'calls':>6s} {'worst s':>8s} {'over budget':>11s}  outcomes"]
    total = 0
    for r in sorted(rows, key=lambda r: r["entry"]):
        total += r["calls"]
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items(),
                                                           key=lambda kv: -kv[1]))
        lines.append(f"{r['entry']:28s} {r['calls']:6d} {r['worst']:8.2f} {r['over']:+11.2f}  "
                     f"{outcomes}")
    worst = max(rows, key=lambda r: r["over"])
    lines.append(f"{len(rows)} entry points, {total} calls; most over budget: "
                 f"{worst['over']:+.2f} s ({worst['entry']}, budget {worst['budget']:g} s)")
    for r in rows:
        for f in r["findings"]:
            lines.append(f"FINDING {r['entry']}: {f['where']}: {f['error'][:300]}\n"
                         f"   input: {f['recipe'][:600]}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(sys.argv[1]))
