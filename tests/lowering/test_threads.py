"""``threads=`` of ``sd.value_and_grad`` and ``lower``: passed to the program's fused
steps, checked (a whole number at least 1, or None), and without effect on the numbers."""
from __future__ import annotations

import numpy as np
import pytest

import symdiff as sd
from numeric.fusion import paths
from symdiff.lowering.lower import lower


def _w6(n: int = 300_000):
    # W6 of the benchmarks: a loss of transcendentals, one fused group ending in a sum
    x = sd.var("x", shape=(n,))
    f = sd.sum(sd.tanh(sd.sin(x) * sd.exp(-x ** 2)) + sd.log(1 + x ** 2) * sd.sigmoid(x))
    return f, x, np.linspace(-3.0, 3.0, n)


def test_one_and_two_threads_give_bit_identical_results():
    f, x, xs = _w6()
    runs = []
    for threads in (1, 2):
        vg = sd.value_and_grad(f, [x], threads=threads)
        steps = paths(vg.lowered.program)
        assert steps and all(s["threads"] == threads for s in steps), steps
        runs.append(vg(x=xs))
    (v1, (g1,)), (v2, (g2,)) = runs
    assert v1 == v2 and np.array_equal(g1, g2)
    # and the same numbers as the plain interpreter, to rounding
    v0, (g0,) = lower(f, [x], optimize=False).program(xs)
    assert np.isclose(v1, v0, rtol=1e-12) and np.allclose(g1, g0, rtol=1e-12, atol=1e-15)


def test_threads_reaches_the_program_from_lower():
    f, x, _ = _w6()
    assert lower(f, [x], threads=2).program.threads == 2
    assert sd.value_and_grad(f, [x]).lowered.program.threads is None  # $SYMDIFF_THREADS


@pytest.mark.parametrize("bad", [0, -1, "two", 2.0, True, [2]])
def test_bad_thread_counts_are_refused_by_name(bad):
    x = sd.var("x")
    with pytest.raises(sd.ArgumentError, match=r"sd\.value_and_grad: threads must be a whole "
                                                r"number at least 1") as info:
        sd.value_and_grad(x * x, [x], threads=bad)
    assert isinstance(info.value, sd.SymdiffError)
    with pytest.raises(sd.ArgumentError, match="lower: threads"):
        lower(x * x, [x], threads=bad)


def test_numpy_integers_are_thread_counts():
    x = sd.var("x")
    assert sd.value_and_grad(x * x, [x], threads=np.int64(2))(x=3.0) == (9.0, [6.0])


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, np.True_, "two"])
def test_numeric_program_refuses_bad_thread_counts(bad):
    import numeric
    with pytest.raises(ValueError, match="threads must be a whole number at least 1"):
        numeric.Program([()], [], [("sin", (0,), {})], output=1, wrt=[0], threads=bad)
