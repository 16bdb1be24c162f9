"""Finding fusion groups: connected elementwise ops over arrays of one shape, each ending
in a full ``sum``/``mean`` or in an array that something else reads.

A group is grown from its root, the last op of the group in program order, back through
its inputs: an input joins when it is an elementwise op on the group's shape (or on 0-d
values broadcast to it) whose readers are all in the group already, so its value never
has to exist outside a chunk. What stays outside is an *external*: an input, a constant,
or a value some other op reads. The root becomes one instruction (``kernel.fused_row``);
the interior becomes dead code, which ``Program`` drops.

When an array-valued group is also differentiated, its backward pass recomputes the
interior's forward values chunk by chunk instead of storing them. ``recompute_cheaper``
decides: storing an interior value costs a write in the forward sweep and a read in the
backward one, about ``STORE_NS`` per element at memory speed; recomputing it costs the op
again (``OP_NS``, measured on this kind of machine per element). The group is fused when
the recomputation costs no more than the stores it saves. Groups ending in a reduction
never face the choice: their gradient is computed in the same pass as their value.

Imports numpy and ``numeric.masking`` / ``numeric.fusion.kernel`` only.
"""
from __future__ import annotations

import heapq
import math
from typing import Any, Optional, Sequence

import numpy as np

from ..masking import masked_slots
from ..sweeps import live_for
from .costs import op_ns
from .kernel import Kernel, fused_row

MIN_ELEMENTS = 1 << 15
"""Arrays smaller than this are not fused: a numpy call per op and chunk costs more than
the passes over memory it saves (tests lower it to fuse small arrays)."""

STORE_NS = 2.0
"""Cost of storing an interior value and reading it back, per element (16 bytes at the
few GB/s one core streams from memory)."""

def recompute_cheaper(ops: Sequence[tuple], compiled: bool) -> bool:
    """True when recomputing the interior ``ops`` (``(row, ins, params)``, the root last)
    costs no more than storing their values for the backward sweep."""
    interior = ops[:-1]
    cost = sum(op_ns(row, params, compiled) for row, ins, params in interior)
    return cost <= STORE_NS * len(interior)


def _full_reduction(row: Any, params: dict) -> bool:
    return row.name in ("sum", "mean") and params.get("axis") is None and \
        not params.get("keepdims", False)


def fuse_groups(n_inputs: int, constants: Sequence[Any], rows: list, shapes: Sequence[tuple],
                keep: Sequence[int], wrt: Sequence[int], threads: Optional[int],
                compiled: bool) -> tuple[list, list, Optional[list]]:
    """Replace each fusion group by one fused instruction at its root.

    Returns the new rows (same length), the kernels made, and the masked flags of the rows
    before fusion (``numeric.masking``; None without a ``where``), which the program must
    use for the ops outside the groups: a ``where`` inside a group still puts exact zeros
    into the cotangents of its externals."""
    base = n_inputs + len(constants)
    n = len(shapes)
    has_where = any(row.name == "where" for row, _, _ in rows)
    masked = masked_slots(n_inputs, rows, base, n) if has_where else None
    if not any(row.kind == "elementwise" and math.prod(shapes[base + k]) >= MIN_ELEMENTS
               for k, (row, ins, params) in enumerate(rows)):
        return rows, [], masked

    # only live ops (earlier rewrites, such as polynomial fusion, leave dead code behind)
    live = live_for(rows, base, n, keep)
    readers: list[list[int]] = [[] for _ in range(n)]
    for k, (row, ins, params) in enumerate(rows):
        if not live[base + k]:
            continue
        for i in set(ins):
            readers[i].append(base + k)
    kept = set(keep)
    varies = [False] * n
    for w in wrt:
        varies[w] = True
    for k, (row, ins, _) in enumerate(rows):
        varies[base + k] = any(varies[i] and row.vjp[j] is not None for j, i in enumerate(ins))
    dtype = {s: "float64" for s in range(n_inputs)}
    for j, c in enumerate(constants):
        dtype[n_inputs + j] = "float64" if np.asarray(c).dtype == np.float64 else "other"
    for k, (row, ins, params) in enumerate(rows):
        dtype[base + k] = row.dtype

    def fusable(s: int, shape: tuple) -> bool:
        if s < base:
            return False
        row, ins, params = rows[s - base]
        return (row.kind == "elementwise" and tuple(shapes[s]) == shape and
                all(tuple(shapes[i]) in (shape, ()) for i in ins))

    taken: set[int] = set()
    out = list(rows)
    kernels = []
    for k in range(len(rows) - 1, -1, -1):
        s = base + k
        if s in taken or not live[s]:
            continue
        row, ins, params = rows[k]
        reduce = None
        if _full_reduction(row, params) and ins[0] >= base and ins[0] not in kept and \
                readers[ins[0]] == [s]:
            start, reduce = ins[0], row.name
        else:
            start = s
        shape = tuple(shapes[start])
        if math.prod(shape) < MIN_ELEMENTS or not fusable(start, shape) or \
                (masked is not None and masked[s]) or start in taken:
            continue
        members = {start}
        heap = [-i for i in set(rows[start - base][1])]
        heapq.heapify(heap)
        while heap:
            i = -heapq.heappop(heap)
            if i in members or i in taken or i in kept or not fusable(i, shape):
                continue
            if all(r in members for r in readers[i]):
                members.add(i)
                for j in set(rows[i - base][1]):
                    heapq.heappush(heap, -j)
        order = sorted(members)
        if len(order) + (reduce is not None) < 2:
            continue
        ops = [rows[m - base] for m in order]
        if reduce is None and varies[start] and not recompute_cheaper(ops, compiled):
            continue
        kernel = Kernel.build(order, ops, shapes, dtype, varies, masked, reduce,
                              rows[k][2] if reduce else {}, threads, compiled)
        ext = kernel.externals
        out[k] = (fused_row(kernel, [tuple(shapes[i]) for i in ext], tuple(shapes[s])),
                  tuple(ext), {})
        taken.update(members)
        kernels.append(kernel)
    return out, kernels, masked
