"""``numeric.masking``: zero cotangents stay zero below a ``where``, on every path a
program runs (the interpreter, the generated array code, the generated scalar code),
and only below a ``where`` (the hot path of programs without one is the table's VJPs).
"""
from __future__ import annotations

import numpy as np
import pytest

from numeric import PRIMITIVES, Program
from numeric.masking import keep_zeros, masked_slots

from row_cases import ROW_CASES
from strategies import draw_inputs


def _values_with_nan(row, xs):
    """The row's inputs with their first entry made nan (an untaken branch's value)."""
    out = []
    for x in xs:
        x = np.array(x, dtype=float) if np.asarray(x).dtype != np.bool_ else np.asarray(x)
        if x.dtype != np.bool_ and x.size:
            x.reshape(-1)[0] = np.nan
        out.append(x)
    return out


@pytest.mark.parametrize("row,shapes,params", ROW_CASES)
def test_keep_zeros_is_the_vjp_where_the_cotangent_is_not_zero(row, shapes, params):
    """Where no cotangent entry is 0 the wrapper is the row's own VJP, exactly; a zero
    cotangent gives a zero contribution however undefined the values are."""
    rng = np.random.default_rng(3)
    xs = draw_inputs(row, shapes, params, rng)
    out = row.forward(*xs, **params)
    if row.dtype == "bool":
        return
    g = rng.uniform(0.5, 1.5, np.shape(out))
    for j, rule in enumerate(row.vjp):
        kept = keep_zeros(row, j)
        if rule is None:
            assert kept is None
            continue
        np.testing.assert_array_equal(np.asarray(kept(g, out, *xs, **params)),
                                      np.asarray(rule(g, out, *xs, **params)))
        bad = _values_with_nan(row, xs)
        with np.errstate(all="ignore"):
            bad_out = row.forward(*bad, **params)
            zero = np.asarray(kept(np.zeros(np.shape(out)), bad_out, *bad, **params))
        assert not np.any(np.isnan(zero)) and not np.any(zero), (row.name, zero)


def test_wrappers_by_kind():
    sqrt, lse, mm, inv = (PRIMITIVES[n] for n in ("sqrt", "logsumexp", "matmul", "inv"))
    x = np.array([-1.0, 4.0])
    with np.errstate(all="ignore"):
        got = keep_zeros(sqrt, 0)(np.array([0.0, 1.0]), np.sqrt(x), x)
    assert got.tolist() == [0.0, 0.25]
    # a reduction: g == 0 along the reduced axis zeroes that row of the input
    X = np.array([[np.inf, 0.0], [1.0, 2.0]])
    with np.errstate(all="ignore"):
        out = lse.forward(X, axis=1)
        got = keep_zeros(lse, 0)(np.array([0.0, 1.0]), out, X, axis=1)
    assert got[0].tolist() == [0.0, 0.0] and np.isfinite(got[1]).all()
    # matmul: a nan in a row that meets only zero cotangent entries is not multiplied
    A, B = np.array([[np.nan, 1.0], [2.0, 3.0]]), np.ones((2, 2))
    g = np.array([[0.0, 0.0], [1.0, 1.0]])
    with np.errstate(all="ignore"):
        assert keep_zeros(mm, 1)(g, None, A, B).tolist() == [[2.0, 2.0], [3.0, 3.0]]
        # ... but one that meets a nonzero entry is
        assert np.isnan(keep_zeros(mm, 1)(np.ones((2, 2)), None, A, B)).any()
    # a whole-array row: only an all-zero cotangent is kept zero
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    with np.errstate(all="ignore"):
        assert not keep_zeros(inv, 0)(np.zeros((2, 2)), np.full((2, 2), np.nan), S).any()
        assert np.isnan(keep_zeros(inv, 0)(np.eye(2), np.full((2, 2), np.nan), S)).all()
    # rows that cannot turn a 0 into nan keep their own VJP, without a wrapper
    for name in ("add", "sum", "reshape", "where", "index", "broadcast_to"):
        row = PRIMITIVES[name]
        assert all(keep_zeros(row, j) is row.vjp[j] for j in range(row.arity))
    assert keep_zeros(sqrt, 0) is keep_zeros(sqrt, 0) and keep_zeros(sqrt, 0).keeps_zeros


def test_masked_slots_are_the_slots_a_where_branch_is_computed_from():
    # slots: 0 x, 1 y, 2 c0 = 0.0; 3 = x > 0, 4 = sqrt(x), 5 = log(y), 6 = 4 * 5,
    # 7 = where(3, 6, 2), 8 = exp(y), 9 = 7 + 8
    rows = [(PRIMITIVES[n], ins, {}) for n, ins in [
        ("greater", (0, 2)), ("sqrt", (0,)), ("log", (1,)), ("mul", (4, 5)),
        ("where", (3, 6, 2)), ("exp", (1,)), ("add", (7, 8))]]
    masked = masked_slots(2, rows, 3, 10)
    assert [s for s, m in enumerate(masked) if m] == [0, 1, 2, 4, 5, 6]


PROGRAM = [("greater", (0, 1), {}), ("sqrt", (0,), {}), ("log", (0,), {}),
           ("mul", (3, 4), {}), ("where", (2, 5, 1), {}), ("exp", (0,), {}),
           ("mul", (6, 7), {}), ("sum", (8,), {})]
"""sum(where(x > 0, sqrt(x) * log(x), 0) * exp(x)) over slots 0 x, 1 the constant 0."""


@pytest.mark.parametrize("shape", [(), (3,)])
def test_every_path_keeps_the_zeros(shape):
    x = np.array(-1.0) if shape == () else np.array([-1.0, 0.0, 2.0])
    results = []
    for optimize in (True, False):
        prog = Program([shape], [np.float64(0.0)], PROGRAM, output=9, wrt=[0],
                       optimize=optimize)
        value, (g,) = prog(x)
        results.append(np.asarray(g))
        if optimize and shape == ():
            assert "== 0.0 else" in prog.source("scalar")
            fast = prog.compiled("scalar")
            assert fast is not None
            try:
                fast(float(x))
            except (ArithmeticError, ValueError):
                pass    # math.sqrt(-1) raises: the numpy version runs instead
    assert np.isfinite(results[0]).all()
    np.testing.assert_array_equal(results[0], results[1])
    if shape:
        np.testing.assert_array_equal(results[0][:2], [0.0, 0.0])
        h = 1e-6
        fd = (np.exp(2 + h) * np.sqrt(2 + h) * np.log(2 + h)
              - np.exp(2 - h) * np.sqrt(2 - h) * np.log(2 - h)) / (2 * h)
        assert abs(results[0][2] - fd) < 1e-5


def test_generated_code_gives_masked_steps_no_buffer():
    prog = Program([(3,)], [np.float64(0.0)], PROGRAM, output=9, wrt=[0])
    source = prog.source("call")
    masked = {name for name, obj in prog.compiled("call").__globals__.items()
              if getattr(getattr(obj, "func", obj), "keeps_zeros", False)}
    assert masked   # sqrt, log and mul below the where
    for line in source.splitlines():
        if any(f"{m}(" in line for m in masked):
            assert "into=" not in line, line


def test_programs_without_where_run_the_tables_vjps():
    prog = Program([(3,)], [], [("sqrt", (0,), {}), ("log", (1,), {}), ("sum", (2,), {})],
                   output=3, wrt=[0])
    for _, row, _, _, steps in prog._backward:
        assert all(rule is row.vjp[j] for j, _, rule, _ in steps)
    assert "== 0.0 else" not in prog.source("call")
