"""Smoke test of the lowering-scale benchmark (benchmarks/lowering.py) on small graphs.

It checks what the benchmark claims besides its timings: both graph shapes are as deep as
they are long (far past the recursion limit), they lower and run, and the value and
gradient agree with the same recurrence on Python floats.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import lowering  # noqa: E402


def test_rows_agree_with_the_float_recurrence() -> None:
    rows = lowering.measure(sizes=(6000,), fresh=False)
    assert [r["shape"] for r in rows] == list(lowering.SHAPES)
    for r in rows:
        # deeper than the recursion limit: the walks are iterative
        assert r["nodes"] >= 6000 > sys.getrecursionlimit(), r
        assert r["agree"], r
        assert r["build"] > 0 and r["lower"] > 0 and r["call"] > 0, r
    text = lowering.report(rows)
    assert text.count("| yes |") == 2 and "| mixed | 6,001 |" in text
    assert all(r["cpu ratio"] > 0 for r in rows)


def test_chain_reference_is_the_graph() -> None:
    # the reference recurrence and the graph are one function: a small case by hand
    f, wrt = lowering.build("chain", 3)   # ((x*y) + x) * y
    x, y = lowering.X, lowering.Y
    value, grads = lowering.reference("chain", 3)
    assert value == (x * y + x) * y
    assert grads == [(y + 1) * y, 2 * x * y + x]
    assert [w.name for w in wrt] == ["x", "y"] and len(f.nodes()) == 5


def test_codegen_tradeoff_measures_equal_programs() -> None:
    c = lowering.codegen_tradeoff(400)
    assert c["lines"] > 0 and c["compile"] > 0 and c["interpreter"] > 0
    assert c["same"], c  # straight-line code and the interpreter: one answer
