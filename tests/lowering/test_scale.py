"""Lowering large graphs: what the speed-ups rely on keeps its promises (the collector is
left as it was found, user-frozen objects stay frozen, a walked graph lowers to the same
program as a fresh walk). Timings are the benchmark's (benchmarks/lowering.py), not here."""
from __future__ import annotations

import gc

import pytest

import symdiff as sd
from symdiff.budget import gc_paused
from symdiff.graph.walks import topological
from symdiff.lowering.lower import lower, lower_nodes


def _chain(steps: int):
    x, y = sd.var("x"), sd.var("y")
    f = x
    for i in range(steps):
        f = f + x if i % 2 else f * y
    return f, x, y


def test_promote_moves_young_objects_to_the_oldest_generation():
    assert gc.isenabled()
    with gc_paused(10**6, promote=True):
        kept = [(i, [i]) for i in range(5000)]  # tracked objects that outlive the pause
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_count()[0] < 100 and gc.get_freeze_count() == 0
    assert len(kept) == 5000


def test_promote_leaves_objects_someone_else_froze_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with gc_paused(10**6, promote=True):
            pass
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()


def test_collector_state_is_restored_after_lowering():
    f, x, y = _chain(5000)
    vg = sd.value_and_grad(f, [x, y])
    assert gc.isenabled()
    gc.disable()
    try:
        sd.value_and_grad(f, [x, y])
        assert not gc.isenabled()  # a caller's pause is not ended by lowering
    finally:
        gc.enable()
    value, (dx, dy) = vg(x=0.5, y=0.5)
    assert value == pytest.approx(0.5 * 0.5 / (1 - 0.5) + 0.5, rel=1e-9)  # the fixed point


def test_lower_nodes_is_lower_on_a_walked_graph():
    f, x, y = _chain(300)
    a = lower(f, [x, y]).program
    b = lower_nodes(topological([f]), f, [x, y]).program
    assert a.source("scalar") == b.source("scalar")
    assert a(0.3, 0.7) == b(0.3, 0.7)


def test_values_shows_every_node_when_nothing_was_fused():
    # the unfused rows are rebuilt from the forward sweep and the folded instructions
    x = sd.var("x")
    two = sd.const(1.0) + 1.0          # folded: constants only
    f = sd.sin(x) * two + x
    lowered = lower(f, [x])
    vals = lowered.program.values(0.5)
    assert vals[lowered.slots[id(two)]] == 2.0
    assert vals[lowered.slots[id(f)]] == pytest.approx(2 * 0.479425538604203 + 0.5)
