"""Reliability: numerical edge cases, inputs of every type, concurrent calls, no data lost.

(Parsing hostile text: tests/text/test_fuzz_parse.py; outside oracles: tests/table/test_properties.py
and tests/table/test_torch_oracle.py; huge and deep graphs: tests/reliability/test_deep_graphs.py.)
"""
from __future__ import annotations

import hashlib
import math
import threading

import numpy as np
import pytest

import symdiff as sd

# ---------------------------------------------------------------------------
# domain violations are reported by name and position, never as agreement
# ---------------------------------------------------------------------------

DOMAIN_CASES = [
    (lambda x: sd.log(x), -1.0, "log outside its domain"),
    (lambda x: sd.sqrt(x), -4.0, "sqrt outside its domain"),
    (lambda x: 1.0 / (x - 2.0), 2.0, "div outside its domain"),
    (lambda x: x ** -1.0, 0.0, "pow outside its domain"),
    # diag(x, 1): a negative determinant at x = -1
    (lambda x: sd.logdet(sd.reshape(x * sd.const(np.array([1.0, 0, 0, 0]))
                                    + sd.const(np.array([0, 0, 0, 1.0])), (2, 2))), -1.0,
     "logdet outside its domain"),
]


@pytest.mark.parametrize("build,at,named", DOMAIN_CASES)
def test_check_names_the_op_outside_its_domain(build, at, named):
    x = sd.var("x")
    r = sd.check(build(x), at={"x": at})
    assert not r.ok
    assert any(named in p for p in r.problems), r.problems


def test_check_names_the_entries_outside_the_domain():
    v = sd.var("v", (4,))
    r = sd.check(sd.sum(sd.log(v)), at={"v": np.array([1.0, -2.0, 3.0, -0.5])})
    assert not r.ok
    assert any("entries [1], [3]" in p for p in r.problems), r.problems
    # the step table shows nan where finite differences are nan, not a reassuring 0
    assert np.all(np.isnan(r.step_errors["v"]))


def test_verify_reports_outside_the_domain_not_a_verdict():
    x = sd.var("x")
    r = sd.verify(sd.log(x), {x: "1/x"}, at={"x": -1.0})
    assert not r.ok and r.status == "outside the domain"
    assert "log is outside its domain" in str(r)


# ---------------------------------------------------------------------------
# inputs: promoted, or refused with a message
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.float32(1.5), np.float16(1.5), 1.5, np.array(1.5),
                                   np.array([1.5], dtype=np.float32)[0]])
def test_float_inputs_of_any_width_are_computed_in_float64(value):
    x = sd.var("x")
    v, g = sd.value_and_grad(sd.sin(x) * x, x)(x=value)
    exact = float(np.float64(value))  # float16/32 -> float64 is exact
    assert v == math.sin(exact) * exact and g == pytest.approx(math.cos(exact) * exact
                                                               + math.sin(exact), rel=1e-15)


def test_float32_arrays_give_float64_results():
    x = sd.var("x", (3,))
    a = np.array([0.1, 0.2, 0.3], dtype=np.float32)
    v, g = sd.value_and_grad(sd.sum(x * x), x)(x=a)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, 2 * a.astype(np.float64))
    assert sd.check(sd.sum(x * x), at={"x": a}).ok


@pytest.mark.parametrize("value,want", [(True, 1.0), (False, 0.0), (3, 3.0), (np.int8(-2), -2.0),
                                        (np.uint64(7), 7.0)])
def test_bool_and_integer_inputs_are_promoted(value, want):
    x = sd.var("x")
    assert (x * 2.0).eval(x=value) == 2.0 * want
    assert sd.value_and_grad(x * x, x)(x=value) == (want * want, 2.0 * want)


@pytest.mark.parametrize("value", [None, "1.5", "x", 1 + 2j, np.complex64(1), object(),
                                   np.array(["a"]), {"a": 1}])
def test_values_that_are_not_real_numbers_are_refused(value):
    x = sd.var("x")
    with pytest.raises(sd.SymdiffError, match="not a number or an array of real numbers"):
        sd.value_and_grad(x * x, x)(x=value)
    with pytest.raises(sd.SymdiffError, match="not a number"):
        (x * x).eval(x=value)


# ---------------------------------------------------------------------------
# concurrency: 8 threads, 10,000 calls each, equal to serial calls
# ---------------------------------------------------------------------------

def _run_threads(vg, inputs, serial, calls):
    errors: list = []

    def work(t: int) -> None:
        try:
            for k in range(calls):
                i = (k * 7 + t * 13) % len(inputs)
                v, g = vg(inputs[i])
                if v != serial[i][0] or any(not np.array_equal(a, b)
                                            for a, b in zip(g, serial[i][1])):
                    errors.append((t, k, i))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_eight_threads_ten_thousand_scalar_calls_each():
    x, y = sd.var("x"), sd.var("y")
    vg = sd.value_and_grad(sd.sin(x * y) + sd.exp(-x * x) * y**3, [x, y])
    inputs = [{"x": float(a), "y": float(b)}
              for a, b in np.random.default_rng(1).uniform(-2, 2, (500, 2))]
    serial = [vg(p) for p in inputs]
    assert not _run_threads(vg, inputs, serial, 10_000)


@pytest.mark.parametrize("calls", [pytest.param(2_000, id="2000"),
                                   pytest.param(10_000, id="10000", marks=pytest.mark.slow)])
def test_eight_threads_array_calls(calls):
    """8 threads at once on a program of arrays; 10,000 calls each in the slow run (about
    20 s on 2 cores), 2,000 in the default run."""
    W, b, x = sd.var("W", (4, 4)), sd.var("b", (4,)), sd.var("x", (4,))
    vg = sd.value_and_grad(sd.sum(sd.tanh(W @ x + b) ** 2) + sd.sum(x**3 + 2 * x), [W, b, x])
    rng = np.random.default_rng(2)
    inputs = [{"W": rng.standard_normal((4, 4)), "b": rng.standard_normal(4),
               "x": rng.standard_normal(4)} for _ in range(200)]
    serial = [vg(p) for p in inputs]
    assert not _run_threads(vg, inputs, serial, calls)


# ---------------------------------------------------------------------------
# no data lost: inputs never written, backward accumulates
# ---------------------------------------------------------------------------

def _digest(arrays) -> list:
    return [hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() for a in arrays]


def test_no_entry_point_writes_into_the_callers_arrays():
    W, x = sd.var("W", (3, 3)), sd.var("x", (3,))
    f = sd.sum(sd.relu(W @ x) ** 2 + x * x + x)
    point = {"W": np.arange(9.0).reshape(3, 3) / 9, "x": np.array([0.5, -1.0, 2.0])}
    before = _digest(point.values())
    f.eval(point)
    sd.value_and_grad(f, [W, x])(point)
    sd.check(f, at=point)
    sd.grad(f, [x])[0].eval(point)
    sd.hessian(f, x).eval(point)
    sd.jacobian(W @ x, x).eval(point)
    sd.verify(sd.sum(x * x), {x: "2*x"}, at={"x": point["x"]})
    assert _digest(point.values()) == before
    # bound tensors: backward reads their data and writes only .grad
    data = np.array([1.0, 2.0, 3.0])
    t = sd.tensor(data, requires_grad=True, name="t")
    digest = _digest([data])
    sd.sum(t * t + t).backward()
    assert _digest([data]) == digest
    np.testing.assert_array_equal(t.grad, 2 * data + 1)


def test_backward_twice_accumulates_like_pytorch():
    t = sd.tensor([1.0, 2.0], requires_grad=True, name="t")
    f = sd.sum(t * t)
    f.backward()
    f.backward()  # PyTorch needs retain_graph=True here; symdiff keeps graphs
    np.testing.assert_array_equal(t.grad, 2 * (2 * np.array([1.0, 2.0])))
