"""The untaken branch of a ``where``: its values may be nan (sqrt(-1)) and its partials
inf (1/0), yet f and its gradient are those of the branch taken (docs/reliability.md,
"Untaken branches").

Regression (issue: hardening, finding 5): ``where(x > 0, sqrt(x), 0)`` at x = -1 gave a
nan gradient from ``value_and_grad``, ``.backward()`` and ``sd.grad`` (0 * nan in the
untaken branch's VJP), and ``sd.check`` said "not differentiable here". Every way of
taking the derivative is held here to central differences of f, for the family: log,
div, pow, pow_tensor, sqrt, inv, logdet, matmul under a where, nested wheres, a branch
used twice, arrays, broadcasting, batched cotangents (Hessians).
"""
from __future__ import annotations

import numpy as np
import pytest

import symdiff as sd
from numeric import central_difference
from symdiff.derivatives.reverse import reverse
from symdiff.graph.node import apply
from symdiff.graph.walks import free_names
from symdiff.lowering.lower import bind, lower

x, y, s, c = sd.var("x"), sd.var("y"), sd.var("s"), sd.var("c")
v = sd.var("v", (3,))
M = sd.var("M", (2, 2))
X, W = sd.var("X", (2, 2)), sd.var("W", (2, 3))
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
NEGATIVE_DET = np.array([[0.0, 1.0], [1.0, 0.0]])

# (name, f, point): at each point the untaken branch is undefined, or its partial infinite
CASES = [
    ("sqrt", sd.where(x > 0, sd.sqrt(x), 0.0) * y, {"x": -1.0, "y": 2.0}),
    ("sqrt at 0", sd.where(y > 0, sd.sqrt(x), x) * 2.0, {"x": 0.0, "y": -1.0}),
    ("log", sd.where(y > 0, sd.log(x), 3 * x) + y, {"x": 0.0, "y": -1.0}),
    ("log of a negative", sd.where(x > 0, sd.log(x) * y, x * y), {"x": -2.0, "y": 1.5}),
    ("div", sd.where(sd.abs(x) > 0.5, 1.0 / x, x * x) * y, {"x": 0.0, "y": 3.0}),
    ("div, else branch", sd.where(y > 0.5, x * x, y / x), {"x": 0.0, "y": 3.0}),
    ("pow -0.5", sd.where(y > 0, x ** -0.5, 1.0) + x * y, {"x": 0.0, "y": -1.0}),
    ("pow 1.5", sd.where(x > 0, x ** 1.5, -x) * y, {"x": -1.0, "y": 2.0}),
    ("pow_tensor", sd.where(x > 0, x ** y, y * y), {"x": -1.0, "y": 0.5}),
    ("then branch taken", sd.where(x > 0, x * x, sd.log(x - 1) * y), {"x": 0.5, "y": 2.0}),
    ("nested, outer untaken", sd.where(x > 0, sd.where(x < 4, sd.log(x), sd.sqrt(x - 4)),
                                       x * x) * y, {"x": -1.0, "y": 2.0}),
    ("nested, inner untaken", sd.where(x > 0, sd.where(x < 4, sd.log(x), sd.sqrt(x - 4)),
                                       x * x) * y, {"x": 2.0, "y": 2.0}),
    ("branch used twice", sd.where(x > 0, sd.sqrt(x), 0.0) * sd.where(x > 0, sd.sqrt(x), y),
     {"x": -1.0, "y": 2.0}),
    ("shared node", (lambda r: sd.where(x > 0, r * y, 0.0) + sd.where(x > 1, r, 1.0))(
        sd.log(x)), {"x": -1.0, "y": 2.0}),
    ("inv, scalar condition", sd.where(c > 0, sd.sum(sd.inv(M)), c * c),
     {"M": SINGULAR, "c": -1.0}),
    ("logdet", sd.where(c > 0, sd.logdet(M), c) * 2.0, {"M": NEGATIVE_DET, "c": -1.0}),
    ("array", sd.sum(sd.where(v > 0, sd.sqrt(v) * sd.log(v), v)),
     {"v": np.array([-1.0, 0.25, 4.0])}),
    ("array, division", sd.sum(sd.where(v > 2, 1.0 / (v - 1), v * v)),
     {"v": np.array([1.0, 0.0, 3.0])}),
    ("broadcast scalar branch", sd.sum(sd.where(v > 0, sd.log(s) + v, v * s)),
     {"v": np.array([-1.0, -2.0, -3.0]), "s": 0.0}),
    ("matrix condition", sd.sum(sd.where(M > 0, sd.inv(M), M)),
     {"M": -SINGULAR}),
    ("matmul, masked rows", sd.sum(sd.where(X[:, :1] > 0, sd.log(X) @ W, 0.0)),
     {"X": np.array([[-1.0, 1.0], [1.0, 2.0]]), "W": np.arange(6.0).reshape(2, 3)}),
    ("matmul, masked columns", sd.sum(sd.where(X[:1, :] > 0, W.T @ sd.log(X), 0.0)),
     {"X": np.array([[1.0, -1.0], [1.0, 2.0]]), "W": np.arange(6.0).reshape(2, 3)}),
]
IDS = [case[0] for case in CASES]


def _variables(f):
    return [n for n in f.nodes() if n.op == "var"]


def _by_differences(f, wrt, point):
    names = [w.name for w in wrt]
    lowered = lower(f)
    args = bind(lowered, point, {})
    order = [leaf.name for leaf in lowered.leaves]
    fd = central_difference(lambda *a: float(lowered.program.forward(*a)), args)
    return [fd[order.index(n)] for n in names]


@pytest.mark.parametrize("name,f,point", CASES, ids=IDS)
def test_every_derivative_is_the_taken_branchs(name, f, point):
    wrt = _variables(f)
    want = _by_differences(f, wrt, point)
    assert all(np.all(np.isfinite(w)) for w in want), want
    got = {
        "value_and_grad": sd.value_and_grad(f, wrt)(point)[1],
        "interpreter": lower(f, wrt, optimize=False).program(
            *bind(lower(f, wrt, optimize=False), point, {}))[1],
        "sd.grad's graph": [g.eval({k: point[k] for k in free_names(g) if k in point})
                            for g in sd.grad(f, wrt)],
    }
    for how, grads in got.items():
        for w, g, want_w in zip(wrt, grads, want):
            np.testing.assert_allclose(g, want_w, rtol=1e-6, atol=1e-6,
                                       err_msg=f"{name}: {how}, d/d{w.name}")
    # sd.check: f is differentiable here, whatever the untaken branch does
    report = sd.check(f, at=point)
    assert report.ok, str(report)


def _over_tensors(f, tensors):
    """The graph of ``f`` with its variables replaced by bound tensors."""
    made = {}
    for n in f.nodes():
        made[id(n)] = tensors[n.name] if n.op == "var" else n if n.is_leaf else \
            apply(n.op, *[made[id(a)] for a in n.args], **n.params)
    return made[id(f)]


@pytest.mark.parametrize("name,f,point", CASES, ids=IDS)
def test_backward_on_tensors(name, f, point):
    wrt = _variables(f)
    tensors = {w.name: sd.tensor(point[w.name], requires_grad=True) for w in wrt}
    with np.errstate(all="ignore"):   # bound graphs compute their values as they are built
        _over_tensors(f, tensors).backward()
    for w, want in zip(wrt, _by_differences(f, wrt, point)):
        np.testing.assert_allclose(tensors[w.name].grad, want, rtol=1e-6, atol=1e-6,
                                   err_msg=f"{name}: .backward(), d/d{w.name}")


def test_the_issue_example():
    f = sd.where(x > 0, sd.sqrt(x), 0.0)
    assert sd.value_and_grad(f, x)(x=-1.0) == (0.0, 0.0)
    t = sd.tensor(-1.0, requires_grad=True)
    sd.where(t > 0, sd.sqrt(t), 0.0).backward()
    assert t.grad == 0.0
    assert sd.grad(f, [x])[0].eval(x=-1.0) == 0.0
    assert sd.diff(f, x).eval(x=-1.0) == 0.0 and sd.diff(f, x).eval(x=4.0) == 0.25
    report = sd.check(f, at={"x": -1.0})
    assert report.ok and not report.problems, str(report)
    assert "not differentiable" not in str(report)


def test_derivative_reads_as_the_taken_branchs():
    """The double where, in the derivative graph itself: the partial is selected, not
    multiplied by a 0/1 factor (which printed 0.5*Piecewise((1, x > 0), (0, True))/sqrt(x))."""
    f = sd.where(x > 0, sd.sqrt(x), 0.0)
    assert str(sd.diff(f, x).sympy()) == "Piecewise((0.5/sqrt(x), x > 0), (0, True))"
    gx, gy = sd.grad(f * y, [x, y])
    assert str(gx.sympy()) == "Piecewise((0.5*y/sqrt(x), x > 0), (0, True))"
    assert str(gy.sympy()) == "Piecewise((sqrt(x), x > 0), (0, True))"


def test_a_real_infinity_in_the_taken_branch_still_shows():
    """Only the untaken branch's nan is kept out: where the branch taken is not
    differentiable, the gradient says so."""
    f = sd.where(x > -1, sd.sqrt(x + 1), 0.0) * y
    _, (gx, _) = sd.value_and_grad(f, [x, y])(x=-1.0 + 0.0, y=2.0)
    assert gx == 0.0     # x = -1 is not > -1: the 0 branch
    f = sd.where(x >= -1, sd.sqrt(x + 1), 0.0) * y
    _, (gx, _) = sd.value_and_grad(f, [x, y])(x=-1.0, y=2.0)
    assert gx == np.inf
    assert sd.grad(f, [x])[0].eval(x=-1.0, y=2.0) == np.inf
    report = sd.check(f, at={"x": -1.0, "y": 2.0})
    assert not report.ok and any(p.startswith("sqrt") for p in report.problems), str(report)
    # and a nan the branch taken computes is not hidden either
    f = sd.where(x > 0, sd.sqrt(x) * sd.log(x - 1), 0.0)
    assert np.isnan(sd.value_and_grad(f, x)(x=0.5)[1])
    assert np.isnan(sd.grad(f, [x])[0].eval(x=0.5))


def test_hessians_through_an_untaken_branch():
    """Batched cotangents (Jacobians, Hessians) take the same care."""
    f = sd.where(c > 0, sd.sum(sd.inv(M)), c * c) + sd.sum(M * M)
    H = sd.hessian(f, M).eval(M=SINGULAR, c=-1.0)
    np.testing.assert_allclose(H.reshape(4, 4), 2 * np.eye(4), atol=1e-12)
    g = sd.where(v > 0, sd.sqrt(v), v * v)
    J = sd.jacobian(g, v).eval(v=np.array([-1.0, 4.0, -2.0]))
    np.testing.assert_allclose(J, np.diag([-2.0, 0.25, -4.0]))
    Hs = sd.hessian(sd.sum(g), v, sparse=True).eval(v=np.array([-1.0, 4.0, -2.0]))
    np.testing.assert_allclose(Hs, np.diag([2.0, -0.25 / 8, 2.0]))


def test_second_derivative_through_a_zero_that_is_only_zero_here():
    """Found by the slow torch run: where the two branches are one node, their conditions
    cancel and the cotangent is tested for zero instead; at a diagonal matrix the
    gradient's off-diagonal entries are 0 only at that point, and a plain
    ``where(|g| <= 0, 0, g * p)`` cut their derivative from the Hessian (torch: -0.0178,
    sd.hessian: 0). Only non-finite entries are replaced now."""
    t = sd.abs(sd.abs(sd.logdet(0.2 * (M + 2.0) + sd.const(1.5 * np.eye(2)) - 0.4)))
    f = sd.where(t > t, t, t)
    want = sd.hessian(t, M).eval(M=np.zeros((2, 2)))
    assert want.reshape(4, 4)[1, 2] == pytest.approx(-0.04 / 2.25)
    for sparse in (False, True):
        np.testing.assert_allclose(sd.hessian(f, M, sparse=sparse).eval(M=np.zeros((2, 2))),
                                   want, atol=1e-15)


def test_conditions_never_line_up_with_batch_axes():
    """Found by the slow torch run: a condition of shape (4,) pending on the cotangent of
    a scalar, in a sweep with 4 batch rows (the compressed Hessian's seeds), was taken to
    index the batch axis; the sparse Hessian came out wrong (not even symmetric)."""
    a3 = sd.abs(sd.abs(sd.const(np.array([0.5, -1.5])) + M))
    t = sd.abs(sd.abs(sd.logdet((sd.abs(a3) + 0.004) * 0.227 - 0.4 +
                                sd.const(1.5 * np.eye(2)))))
    u = sd.where(t > sd.reshape(a3, (4,)), 1.0, 0.0) * t + t
    q = u / ((u - 0.046) * 1.072 + 0.2)
    f = sd.sum(sd.where(q > u, t, (q - 0.002) * 0.902 - 6.0))
    dense = sd.hessian(f, M).eval(M=np.zeros((2, 2)))
    np.testing.assert_allclose(sd.hessian(f, M, sparse=True).eval(M=np.zeros((2, 2))), dense,
                               atol=1e-15)
    flat, = reverse(sd.grad(f, [M])[0], [M], sd.const(np.eye(4).reshape(4, 2, 2)))
    np.testing.assert_allclose(flat.eval(M=np.zeros((2, 2))), dense.reshape(4, 2, 2),
                               atol=1e-15)


def test_graphs_without_where_keep_the_plain_sweep():
    """The masking is for graphs with a where: others get the table's own VJPs (the
    benchmarks' hot path is unchanged) and derivative graphs without select nodes."""
    from numeric import PRIMITIVES
    f = sd.sum(sd.relu(v * 2.0) ** 2 + sd.log(v * v + 1))
    program = sd.value_and_grad(f, v).lowered.program
    for _, row, _, _, steps in program._backward:
        assert all(rule is row.vjp[j] for j, _, rule, _ in steps), row.name
    assert "where" not in {n.op for n in sd.grad(f, [v])[0].nodes()}
    assert PRIMITIVES["where"].vjp[1](np.array([np.nan, 1.0]), None, np.array([False, True]),
                                      None, None).tolist() == [0.0, 1.0]
