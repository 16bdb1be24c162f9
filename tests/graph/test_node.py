"""Nodes: leaves, operators, broadcasting, introspection, evaluation and binding errors."""
import numpy as np
import pytest

import symdiff as sd


def test_leaves_and_introspection():
    x = sd.var("x")
    W = sd.var("W", shape=(10, 5))
    a = sd.tensor([3.0], requires_grad=True, name="a")
    k = sd.const(2.5)
    assert (x.op, x.shape, x.name) == ("var", (), "x")
    assert (W.op, W.shape) == ("var", (10, 5))
    assert (a.op, a.shape, a.requires_grad) == ("tensor", (1,), True)
    assert a.data.dtype == np.float64 and a.data.tolist() == [3.0]
    assert k.op == "const" and k.item() == 2.5
    f = x**2 + 3
    assert f.op == "add"
    assert [n.op for n in f.args] == ["pow", "const"]
    assert f.args[0].params == {"p": 2}
    nodes = f.nodes()
    assert nodes[-1] is f and nodes[0] is x
    assert len(nodes) == len({id(n) for n in nodes}) == 4
    # inputs first: every node comes after its arguments
    pos = {id(n): i for i, n in enumerate(nodes)}
    assert all(pos[id(a)] < pos[id(n)] for n in nodes for a in n.args)


def test_shared_subexpression_listed_once():
    x = sd.var("x")
    s = sd.sin(x)
    f = s * s + s
    assert [n.op for n in f.nodes()] == ["var", "sin", "mul", "add"]


@pytest.mark.parametrize("shape_a,shape_b,expected", [
    ((), (3, 2), (3, 2)), ((3, 1), (2,), (3, 2)), ((1, 2), (3, 2), (3, 2)), ((2,), (2,), (2,)),
])
def test_broadcasting_follows_numpy(shape_a, shape_b, expected):
    a, b = sd.var("a", shape_a), sd.var("b", shape_b)
    f = a * b + a
    assert f.shape == expected
    va, vb = np.random.default_rng(0).standard_normal(shape_a), np.random.default_rng(1).standard_normal(shape_b)
    np.testing.assert_allclose(f.eval(a=va, b=vb), va * vb + va)


def test_shape_errors_name_op_and_shapes():
    with pytest.raises(sd.ShapeError, match=r"add: shapes \(3,\) and \(2,\)"):
        sd.var("a", (3,)) + sd.var("b", (2,))
    with pytest.raises(sd.ShapeError, match=r"matmul: inner dimensions differ: shapes \(2, 3\) and \(2, 3\)"):
        sd.var("A", (2, 3)) @ sd.var("B", (2, 3))
    with pytest.raises(sd.ShapeError, match="reshape"):
        sd.reshape(sd.var("A", (2, 3)), (4, 2))
    with pytest.raises(sd.ShapeError, match="axis 2 is out of range"):
        sd.sum(sd.var("A", (2, 3)), axis=2)
    with pytest.raises(sd.ShapeError, match="index"):
        sd.var("v", (3,))[5]
    assert issubclass(sd.ShapeError, sd.SymdiffError) and issubclass(sd.ShapeError, ValueError)


def test_operators_match_numpy():
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    v = rng.uniform(0.5, 2.0, 4)
    a, b, x = sd.var("a", (3, 4)), sd.var("b", (4, 2)), sd.var("x", (4,))
    cases = [
        (a @ b, A @ B), (a.T, A.T), (-a, -A), (a - 1, A - 1), (1 - a, 1 - A), (a / x, A / v),
        (2 / x, 2 / v), (x ** 3, v ** 3), (x ** 0.5, np.sqrt(v)), (2 ** x, 2 ** v),
        (x ** x, v ** v), (abs(a), np.abs(A)), (a[1], A[1]), (a[:, 1:3], A[:, 1:3]),
        (a[None, ..., ::2], A[None, ..., ::2]), (a.reshape(2, 6), A.reshape(2, 6)),
        (a.sum(axis=1), A.sum(axis=1)), (a.mean(), A.mean()), (sd.sum(a, axis=(0, 1)), A.sum()),
        (a.sum(axis=0, keepdims=True), A.sum(axis=0, keepdims=True)),
        (a.transpose(1, 0), A.T), (sd.maximum(a, 0.1), np.maximum(A, 0.1)),
        (sd.where(a > 0, a, 0.0), np.where(A > 0, A, 0.0)), ((a > 0) * a, (A > 0) * A),
        (sd.sigmoid(a), 1 / (1 + np.exp(-A))), (sd.relu(a), np.maximum(A, 0)),
        (x @ b, v @ B), (a @ x, A @ v), (x @ x, v @ v), (sd.broadcast_to(x, (3, 4)), np.broadcast_to(v, (3, 4))),
    ]
    point = {"a": A, "b": B, "x": v}
    for node, expected in cases:
        used = {n.name for n in node.nodes() if n.op == "var"}
        got = node.eval({k: point[k] for k in used})
        assert np.shape(got) == np.shape(expected) == node.shape
        np.testing.assert_allclose(got, expected, rtol=1e-13, err_msg=repr(node))


def test_numpy_ufuncs_build_nodes():
    x = sd.var("x", (2,))
    f = np.sin(x) + np.array([1.0, 2.0]) * x
    assert isinstance(f, sd.Node) and f.op == "add"
    np.testing.assert_allclose(f.eval(x=[0.5, 1.0]), np.sin([0.5, 1.0]) + [0.5, 2.0])
    g = np.float64(2.0) * x
    assert isinstance(g, sd.Node)


def test_eval_binding_forms_and_errors():
    x, y = sd.var("x"), sd.var("y")
    f = x * y + y**2
    assert f.eval(x=2.0, y=3.0) == f.eval({x: 2.0, y: 3.0}) == f.eval({"x": 2, "y": 3}) == 15.0
    assert isinstance(f.eval(x=2.0, y=3.0), float)
    with pytest.raises(sd.MissingVariableError, match="'y'"):
        f.eval(x=2.0)
    with pytest.raises(sd.ExtraVariableError, match="unknown variable 'z'.*x, y"):
        f.eval(x=1.0, y=1.0, z=3.0)
    with pytest.raises(sd.ShapeError, match=r"variable 'x': expected shape \(\), got \(2,\)"):
        f.eval(x=[1.0, 2.0], y=1.0)
    with pytest.raises(sd.SymdiffError, match="not a number"):
        f.eval(x="abc", y=1.0)


def test_inputs_promoted_to_float64_and_not_mutated():
    x = sd.var("x", (3,))
    f = sd.sum(x * x)
    ints = np.array([1, 2, 3])
    before = ints.copy()
    vg = sd.value_and_grad(f, x)
    value, g = vg(x=ints)
    assert value == 14.0 and g.dtype == np.float64
    np.testing.assert_array_equal(g, [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(ints, before)
    assert f.eval(x=np.array([True, False, True])) == 2.0


def test_same_name_variables_are_one_variable():
    f = sd.var("x") * sd.var("x")
    assert f.eval(x=3.0) == 9.0
    assert sd.value_and_grad(f, [sd.var("x")])(x=3.0) == (9.0, [6.0])
    with pytest.raises(sd.SymdiffError, match="two different leaves are named 'x'"):
        (sd.var("x") + sd.var("x", (2,))).eval(x=1.0)


def test_invalid_names_and_bool_use():
    with pytest.raises(sd.SymdiffError, match="not a valid identifier"):
        sd.var("2x")
    with pytest.raises(sd.SymdiffError, match="not a valid identifier"):
        sd.var("__class__")
    with pytest.raises(sd.SymdiffError, match="ambiguous"):
        bool(sd.var("x") > 0)
    with pytest.raises(sd.SymdiffError, match="condition must be a comparison"):
        sd.where(sd.var("x"), 1.0, 2.0)


def test_value_and_grad_lowered_once_and_reused():
    x, y = sd.var("x"), sd.var("y")
    f = sd.sin(x) * y
    vg = sd.value_and_grad(f, [x, y])
    for xv, yv in [(0.1, 2.0), (1.3, -1.0), (2.0, 0.5)]:
        value, (gx, gy) = vg(x=xv, y=yv)
        assert value == pytest.approx(np.sin(xv) * yv, rel=1e-15)
        assert gx == pytest.approx(np.cos(xv) * yv, rel=1e-15)
        assert gy == pytest.approx(np.sin(xv), rel=1e-15)
    single = sd.value_and_grad(f, x)
    assert single(x=0.0, y=2.0) == (0.0, 2.0)
    # a variable f does not depend on gets a zero gradient
    z = sd.var("z", (2,))
    assert sd.value_and_grad(f, [z])(x=0.0, y=1.0)[1][0].tolist() == [0.0, 0.0]
    with pytest.raises(sd.ShapeError, match="scalar"):
        sd.value_and_grad(x * sd.var("v", (2,)), [x])   # refused when lowered, not per call


def test_common_subexpressions_lowered_once():
    x = sd.var("x")
    f = sd.exp(sd.sin(x)) + sd.exp(sd.sin(x))   # two structurally equal subtrees
    lowered = sd.value_and_grad(f, [x]).lowered.program
    assert len(lowered._forward) == 3            # sin, exp, add
    value, (g,) = lowered(0.7)
    assert float(g) == pytest.approx(2 * np.exp(np.sin(0.7)) * np.cos(0.7), rel=1e-14)


def test_repr_shows_formula_or_value():
    x = sd.var("x")
    assert "x**2 + 3" in repr(x**2 + 3)
    a = sd.tensor([3.0], requires_grad=True, name="a")
    assert repr(a) == "tensor([3.], requires_grad=True)"
    assert repr(a * 2) == "tensor([6.], grad_fn=<MulBackward>)"
    assert repr(sd.var("W", (2, 2))) == "var('W', shape=(2, 2))"


def test_unbound_values_raise_clearly():
    x = sd.var("x")
    with pytest.raises(sd.SymdiffError, match="depends on free variables \\(x\\)"):
        (x + 1).item()
    with pytest.raises(sd.SymdiffError, match="depends on free variables"):
        np.asarray(x + 1)
