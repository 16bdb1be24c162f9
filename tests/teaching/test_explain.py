"""explain: the forward pass, edge derivatives, the backward sweep, Olah's paths, costs."""
import re
import time

import numpy as np
import pytest

import symdiff as sd
from symdiff.teaching.analysis import GraphTooLargeError
from symdiff.teaching.explain import explain

AT = {"a": 3.0, "b": 1.0}

BACKWARD = [
    "  e.grad = 1",
    "  c.grad += e.grad * ∂e/∂c = 1 * 2 = 2",
    "  d.grad += e.grad * ∂e/∂d = 1 * 4 = 4",
    "  a.grad += c.grad * ∂c/∂a = 2 * 1 = 2",
    "  b.grad += c.grad * ∂c/∂b = 2 * 1 = 2",
    "  b.grad += d.grad * ∂d/∂b = 4 * 1 = 6   (2 + 4)",
]


def olah(build):
    if build == "vars":
        a, b = sd.var("a"), sd.var("b")
        return (a + b) * (b + 1), AT
    if build == "parse":
        return sd.parse("(a+b)*(b+1)"), AT
    a = sd.tensor(3.0, requires_grad=True, name="a")
    b = sd.tensor(1.0, requires_grad=True, name="b")
    return (a + b) * (b + 1), None


def section(text, title):
    """The lines of the section whose first line starts with ``title``."""
    for block in text.split("\n\n"):
        if block.startswith(title):
            return block.splitlines()
    raise AssertionError(f"no section {title!r} in:\n{text}")


@pytest.mark.parametrize("build", ["vars", "parse", "tensors"])
def test_olah_backward_steps_in_order(build):
    f, at = olah(build)
    lines = section(explain(f, at), "Backward sweep")
    assert lines[1:7] == BACKWARD
    assert lines[7] == "Gradients: a.grad = 2, b.grad = 6"


def test_olah_forward_pass_and_edge_derivatives():
    f, at = olah("vars")
    text = explain(f, at)
    assert section(text, "Forward pass")[1:] == [
        "  a = 3", "  b = 1", "  c = a + b = 4", "  d = b + 1 = 2", "  e = c * d = 8"]
    assert section(text, "Local derivatives")[1:] == [
        "  ∂c/∂a = 1", "  ∂c/∂b = 1", "  ∂d/∂b = 1", "  ∂e/∂c = d = 2", "  ∂e/∂d = c = 4"]


def test_olah_path_sums():
    f, at = olah("vars")
    lines = section(explain(f, at), "Paths")
    assert "  ∂e/∂a = ∂e/∂c·∂c/∂a = 2·1 = 2" in lines
    assert "  ∂e/∂b = ∂e/∂c·∂c/∂b + ∂e/∂d·∂d/∂b = 2·1 + 4·1 = 6" in lines
    assert "      symbolically: d·1 + c·1 = c + d" in lines


def test_olah_operation_counts():
    f, at = olah("vars")
    lines = section(explain(f, at), "Forward mode vs reverse mode")
    assert "n = 2 inputs, m = 1 output, 5 edges" in lines[0]
    assert lines[1] == ("  forward mode: one sweep per input: a: 2, b: 4 -> 6 edge "
                        "multiplications in 2 sweeps")
    assert lines[2] == "  reverse mode: one sweep per output: 5 edge multiplications in 1 sweep"
    assert "reverse mode is cheaper here (5 vs 6)" in lines[3]


def test_without_values_only_symbols():
    f, _ = olah("vars")
    text = explain(f)
    assert section(text, "Forward pass")[1:4] == ["  a   (variable)", "  b   (variable)",
                                                  "  c = a + b"]
    back = section(text, "Backward sweep")
    assert "  c.grad += e.grad * ∂e/∂c = e.grad * d" in back
    assert "  b.grad += d.grad * ∂d/∂b = d.grad * 1" in back
    assert not any("Gradients" in line for line in back)
    assert "  ∂e/∂b = ∂e/∂c·∂c/∂b + ∂e/∂d·∂d/∂b = d·1 + c·1 = c + d" in section(text, "Paths")


def gradients_line(text):
    line = next(ln for ln in text.splitlines() if ln.startswith("Gradients: "))
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"(\w+)\.grad = (\S+?)(?:,|$)", line[len("Gradients: "):])}


@pytest.mark.parametrize("formula,at", [
    ("(a+b)*(b+1)", {"a": 3.0, "b": 1.0}),
    ("exp(sin(x)*y) / (x + y**2) - tanh(x*y)", {"x": 0.7, "y": -1.3}),
    ("sigmoid(x*w + b) * log(x**2 + 1)", {"x": 0.4, "w": 2.0, "b": -0.5}),
    ("relu(x - 1) * x + sqrt(x)", {"x": 1.0}),  # at the kink: relu'(0) = 0, as the table says
])
def test_gradients_match_value_and_grad(formula, at):
    f = sd.parse(formula)
    text = explain(f, at)
    leaves = {n.name: n for n in f.nodes() if n.op == "var"}
    names = sorted(leaves)
    _, grads = sd.value_and_grad(f, [leaves[n] for n in names])(**at)
    shown = gradients_line(text)
    assert sorted(shown) == names
    for name, g in zip(names, grads):
        assert shown[name] == pytest.approx(g, rel=1e-5, abs=1e-12)
    # the running totals of the sweep end at the same numbers
    for name, g in zip(names, grads):
        back = section(text, "Backward sweep")
        last = [line for line in back if line.startswith(f"  {name}.grad += ")][-1]
        total = float(last.split(" = ")[-1].split()[0])
        assert total == pytest.approx(g, rel=1e-5, abs=1e-12)


def test_sin_exp_mul_symbolic_partials():
    x = sd.var("x")
    text = explain(sd.exp(sd.sin(x)) * x, at={"x": 0.5})
    local = section(text, "Local derivatives")
    assert "  ∂a/∂x = cos(x) = 0.877583" in local
    assert "  ∂b/∂a = exp(a) = 1.61515" in local
    assert "  ∂c/∂x = b = 1.61515" in local
    back = section(text, "Backward sweep")
    assert "  x.grad += a.grad * ∂a/∂x = 0.807573 * 0.877583 = 2.32386   (1.61515 + 0.708712)" \
        in back
    paths = section(text, "Paths")
    assert "      symbolically: x·exp(a)·cos(x) + b = b + x*exp(a)*cos(x)" in paths
    assert "cos(x)" in explain(sd.exp(sd.sin(x)) * x)  # and without values


def test_repeated_argument_accumulates_two_edges():
    x = sd.var("x")
    lines = section(explain(x * x, at={"x": 3.0}), "Backward sweep")
    assert lines[2:4] == ["  x.grad += a.grad * ∂a/∂x = 1 * 3 = 3",
                          "  x.grad += a.grad * ∂a/∂x = 1 * 3 = 6   (3 + 3)"]


def test_negative_factors_are_parenthesised():
    x, y = sd.var("x"), sd.var("y")
    text = explain(x / y, at={"x": 1.0, "y": 2.0})
    assert "  y.grad += a.grad * ∂a/∂y = 1 * (-0.25) = -0.25" in section(text, "Backward sweep")
    assert "  ∂a/∂y = -0.25   (one path of one edge: the local derivative)" in section(text, "Paths")
    text = explain(x * (-y) + sd.sin(x), at={"x": 1.0, "y": 2.0})
    assert "  ∂d/∂x = ∂d/∂b·∂b/∂x + ∂d/∂c·∂c/∂x = 1·(-2) + 1·0.540302 = -1.4597" in text
    text = explain(sd.sin(x) - x, at={"x": 0.0})
    assert "  ∂b/∂x = ∂b/∂a·∂a/∂x + ∂b/∂x = 1·1 + (-1) = 0" in text


def test_array_graph_summarised_with_shapes():
    W, x = sd.var("W", shape=(3, 2)), sd.var("x", shape=(2,))
    h = sd.relu(W @ x + np.array([1.0, 2.0, 3.0]))
    L = sd.sum(h * h)
    at = {"W": np.arange(6.0).reshape(3, 2) - 2, "x": np.array([1.0, -1.0])}
    text = explain(L, at)
    assert "  a = W @ x = [-1, -1, -1]   (shape (3,))" in section(text, "Forward pass")
    back = section(text, "Backward sweep")
    assert "  x.grad += ∂a/∂x applied to a.grad [g ↦ Wᵀ @ g] -> shape (2,) [8, 14]" in back
    assert "  e.grad += f.grad through ∂f/∂e [1 for each summed entry] -> shape (3,) [1, 1, 1]" \
        in back
    assert not any(ln.startswith("Paths") for ln in text.splitlines())  # no path view for arrays
    costs = section(text, "Forward mode vs reverse mode")
    assert "n = 8 inputs, m = 1 output" in costs[0]
    assert "reverse mode is cheaper here (7 vs 48)" in costs[3]
    # a non-scalar output without values: symbols and shapes, the seed explained
    text = explain(h)
    assert "  d.grad = ones(3,)   (the gradient of sum(d): d has 3 elements)" in text
    assert "  W   (variable, shape (3, 2))" in text


def test_forward_mode_wins_with_one_input_many_outputs():
    x = sd.var("x")
    f = sd.sin(x) * np.ones(4)
    costs = section(explain(f, {"x": 1.0}), "Forward mode vs reverse mode")
    assert "n = 1 input, m = 4 outputs" in costs[0]
    assert "forward mode is cheaper here (2 vs 8)" in costs[3]


def test_graph_that_needs_no_gradient():
    text = explain(sd.const(2.0) * 3)
    assert "  a = 2 * 3 = 6" in text
    assert "Backward sweep: none" in text


def test_large_graph_refused():
    x = sd.var("x")
    f = x
    for _ in range(100_000):
        f = f + 1.0
    t = time.perf_counter()
    with pytest.raises(GraphTooLargeError, match="explain: the graph has more than 200 nodes"):
        explain(f, {"x": 1.0})
    assert time.perf_counter() - t < 0.5
