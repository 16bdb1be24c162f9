"""Smoke test of the performance suite (benchmarks/run.py) in quick mode, in-process.

It checks the report's shape and correctness, never its timings: a row per workload,
every present peer's gradient equal to symdiff's, and absent peers reported as absent.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

# benchmarks/ is not an installed package: `python -m pytest` from the repo root finds it
# through the current directory, but plain `pytest` or a run from elsewhere would not
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import run, workloads  # noqa: E402


@pytest.fixture(scope="module")
def report() -> run.Report:
    # quick sizes, 2 samples, no memory subprocesses (those are exercised separately below)
    return run.run(quick=True, repeat=2, with_memory=False)


def test_a_row_per_workload(report: run.Report) -> None:
    text = report.text()
    assert "| workload | system |" in text
    for name in ("W1", "W2", "W3", "W4", "W5"):
        rows = [r for r in report.rows if r.workload.startswith(name + " ")]
        assert rows, name
        assert rows[0].system.startswith("symdiff") and rows[0].seconds > 0
        assert f"| {rows[0].workload} | {rows[0].system} |" in text
    # the targets appear with a computed verdict (whatever it is)
    assert any(r.target == "≤ 2 µs" and r.met is not None for r in report.rows)


def test_present_peers_match_symdiff(report: run.Report) -> None:
    assert report.mismatches == []
    assert "MISMATCH" not in report.text()
    compared = [r for r in report.rows if r.match is not None]
    assert any(r.system.startswith("numpy") for r in compared)
    assert any(r.system.startswith("SymPy") for r in compared)
    if importlib.util.find_spec("torch") is not None:
        assert any(r.system.startswith("PyTorch") and r.match for r in compared)


def test_absent_peers_are_reported_once(report: run.Report) -> None:
    text = report.text()
    for name, (module, how) in workloads.PEERS.items():
        line = f"peer {name}: absent ({how})"
        if importlib.util.find_spec(module) is None:
            assert name in report.absent
            assert text.count(line) == 1
        else:
            assert line not in text


def test_mismatch_is_loud() -> None:
    rep = run.Report(["h"], {}, [workloads.Row("W0 x", "peer", 1e-6, ratio=2.0, match=False)])
    assert "**MISMATCH**" in rep.text() and rep.mismatches


@pytest.mark.skipif(sys.platform == "win32", reason="resource is POSIX-only")
def test_memory_child_in_process() -> None:
    # the child's measurement itself, without a subprocess: symdiff and numpy at n = 1e4
    rows = workloads.mem_rows([workloads.memory_child("symdiff", 10**4),
                               workloads.memory_child("numpy", 10**4)], 10**4)
    assert [r.system for r in rows] == ["symdiff", "numpy"]
    assert all("tracemalloc" in r.value for r in rows)
