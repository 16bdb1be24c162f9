"""Performance suite W1-W5: symdiff against its installed peers, on the CPU, in float64.

    python -m benchmarks [--quick] [--only W1,W3] [--repeat N] [--no-memory]

Prints a markdown table: per workload and system the median seconds per call, the ratio
peer time / symdiff time (> 1: symdiff is faster), whether the peer's gradient equals
symdiff's (np.allclose, rtol 1e-7), and the issue's target with whether it is met. Targets
are reported, never asserted. A gradient mismatch is printed as **MISMATCH** and makes the
command exit 1. The workloads themselves are in ``benchmarks/workloads.py``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from . import workloads as W
from .workloads import Config, Row, fmt_ratio, fmt_time


@dataclass
class Report:
    header: list[str]
    absent: dict[str, str]
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def mismatches(self) -> list[Row]:
        return [r for r in self.rows if r.match is False]

    def table(self) -> str:
        out = ["| workload | system | median / call | figure | peer / symdiff | grad | target "
               "| met? | note |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in self.rows:
            grad = {None: "", True: "ok", False: "**MISMATCH**"}[r.match]
            met = {None: "" if not r.target else "n/a", True: "yes", False: "**no**"}[r.met]
            out.append(f"| {r.workload} | {r.system} | {fmt_time(r.seconds)} | {r.value} | "
                       f"{fmt_ratio(r.ratio)} | {grad} | {r.target} | {met} | {r.note} |")
        return "\n".join(out)

    def text(self) -> str:
        lines = list(self.header)
        for name, how in self.absent.items():
            lines.append(f"peer {name}: absent ({how})")
        lines += ["", self.table(), ""]
        if self.mismatches:
            lines.append(f"**MISMATCH**: {len(self.mismatches)} peer gradient(s) differ from "
                         "symdiff's: " + ", ".join(f"{r.workload} / {r.system}"
                                                   for r in self.mismatches))
        lines.append(f"total {self.seconds:.1f} s")
        return "\n".join(lines)


def _version(mod: str) -> Optional[str]:
    try:
        from importlib.metadata import version
        return version(mod)
    except Exception:  # noqa: BLE001
        return None


def header(cfg: Config, peers: dict) -> list[str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import symdiff
    import sympy
    vers = [f"python {platform.python_version()}", f"numpy {np.__version__}",
            f"sympy {sympy.__version__}", f"symdiff {symdiff.__version__}"]
    for name, mod in peers.items():
        v = getattr(mod, "__version__", None) or _version(name)
        vers.append(f"{name} {v}")
    threads = ""
    if "torch" in peers:
        threads = f"; torch threads {peers['torch'].get_num_threads()}"
    return [f"date {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
            f"{platform.platform()}; {cpu}; {os.cpu_count()} CPUs{threads}",
            ", ".join(vers),
            f"mode {'quick' if cfg.quick else 'full'}; CPU, float64; median of up to "
            f"{cfg.repeat} samples per call after a warm-up (JIT peers compiled first); "
            "peer / symdiff > 1 means symdiff is faster; grad: peer's gradient vs symdiff's, "
            f"np.allclose rtol {W.RTOL:g}"]


def memory(n: int, systems: Sequence[str]) -> list[dict]:
    """Each system's W2 peak extra memory, each in a fresh interpreter
    (``python -m benchmarks --memory-child SYSTEM --n N``)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = []
    for s in systems:
        cmd = [sys.executable, "-m", "benchmarks", "--memory-child", s, "--n", str(n)]
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=root,
                               env=env)
            line = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
            out.append(json.loads(line) if p.returncode == 0 and line else
                       {"system": s, "error": (p.stderr.strip().splitlines() or ["?"])[-1]})
        except subprocess.TimeoutExpired:
            out.append({"system": s, "error": "timeout"})
    return out


def run(quick: bool = False, only: Optional[Sequence[str]] = None, repeat: Optional[int] = None,
        with_memory: bool = True, log=None) -> Report:
    t0 = time.perf_counter()
    cfg = Config(quick=quick, repeat=repeat or (3 if quick else 7),
                 budget=0.3 if quick else 1.5)
    peers, absent = W.load_peers()
    report = Report(header(cfg, peers), absent)
    chosen = [w.upper() for w in only] if only else list(W.WORKLOADS)
    for name in chosen:
        if name not in W.WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}; choose from {', '.join(W.WORKLOADS)}")
        if log:
            log(f"running {name} ...")
        report.rows += W.WORKLOADS[name](cfg, peers)
    if with_memory and "W2" in chosen:
        n = 10**5 if quick else 10**7
        systems = [s for s in W.MEMORY_SYSTEMS if s in ("symdiff", "numpy") or s in peers]
        if log:
            log(f"running W2 memory at n={n:.0e} ({', '.join(systems)}) ...")
        report.rows += W.mem_rows(memory(n, systems), n)
    report.seconds = time.perf_counter() - t0
    return report


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, fewer repeats (~30 s)")
    ap.add_argument("--only", help="comma-separated workloads, e.g. W1,W3")
    ap.add_argument("--repeat", type=int, help="samples per measurement (default 7; quick 3)")
    ap.add_argument("--no-memory", action="store_true", help="skip the W2 memory subprocesses")
    ap.add_argument("--memory-child", metavar="SYSTEM", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=10**7, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.memory_child:
        print(json.dumps(W.memory_child(a.memory_child, a.n)))
        return 0
    only = [s.strip() for s in a.only.split(",") if s.strip()] if a.only else None
    rep = run(a.quick, only, a.repeat, not a.no_memory,
              log=lambda m: print(m, file=sys.stderr, flush=True))
    print(rep.text())
    return 1 if rep.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
