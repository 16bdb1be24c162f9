"""One name, one variable: every call that takes variables holds them against f's leaves.

``sd.var("x")`` made twice is one variable (as ``Symbol("x")`` is in SymPy); the same
name with another shape, or a tensor of that name, is another leaf, and every entry
that takes variables (or values keyed by variable nodes) refuses it with a
``VariableError`` naming both, where it used to answer for f's variable (``sd.diff``
returned d/d(scalar x) for a vector x) or crash (``sd.check`` raised IndexError).
"""
from __future__ import annotations

import numpy as np
import pytest

import symdiff as sd
from symdiff.graph.arguments import as_variables, check_wrt, match_leaves

x = sd.var("x")
f = sd.sin(x) * x + 1.0
X2 = sd.var("x", (2,))                           # same name, another shape
TX = sd.tensor(0.5, name="x", requires_grad=True)  # same name, a tensor

ENTRIES = {
    "sd.diff": lambda w: sd.diff(f, w),
    "sd.grad": lambda w: sd.grad(f, [w]),
    "sd.jacobian": lambda w: sd.jacobian(f, w),
    "sd.jacobian list": lambda w: sd.jacobian(f, [w]),
    "sd.hessian": lambda w: sd.hessian(f, w),
    "sd.hessian list": lambda w: sd.hessian(f, [w]),
    "sd.value_and_grad": lambda w: sd.value_and_grad(f, [w]),
    "sd.value_and_grad one": lambda w: sd.value_and_grad(f, w),
    "sd.check": lambda w: sd.check(f, at={"x": 0.5}, wrt=[w]),
    "sd.formula": lambda w: sd.formula(f, w),
    "sd.formula python": lambda w: sd.formula(f, [w], lang="python"),
    ".eval keyed by node": lambda w: f.eval({w: 0.5 if w.shape == () else np.ones(w.shape)}),
    "sd.evaluate keyed by node": lambda w: sd.evaluate(f, {w: np.ones(w.shape)}),
    "value_and_grad call keyed by node":
        lambda w: sd.value_and_grad(f, [x])({w: np.ones(w.shape)}),
    "sd.check at keyed by node": lambda w: sd.check(f, at={w: np.ones(w.shape)}),
}


@pytest.mark.parametrize("other", [X2, TX], ids=["var of another shape", "tensor"])
@pytest.mark.parametrize("entry", list(ENTRIES))
def test_another_leaf_of_fs_name_is_refused_naming_both(entry, other):
    with pytest.raises(sd.VariableError) as e:
        ENTRIES[entry](other)
    message = str(e.value)
    assert f"{other.op} 'x' of shape {other.shape}" in message, message
    assert "var 'x' of shape ()" in message, message


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_var_x_made_again_is_the_same_variable(entry):
    again = sd.var("x")
    assert again is not x
    ENTRIES[entry](again)   # no error


def test_the_same_variable_gives_the_same_numbers():
    again = sd.var("x")
    assert sd.diff(f, again).eval(x=0.5) == sd.diff(f, x).eval(x=0.5)
    assert sd.value_and_grad(f, [again])(x=0.5) == sd.value_and_grad(f, [x])(x=0.5)
    assert f.eval({again: 0.5}) == f.eval(x=0.5)
    r = sd.check(f, at={again: 0.5}, wrt=[again])
    assert r.ok and r.reverse_mode["x"] == pytest.approx(np.cos(0.5) * 0.5 + np.sin(0.5))


def test_node_keys_on_the_fast_path_are_checked_too():
    # f is scalar: .eval and value_and_grad take the Python-float fast path first
    vg = sd.value_and_grad(f, [x])
    assert vg({x: 0.5}) == vg(x=0.5)
    with pytest.raises(sd.VariableError, match="tensor 'x'"):
        vg({TX: 0.5})
    with pytest.raises(sd.VariableError, match="tensor 'x'"):
        f.eval({TX: 0.5})


def test_a_variable_f_does_not_use_has_a_zero_derivative():
    y = sd.var("y", (2,))
    assert sd.diff(f, y).eval(x=0.5).tolist() == [0.0, 0.0]
    assert sd.value_and_grad(f, [x, y])(x=0.5)[1][1].tolist() == [0.0, 0.0]


def test_two_leaves_of_one_name_within_wrt_are_refused():
    g = sd.var("y") * 2.0
    with pytest.raises(sd.VariableError, match=r"another of wrt's 'x'"):
        sd.grad(g, [x, X2])
    with pytest.raises(sd.VariableError, match=r"tensor 'x'"):
        sd.value_and_grad(g, [x, TX])


def test_two_tensors_of_one_name_are_two_leaves():
    a = sd.tensor(1.0, name="a", requires_grad=True)
    b = sd.tensor(1.0, name="a", requires_grad=True)   # same name and shape, own value
    with pytest.raises(sd.VariableError, match="tensor 'a'"):
        sd.diff(a * 3.0, b)
    assert sd.diff(a * 3.0, a).eval() == 3.0
    with pytest.raises(sd.VariableError, match="two different leaves are named 'a'"):
        (a + b).eval()


def test_a_graph_holding_two_leaves_of_one_name_is_refused():
    with pytest.raises(sd.VariableError, match=r"var 'x' of shape \(\) and var 'x' of shape"):
        sd.grad(x + sd.sum(X2), [x])


def test_derivative_graphs_keep_accepting_fs_variables():
    y = sd.var("y")
    g = sd.diff(x * y + y, x)          # the graph of y: it was f's, x is context
    assert g.eval(x=1.0, y=3.0) == 3.0
    assert g.eval({x: 1.0, y: 3.0}) == 3.0
    H = sd.hessian(sd.sum(X2 ** 3), X2)
    assert H.eval({X2: [1.0, 2.0]}).tolist() == [[6.0, 0.0], [0.0, 12.0]]


def test_the_helpers_directly():
    items, single = as_variables(x, "who", accepts="either")
    assert items == [x] and single
    assert as_variables((x, X2), "who")[1] is False
    assert match_leaves({}, [x, sd.var("x")], "who") is None
    with pytest.raises(sd.ArgumentError, match="one variable node"):
        as_variables([x], "sd.diff", "x", accepts="one")
    with pytest.raises(sd.ArgumentError, match="list of variables"):
        as_variables(x, "sd.grad", accepts="many")
    assert check_wrt(f, [sd.var("x")], "who")[0][0].shape == ()


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.startswith("sd.")
                                   and "keyed by node" not in e])
def test_the_message_names_the_function_called(entry):
    # sd.formula's said "sd.grad:" (it handed wrt to sd.grad unchecked)
    with pytest.raises(sd.VariableError) as e:
        ENTRIES[entry](X2)
    assert str(e.value).startswith(entry.split()[0] + ":"), str(e.value)


@pytest.mark.parametrize("wrt, kind", [("x", "str 'x'"), (3, "int 3"), ([x, "y"], "str 'y'")])
def test_sd_formula_names_itself_for_a_wrt_that_is_no_variable(wrt, kind):
    with pytest.raises(sd.ArgumentError, match=r"^sd\.formula: wrt.*" + kind):
        sd.formula(f, wrt)
