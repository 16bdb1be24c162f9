"""Smoke test of the formula-quality table (benchmarks/quality.py) in quick mode: a row per
case, every printed gradient reads back and verifies, every textbook form verifies."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import quality  # noqa: E402


def test_quick_table():
    rows = quality.measure(quick=True)
    assert len(rows) == 8
    assert all(r["reads_back"] and r["textbook_ok"] is True for r in rows)
    text = quality.report(rows)
    assert "within 1.25x of the textbook's length: " in text and "| a.T X b | `a*b.T`" in text
