"""Forward emission: the forward sweep of a generated array function, one line per step.

Each step calls the table's forward (params bound, a global of the generated code) on
its inputs' names, into the buffer ``plan.Buffers`` chose, and deletes what died there.
Imports ``numeric.codegen.plan`` and ``runtime`` only.

>>> import numpy as np
>>> from numeric import Program
>>> prog = Program([(3,)], [], [("sin", (0,), {}), ("exp", (1,), {}), ("sum", (2,), {})],
...                output=3, wrt=[0])
>>> print(prog.source("forward"))
def forward(args):
    a0, = args
    v1 = F0(a0)
    v2 = F1(v1, out=v1)
    v3 = F2(v2)
    del v2
    return v3
"""
from __future__ import annotations

from typing import Any

from numeric.codegen.plan import Buffers, Liveness
from numeric.codegen.runtime import Namespace, bind


def header(p: Any, mode: str, name: dict) -> list[str]:
    """The ``def`` line of the function for ``mode`` and the unpacking of its inputs."""
    lines = ["def {fn}(args{seed}):".format(fn=mode, seed="" if mode == "forward" else ", seed")]
    if p.n_inputs:
        lines.append("    " + ", ".join(name[s] for s in range(p.n_inputs)) + (
            ", = args" if p.n_inputs == 1 else " = args"))
    return lines


def emit_forward(live: Liveness, buffers: Buffers, space: Namespace, name: dict) -> list[str]:
    """The lines of the forward sweep (``name`` gains each computed slot's local)."""
    lines = []
    differentiated = {b[0] for b in live.backward}
    for t, (slot, row, ins, params) in enumerate(live.forward):
        args = ", ".join(name[i] for i in ins)
        name[slot] = f"v{slot}"
        if row.name == "fused_sum" and slot in differentiated:
            # a fused group ending in a reduction: its value and its gradients in one pass
            # (numeric.fusion.kernel); its VJPs read those gradients
            fn = space.add("F", row.kernel.both)
            buffers.forward_target(t, slot, row, ins, params)
            buffers.out_name[slot] = f"u{slot}"
            lines.append(f"    v{slot}, u{slot} = {fn}({args})")
            lines.extend(f"    del {name[s]}" for s in buffers.release(t))
            continue
        fn = space.add("F", bind(row.forward, params))
        target = buffers.forward_target(t, slot, row, ins, params)
        out = f", out={target}" if target is not None else ""
        lines.append(f"    v{slot} = {fn}({args}{out})")
        lines.extend(f"    del {name[s]}" for s in buffers.release(t))
    buffers.end_forward()
    return lines


def forward_return(p: Any, name: dict) -> str:
    """The last line of a forward-only function: the value, never aliasing an input."""
    return (f"    return _own({name[p.output]}, {{id(a) for a in args}})"
            if p.shapes[p.output] else f"    return {name[p.output]}")
