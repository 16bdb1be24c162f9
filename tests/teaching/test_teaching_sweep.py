"""One numeric sweep: the teaching pictures read the lowered program's own reverse sweep
(Program.sweep_steps), lowered with one slot per node (lower(merge=False)) in the order
explain prints the sweep (lower(order=...))."""
import numpy as np
import pytest

import symdiff as sd
from numeric import NumericShapeError, Program
from symdiff.lowering.lower import lower
from symdiff.teaching.analysis import analyze
from symdiff.teaching.labels import fmt


# ---- Program.sweep_steps -----------------------------------------------------------------

def test_sweep_steps_reports_values_steps_and_cotangents():
    # f(x, y) = sin(x) * y + x
    prog = Program([(), ()], [], [("sin", (0,), {}), ("mul", (2, 1), {}), ("add", (3, 0), {})],
                   output=4, wrt=[0, 1], optimize=False)
    run = prog.sweep_steps(0.5, 2.0)
    assert float(run.values[4]) == pytest.approx(np.sin(0.5) * 2 + 0.5)
    assert [(s.slot, s.j, s.input) for s in run.steps] == [
        (4, 0, 3), (4, 1, 0), (3, 0, 2), (3, 1, 1), (2, 0, 0)]
    by = {(s.slot, s.j): float(s.contribution) for s in run.steps}
    assert by[3, 1] == pytest.approx(np.sin(0.5)) and by[2, 0] == pytest.approx(2 * np.cos(0.5))
    value, grads = prog(0.5, 2.0)
    assert float(run.values[4]) == float(value)
    assert [float(run.cotangents[w]) for w in (0, 1)] == [float(g) for g in grads]


def test_sweep_steps_sums_contributions_back_to_the_input_shape_and_takes_a_seed():
    # f(x, b) = x + b with b broadcast: b's contribution is summed to shape ()
    prog = Program([(3,), ()], [], [("add", (0, 1), {})], output=2, wrt=[0, 1])
    run = prog.sweep_steps(np.arange(3.0), 1.0, cotangent=[1.0, 2.0, 3.0])
    (s0, s1) = run.steps
    assert s0.contribution.tolist() == [1.0, 2.0, 3.0]
    assert np.shape(s1.contribution) == () and float(s1.contribution) == 6.0
    with pytest.raises(NumericShapeError, match="cotangent"):
        prog.sweep_steps(np.arange(3.0), 1.0, cotangent=[1.0])


def test_sweep_steps_gives_the_same_gradients_as_a_call():
    x, y = sd.var("x"), sd.var("y")
    f = sd.exp(sd.sin(x) * y) / (x + y**2) - sd.tanh(x * y) * (x * y)
    lowered = lower(f, [x, y], optimize=False)
    run = lowered.program.sweep_steps(0.7, -1.3)
    _, grads = lowered.program(0.7, -1.3)
    assert [float(run.cotangents[s]) for s in lowered.program.wrt] == [float(g) for g in grads]


# ---- lower(merge=False, order=...) ------------------------------------------------------

def test_merge_false_gives_equal_products_their_own_slots():
    x, y = sd.var("x"), sd.var("y")
    p, q = x * y, x * y
    f = p + q
    merged = lower(f, [x, y])
    assert merged.slots[id(p)] == merged.slots[id(q)]
    apart = lower(f, [x, y], merge=False)
    assert apart.slots[id(p)] != apart.slots[id(q)]
    run = apart.program.sweep_steps(2.0, 3.0)
    assert float(run.cotangents[apart.slots[id(p)]]) == 1.0
    assert float(run.cotangents[apart.slots[id(q)]]) == 1.0
    assert float(run.cotangents[apart.slots[id(x)]]) == 6.0


def test_order_sets_the_instruction_order_and_is_checked():
    x = sd.var("x")
    a, b = sd.sin(x), sd.cos(x)
    f = a * b
    default = lower(f, [x], optimize=False)
    assert default.slots[id(a)] < default.slots[id(b)]
    swapped = lower(f, [x], optimize=False, order=[b, a, f])
    assert swapped.slots[id(b)] < swapped.slots[id(a)]
    assert swapped.program(0.3)[1][0] == pytest.approx(default.program(0.3)[1][0])
    with pytest.raises(sd.SymdiffError, match="after its arguments"):
        lower(f, [x], order=[f, a, b])
    with pytest.raises(sd.SymdiffError, match="after its arguments"):
        lower(f, [x], order=[a, b, sd.exp(x), f])
    with pytest.raises(sd.SymdiffError, match="interior nodes"):
        lower(f, [x], order=[a, b])


# ---- the teaching analysis reads that sweep ----------------------------------------------

def test_two_equal_products_are_two_nodes_each_with_its_own_gradient():
    x, y = sd.var("x"), sd.var("y")
    p, q = x * y, x * y
    f = p + q
    at = {"x": 2.0, "y": 3.0}
    info = analyze(f, at)
    assert float(info.grads[id(p)]) == 1.0 and float(info.grads[id(q)]) == 1.0
    assert float(info.grads[id(x)]) == 6.0 and float(info.grads[id(y)]) == 4.0
    into_x = [float(e.contribution) for e in info.edges if e.parent is x]
    assert into_x == [3.0, 3.0]
    text = sd.to_dot(f, at=at)
    assert "a = x * y\\nvalue 6\\ngrad 1" in text and "b = x * y\\nvalue 6\\ngrad 1" in text
    lines = sd.explain(f, at=at).splitlines()
    assert "  x.grad += b.grad * ∂b/∂x = 1 * 3 = 6   (3 + 3)" in lines
    assert "Gradients: x.grad = 6, y.grad = 4" in lines


def test_running_totals_end_on_the_gradient_shown():
    # three contributions to x that round differently in another order: the program sums
    # them in the order explain prints them
    x = sd.var("x")
    f = x * 0.1 + (x * 0.2 + x * (-0.3))
    lines = [ln for ln in sd.explain(f, at={"x": 1.0}).splitlines() if "x.grad" in ln]
    last_total = lines[-2].split("   (")[0].rsplit(" = ", 1)[1]
    assert lines[-1] == f"Gradients: x.grad = {last_total}"
    info = analyze(f, {"x": 1.0})
    total = None
    for e in [e for n in info.reverse for e in info.edges if e.child is n and e.parent is x]:
        total = e.contribution if total is None else total + e.contribution
    assert fmt(total) == fmt(info.grads[id(x)]) and float(total) == float(info.grads[id(x)])
