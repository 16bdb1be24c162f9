"""Scale of lowering (issue 17, item 5): the time to build a large scalar graph, to lower
it (``sd.value_and_grad``, generated code included) and to call it once, side by side.

Two graph shapes, each a chain as deep as it is long (so every walk must be iterative):

* ``mixed``: ``f = sin(f)*0.5 + x`` and ``f = f*1.0001 + 0.1`` in turn, four nodes a step
  (the issue's script: 800,000 nodes at 200,000 steps);
* ``chain``: ``f = f + x`` and ``f = f * y`` in turn, one node a step, two variables.

Each (shape, size) runs in a fresh interpreter, so that one measurement's graph does not
weigh on the next one's garbage collections. The value and gradient are checked against
the same recurrence run on Python floats (``agree``). Times are wall-clock; the ratio of
lowering to building is also given in CPU time of the process, which the other work on a
shared machine disturbs less. ``--codegen`` adds the trade-off
behind ``numeric.codegen.MAX_LINES``: what generating straight-line code for a program
costs once, against what the interpreter costs per call.

    python -m benchmarks.lowering            # 100k, 400k and 800k nodes: about 2 min
    python -m benchmarks.lowering --quick    # 100k nodes: about 10 s
    python -m benchmarks.lowering --codegen  # the table, then the codegen trade-off
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import time
from typing import Any

SHAPES = ("mixed", "chain")
NODES_PER_STEP = {"mixed": 4, "chain": 1}
SIZES = (100_000, 400_000, 800_000)
X, Y = 0.3, 0.5


def build(shape: str, nodes: int) -> tuple[Any, list]:
    """The graph of ``shape`` with about ``nodes`` nodes, and its variables."""
    import symdiff as sd
    x, y = sd.var("x"), sd.var("y")
    f = x
    if shape == "mixed":
        for i in range(nodes // 4):
            f = sd.sin(f) * 0.5 + x if i % 2 else f * 1.0001 + 0.1
        return f, [x]
    for i in range(nodes):
        f = f + x if i % 2 else f * y
    return f, [x, y]


def reference(shape: str, nodes: int) -> tuple[float, list[float]]:
    """Value and gradient of the same recurrence on Python floats (forward mode)."""
    f, dx, dy = X, 1.0, 0.0
    if shape == "mixed":
        for i in range(nodes // 4):
            if i % 2:
                f, dx = math.sin(f) * 0.5 + X, math.cos(f) * 0.5 * dx + 1.0
            else:
                f, dx = f * 1.0001 + 0.1, dx * 1.0001
        return f, [dx]
    for i in range(nodes):
        if i % 2:
            f, dx = f + X, dx + 1.0
        else:
            f, dx, dy = f * Y, dx * Y, dy * Y + f
    return f, [dx, dy]


def measure_one(shape: str, nodes: int) -> dict:
    """Build, lower and first-call times (s) of one graph, in this process."""
    import symdiff as sd
    t, c = time.perf_counter(), time.process_time()
    f, wrt = build(shape, nodes)
    t_build, c_build = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    vg = sd.value_and_grad(f, wrt)
    t_lower, c_lower = time.perf_counter() - t, time.process_time() - c
    at = {"x": X, "y": Y}
    t = time.perf_counter()
    value, grads = vg(**{w.name: at[w.name] for w in wrt})
    t_call = time.perf_counter() - t
    ref_value, ref_grads = reference(shape, nodes)
    agree = all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
                for a, b in zip([value, *grads], [ref_value, *ref_grads]))
    program = vg.lowered.program
    return {"shape": shape, "nodes": len(f.nodes()), "build": t_build, "lower": t_lower,
            "call": t_call, "cpu ratio": c_lower / c_build, "agree": agree, "instructions": len(program._forward),
            "generated": program.compiled("scalar") is not None}


def measure(shapes: Any = SHAPES, sizes: Any = SIZES, fresh: bool = True) -> list[dict]:
    """One row per (shape, size); ``fresh``: each in a new interpreter."""
    rows = []
    for nodes in sizes:
        for shape in shapes:
            if not fresh:
                rows.append(measure_one(shape, nodes))
                continue
            out = subprocess.run([sys.executable, "-m", "benchmarks.lowering", "--one", shape,
                                  str(nodes)], capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  measured {shape} {nodes}", file=sys.stderr)
    return rows


def codegen_tradeoff(nodes: int) -> dict:
    """For a ``mixed`` graph of ``nodes`` nodes: generating and compiling its scalar code
    (with ``MAX_LINES`` lifted) against one call of the interpreter and of the code."""
    import numeric.codegen as cg
    import symdiff as sd
    f, wrt = build("mixed", nodes)
    program = sd.value_and_grad(f, wrt).lowered.program
    lines = len(program._forward) + len(program._backward)
    t = time.perf_counter()
    value, grads = program(X)
    t_interp = time.perf_counter() - t
    old, cg.MAX_LINES = cg.MAX_LINES, 10**12
    try:
        t = time.perf_counter()
        fn = program._compile("scalar")
        t_compile = time.perf_counter() - t
    finally:
        cg.MAX_LINES = old
    t = time.perf_counter()
    code_value, code_grads = fn(X)
    t_code = time.perf_counter() - t
    same = math.isclose(code_value, float(value), rel_tol=1e-12) and \
        math.isclose(code_grads[0], float(grads[0]), rel_tol=1e-12)
    return {"nodes": nodes, "lines": lines, "compile": t_compile, "interpreter": t_interp,
            "code": t_code, "calls to repay": t_compile / max(t_interp - t_code, 1e-12),
            "same": same}


def report(rows: list[dict]) -> str:
    out = ["| graph | nodes | build | lower | lower / build | (CPU time) | first call | agree |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        out.append(f"| {r['shape']} | {r['nodes']:,} | {r['build']:.2f} s | {r['lower']:.2f} s | "
                   f"{r['lower'] / r['build']:.2f} | {r['cpu ratio']:.2f} | {r['call']:.2f} s | "
                   f"{'yes' if r['agree'] else '**NO**'} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="100k nodes only")
    p.add_argument("--codegen", action="store_true",
                   help="also measure generated code against the interpreter")
    p.add_argument("--one", nargs=2, metavar=("SHAPE", "NODES"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one[0], int(args.one[1]))))
        return 0
    print(f"python {platform.python_version()}, {platform.platform()}; times in seconds, "
          "each graph in a fresh interpreter")
    rows = measure(sizes=SIZES[:1] if args.quick else SIZES)
    print(report(rows))
    if args.codegen:
        print("\n| nodes | lines | generate + compile | interpreter call | generated call | "
              "calls to repay |\n| ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in (20_000, 100_000):
            c = codegen_tradeoff(n)
            print(f"| {c['nodes']:,} | {c['lines']:,} | {c['compile']:.2f} s | "
                  f"{c['interpreter']:.3f} s | {c['code']:.4f} s | {c['calls to repay']:.0f} |")
    return 0 if all(r["agree"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
