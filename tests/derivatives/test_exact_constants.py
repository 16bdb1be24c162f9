"""Constants folded from integers stay exact (issue 15: "exact rationals for constants that
came from integers, never 0.333333333333333"): derivatives.build keeps a Fraction on a
folded constant, and the closed forms print it as a Rational."""
import numpy as np
import sympy

import symdiff as sd
from symdiff.derivatives.build import EXACT, build, exact_value


def test_quotients_by_integers_print_as_fractions():
    y, x, X = sd.var("y"), sd.var("x", (3,)), sd.var("X", (5, 3))
    assert str(sd.diff(y ** 2 / 4, y).sympy()) == "y/2"
    assert str(sd.grad(sd.sum(x ** 2) / 4, [x])[0].sympy()) == "x/2"
    assert str(sd.grad(sd.mean((X @ x) ** 2), [x])[0].sympy()) == "2*X.T*X*x/5"
    assert "0." not in str(sd.diff(y ** 3 / 6, y).sympy())
    # the numbers are the floats they always were
    assert sd.diff(y ** 2 / 4, y).eval(y=3.0) == 1.5
    np.testing.assert_allclose(sd.grad(sd.sum(x ** 2) / 4, [x])[0].eval(x=np.ones(3)),
                               0.5 * np.ones(3))


def test_a_float_the_user_wrote_is_not_made_a_fraction():
    y = sd.var("y")
    g = build("mul", sd.const(0.1), sd.const(3.0))
    assert exact_value(g) is None and EXACT not in g._cache
    assert isinstance(sd.diff(0.1 * y ** 2, y).sympy().as_coeff_Mul()[0], sympy.Float)


def test_folding_keeps_exactness_through_moves_and_refuses_what_it_cannot():
    third = build("div", sd.const(1.0), sd.const(3.0))
    assert str(exact_value(third)) == "1/3"
    spread = build("broadcast_to", third, shape=(2, 2))
    assert str(exact_value(spread)) == "1/3"
    assert exact_value(sd.const(np.array([1.0, 2.0]))) is None       # not one number
    assert exact_value(build("mul", sd.const(np.zeros(0)), sd.const(2.0))) is None   # empty
