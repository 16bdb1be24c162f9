"""Regressions of what the entry-point fuzzer found (tests/reliability/test_fuzz_entry_points.py).

Each raised an exception from outside the ``sd.SymdiffError`` hierarchy; each now raises a
SymdiffError that names the value (keeping the Python type a caller may test for, where
there is one: ``len()`` of a scalar is still a TypeError, as numpy's is).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import symdiff as sd
from symdiff.graph.values import shown

x, v = sd.var("x"), sd.var("v", (3,))
DEEP = functools.reduce(lambda inner, _: (inner,), range(3000), 1.0)


class _FloatRaises:
    def __float__(self):
        raise RuntimeError("no float here")


class _ArrayRaises:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")


@pytest.mark.parametrize("call, error, fragment", [
    # repr of a value past Python's 4,300 digits: ValueError while writing the message
    (lambda: x - 10**5000, sd.ArgumentError, "integer of about 5000 digits"),
    (lambda: sd.const(-10**5000), sd.ArgumentError, "integer of about 5000 digits"),
    # repr of a tuple nested 3,000 deep: RecursionError while writing the message
    (lambda: sd.var(DEEP), sd.ArgumentError, "tuple that cannot be printed"),
    (lambda: sd.check(DEEP, {"x": 1.0}), sd.ArgumentError, "tuple that cannot be printed"),
    # a foreign array whose __array__ raises (torch's tensor that requires grad)
    (lambda: sd.sum(_ArrayRaises()), sd.ArgumentError, "RuntimeError"),
    (lambda: x * np.array([_FloatRaises()], dtype=object), sd.ArgumentError, "not a number"),
    # 33 dimensions: numpy's where raised RuntimeError
    (lambda: sd.where(x > 0, sd.const(np.zeros((1,) * 33)), 1.0), sd.ArgumentError,
     "33 dimensions"),
    (lambda: sd.tensor(np.zeros((1,) * 33)), sd.ArgumentError, "at most 32"),
    # ufuncs symdiff lacks: numpy's TypeError "all returned NotImplemented"
    (lambda: np.floor(v), sd.UnsupportedError, "numpy.floor"),
    (lambda: np.floor(x), sd.UnsupportedError, "numpy.floor"),
    (lambda: np.isnan(v), sd.UnsupportedError, "numpy.isnan"),
    (lambda: np.add.reduceat(v, [0]), sd.UnsupportedError, "numpy.add.reduceat"),
    # len() and iteration of a 0-d node: a bare TypeError
    (lambda: len(x), sd.ArgumentError, "0-d node has no length"),
    (lambda: list(x), sd.ArgumentError, "0-d node"),
])
def test_a_symdiff_error_naming_the_value(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


def test_len_of_a_scalar_is_still_a_type_error():
    with pytest.raises(TypeError):
        len(x)
    assert len(v) == 3 and len(list(v)) == 3


def test_supported_ufuncs_and_other_libraries_arrays_still_work():
    assert np.sin(v).op == "sin" and np.add(v, np.ones(3)).op == "add"

    class Other:   # another library's array: numpy must get NotImplemented, not our error
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            return "other"
    assert np.floor_divide(v, Other()) == "other"


def test_shown_never_raises():
    class ReprRaises:
        def __repr__(self):
            raise KeyError("repr")
    assert shown(ReprRaises()) == "<a ReprRaises that cannot be printed>"
    assert shown(DEEP).startswith("<a tuple")
    assert shown(10**400).endswith("...(401 characters)")


@pytest.mark.parametrize("call, error, fragment", [
    # transpose of a vector with axes (-327,): -327 % 1 == 0 passed the check (IndexError)
    (lambda: sd.tensor([1.0]).transpose(-327), sd.ShapeError, r"axes \(-327,\)"),
    (lambda: sd.transpose(v, (5,)), sd.ShapeError, "not a permutation"),
    # an axis past 4,300 digits: ValueError while writing the message
    (lambda: sd.logsumexp(v, axis=10**5000), sd.ShapeError, "integer of about 5000 digits"),
    (lambda: sd.sum(v, axis=-10**30), sd.ShapeError, "minus an integer of about 30 digits"),
    # max_nodes of another type: TypeError comparing it
    (lambda: sd.to_dot(x + 1, max_nodes=object()), sd.ArgumentError, "max_nodes must be an int"),
    (lambda: sd.explain(x + 1, max_nodes=2.5), sd.ArgumentError, "max_nodes must be an int"),
    (lambda: sd.show(x + 1, max_nodes="5"), sd.ArgumentError, "max_nodes must be an int"),
    (lambda: sd.to_dot(x + 1, max_nodes=0), sd.ArgumentError, "at least 1"),
    # sd.formula's lang an array: `lang in LANGUAGES` compared elementwise (ValueError)
    (lambda: sd.formula(x**2, x, np.zeros((3, 0))), sd.SymdiffError, "unknown language"),
])
def test_more_symdiff_errors(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


@pytest.mark.parametrize("name", ["x" * 300 + ".dot", "missing-folder/g.dot", "g\x00.dot"])
def test_render_says_it_cannot_write(tmp_path, name):
    # an OSError (file name too long, no such folder) or ValueError (null byte) before
    with pytest.raises(sd.RenderError, match="cannot write"):
        sd.render(x + 1, str(tmp_path / name))


@pytest.mark.parametrize("node", [x, v, sd.tensor([1.0, 2.0])], ids=["scalar", "vector", "tensor"])
def test_in_on_a_node_says_to_evaluate_first(node):
    # a 0-d node: Python's bare TypeError; a vector: identity comparisons, silently False
    with pytest.raises(sd.UnsupportedError, match="evaluate it first"):
        1.0 in node


def test_a_huge_constant_is_refused_before_numpy_works_on_it():
    # sum(broadcast_to(const, (10**6, 10**6))) summed 10**12 entries in one numpy call that
    # no budget stops (sd.grad of it hung); folding constants stops at MAX_FOLD elements
    from symdiff.graph.node import MAX_FOLD
    with pytest.raises(sd.ShapeError, match="folds eagerly"):
        sd.broadcast_to(sd.const(4.0), (10**6, 10**6))
    assert MAX_FOLD >= 10**9
    assert sd.sum(sd.broadcast_to(sd.const(4.0), (100, 100))).item() == 40000.0
    assert sd.broadcast_to(x, (10**6, 10**6)).shape == (10**6, 10**6)   # symbolic: fine


@pytest.mark.parametrize("call", [lambda: sd.hessian(sd.sin(x), np.array(1)),
                                  lambda: sd.grad(sd.sin(x), np.float64(2.0)),
                                  lambda: sd.jacobian(sd.sin(x), np.array(1))])
def test_a_0d_array_as_wrt_is_an_argument_error(call):
    # a 0-d array is Iterable, but list() of it raised "iteration over a 0-d array"
    with pytest.raises(sd.ArgumentError, match="must be"):
        call()


def test_usage_errors_escape_control_characters(capsys):
    # argparse quoted a refused argument as it was: its newline split the error over
    # lines, its escape sequence reached the terminal
    from cli_util import run
    code, out, err = run(capsys, "diff", "x", "--bad\x1b[31mred\nline")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("usage:") and len(lines) == 2, err
    assert "\x1b" not in err and "--bad\\x1b[31mred\\nline" in lines[1]


def test_a_variable_named_f_or_values_can_be_given_by_keyword():
    # f.eval(f=1.0) raised "evaluate() got multiple values for argument 'f'"
    f, values = sd.var("f"), sd.var("values")
    g = f * 2 + values
    assert g.eval(f=1.0, values=3.0) == 5.0
    assert sd.evaluate(g, f=1.0, values=3.0) == 5.0


@pytest.mark.parametrize("exponent", [10**400, -10**400, np.float64(1e308)])
def test_an_integer_exponent_past_float64(exponent):
    # sd.const(1e308) ** 10**400 raised OverflowError inside numpy's power
    if isinstance(exponent, int):
        with pytest.raises(sd.ArgumentError, match="exponent .* too large"):
            sd.const(2.0) ** exponent
    else:
        assert (x ** exponent).op == "pow"


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0, 0.0, "2"])
def test_render_seconds_must_be_a_positive_number(tmp_path, seconds):
    # nan and inf reached subprocess's timeout arithmetic (ValueError, OverflowError)
    with pytest.raises(sd.ArgumentError, match="seconds"):
        sd.render(x + 1, str(tmp_path / "g.svg"), seconds=seconds)


class _LenLies:
    def __len__(self):
        return 10**9

    def __iter__(self):
        return iter([1.0])


@pytest.mark.parametrize("wrt", [_LenLies(), range(10**12)], ids=["len lies", "huge range"])
def test_wrt_is_read_one_by_one(wrt):
    # list(wrt) preallocated from __len__: MemoryError
    with pytest.raises(sd.ArgumentError, match=r"wrt\[0\] must be a variable node"):
        sd.grad(sd.sin(x), wrt)
