"""The domain scan counts only what f depends on (``lowering.domain.live_entries``).

An op outside its domain only in entries an untaken ``where`` branch computed, or at a
kink no derivative flows through (inside a condition), is not a problem of f: sd.check
and sd.verify would otherwise call a differentiable f "not differentiable here" (issue:
hardening, finding 5). What f does depend on is still reported.
"""
from __future__ import annotations

import numpy as np

import symdiff as sd
from symdiff.lowering.domain import domain_problems, live_entries, values_at
from symdiff.lowering.lower import bind, lower


def _problems(f, point):
    lowered = lower(f)
    value = values_at(lowered, bind(lowered, point, {}))
    return [(p.node.op, p.kind) for p in domain_problems(f.nodes(), value)]


def test_untaken_entries_are_not_problems_taken_ones_are():
    v = sd.var("v", (3,))
    f = sd.sum(sd.where(v > 0, sd.log(v), v))
    assert _problems(f, {"v": np.array([-1.0, 2.0, -3.0])}) == []
    f = sd.sum(sd.where(v > -2, sd.log(v), v))   # log(-1) is taken
    assert _problems(f, {"v": np.array([-1.0, 2.0, -3.0])}) == [("log", "outside")]
    # used elsewhere too: the entry counts
    f = sd.sum(sd.where(v > 0, sd.log(v), v)) + sd.sum(sd.log(v))
    assert _problems(f, {"v": np.array([-1.0, 2.0, 3.0])}) == [("log", "outside")]


def test_kinks_in_untaken_branches_and_in_conditions_do_not_count():
    x, y = sd.var("x"), sd.var("y")
    assert _problems(sd.where(y > 0, sd.relu(x), x), {"x": 0.0, "y": -1.0}) == []
    assert _problems(sd.where(sd.abs(x) > 0.5, x, -x), {"x": 0.0}) == []
    assert _problems(sd.step(sd.abs(x) - 1, 0.5) * y, {"x": 0.0, "y": 1.0}) == []
    # the condition's own jump does, and a kink in the branch taken
    assert _problems(sd.where(x > 0, x, -x), {"x": 0.0}) == [("greater", "kink")]
    assert _problems(sd.where(y > 0, sd.relu(x), x), {"x": 0.0, "y": 1.0}) == [("relu", "kink")]


def test_matmul_rows_and_columns():
    X, W = sd.var("X", (2, 2)), sd.var("W", (2, 3))
    f = sd.sum(sd.where(X[:, :1] > 0, sd.log(X) @ W, 0.0))
    assert _problems(f, {"X": np.array([[-1.0, 1.0], [1.0, 2.0]]), "W": np.ones((2, 3))}) == []
    assert _problems(f, {"X": np.array([[1.0, 1.0], [1.0, -2.0]]), "W": np.ones((2, 3))}) == \
        [("log", "outside")]


def test_live_masks():
    v = sd.var("v", (2,))
    r, a = sd.sqrt(v), sd.abs(v)
    f = sd.sum(sd.where(a > 1, r, 0.0))
    lowered = lower(f)
    live = live_entries(f.nodes(), values_at(lowered, bind(lowered, {"v": [-1.0, 4.0]}, {})))
    assert live[id(r)][0].tolist() == [False, True]
    assert live[id(r)][1].tolist() == [False, True]
    assert live[id(a)] == (True, False)     # read by the condition, not differentiated
    assert live[id(f)] == (True, True)
