"""Buffer planning for the generated array code, decided once when the code is written.

``liveness`` says which forward values a call computes (those the outputs or the backward
sweep read) and when each is read for the last time. ``Buffers`` then follows the
emission step by step and says where each value and cotangent goes:

* a numpy ufunc (or fused polynomial) writes into a buffer of the same shape that this
  call allocated and no longer needs (the pool), often its own dying input;
* a forward value the backward sweep reads, and a backward temporary, goes into a
  per-thread buffer kept from call to call (the arena), up to ``ARENA_MAX_BYTES``;
* a value is deleted after its last read; the pool's leftovers are handed to the backward
  sweep's VJPs to write into (``spare``), the others let go before it allocates.

Inputs, constants and results handed to the caller are never written. Imports numpy and
``numeric.codegen.rules``.

>>> import numpy as np
>>> from numeric import Program
>>> prog = Program([(3,)], [], [("sin", (0,), {}), ("exp", (1,), {}), ("sum", (2,), {})],
...                output=3, wrt=[0])
>>> live = liveness(prog, "grad")  # the gradient only: the final sum is not computed
>>> [row.name for slot, row, ins, params in live.forward]
['sin', 'exp']
>>> live.last  # steps 0-1 forward, then the VJPs of sum (2), exp (3) and sin (4)
{0: 4, 1: 3, 2: 3}
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from numeric.codegen.rules import rule_for

ARENA_MAX_BYTES = 32 * 2**20
"""Forward values the backward sweep reads, and backward temporaries, up to this size are
kept per thread from one call to the next, as a caching allocator would; larger ones
(which the C allocator maps and unmaps anyway) are not."""


def writes_out(row: Any, params: dict) -> bool:
    """True when the row's forward takes ``out=`` (a one-output ufunc without params, or a
    forward marked ``supports_out``)."""
    f = row.forward
    return (isinstance(f, np.ufunc) and f.nout == 1 and not params) or \
        getattr(f, "supports_out", False)


def static_dtypes(p: Any) -> dict:
    """Static dtype of the slots where it is known (inputs, constants, ufunc results)."""
    dt: dict[int, Any] = {s: np.dtype(np.float64) for s in range(p.n_inputs)}
    for j, c in enumerate(p.constants):
        dt[p.n_inputs + j] = c.dtype
    for slot, value in p.folded.items():
        dt[slot] = np.asarray(value).dtype
    for slot, row, ins, params in p._forward:
        ins_dt = [dt.get(i) for i in ins]
        if row.dtype == "bool":
            dt[slot] = np.dtype(bool)
        elif any(d is None for d in ins_dt):
            continue
        elif writes_out(row, params):
            try:
                # size-1 stand-ins with the inputs' dimensions (matmul needs them)
                dummy = [np.ones((1,) * len(p.shapes[i]), d) for i, d in zip(ins, ins_dt)]
                with np.errstate(all="ignore"):
                    dt[slot] = np.asarray(row.forward(*dummy, **params)).dtype
            except Exception:  # noqa: BLE001 - unknown: no buffer reuse for it
                continue
        elif all(d == np.float64 for d in ins_dt):
            dt[slot] = np.dtype(np.float64)
    return dt


@dataclass
class Liveness:
    """What one generated function computes, and when each value is read last.

    forward   the forward instructions ``(slot, row, ins, params)`` the call runs.
    backward  the program's backward entries (none in mode ``"forward"``).
    reads     per backward entry: (reads ``out``?, the input slots its VJPs read).
    last      slot -> step of its last read: forward steps ``0 .. len(forward)-1``, then
              one per backward entry; ``inf`` for the slots the caller keeps.
    keep      the slots whose values the function returns.
    """

    forward: list
    backward: list
    reads: list
    last: dict
    keep: set


def liveness(p: Any, mode: str) -> Liveness:
    """Which forward values the function for ``mode`` needs (by its outputs, and by the
    backward sweep), and the step at which each is read for the last time."""
    backward = p._backward if mode != "forward" else []
    keep = set(p.retain) | ({p.output} if mode != "grad" else set())
    needed = set(keep)
    reads: list[tuple] = []
    for slot, row, ins, params, steps in backward:
        rule = rule_for(row)
        r_out = rule.vjp_reads_out
        r_ins = tuple(ins) if rule.vjp_reads_inputs else ()
        reads.append((r_out, r_ins))
        if r_out:
            needed.add(slot)
        needed.update(r_ins)
    forward = []
    for slot, row, ins, params in reversed(p._forward):
        if slot in needed:
            forward.append((slot, row, ins, params))
            needed.update(ins)
    forward.reverse()

    last: dict[int, float] = {}
    for t, (slot, row, ins, params) in enumerate(forward):
        for i in ins:
            last[i] = t
    for b, (r_out, r_ins) in enumerate(reads):
        t = len(forward) + b
        if r_out:
            last[backward[b][0]] = t
        for i in r_ins:
            last[i] = t
    for s in keep:
        last[s] = math.inf
    # a row that moves entries (sparsity "selection": transpose, reshape, index,
    # broadcast_to) may answer with a view of its input: the input's buffer then lives as
    # long as the view does
    for slot, row, ins, params in reversed(forward):
        if row.sparsity == "selection" and slot in last:
            for i in ins:
                last[i] = max(last.get(i, -1), last[slot])
    return Liveness(forward, backward, reads, last, keep)


class Buffers:
    """The buffers of one generated function, followed step by step as it is written.

    owned     slots whose buffer this call allocated as float64 (its own to overwrite).
    pool      shape -> owned slots that died in the forward sweep, free to write into.
    arena     shapes of the per-thread buffers (``_A[k]``) kept from call to call.
    in_arena  slots whose buffer is one of them.
    spare     after the forward sweep: the pool's leftovers, for VJPs to write into.

    ``name`` is the emitter's slot -> expression map (shared, filled as it writes).
    """

    def __init__(self, p: Any, live: Liveness, name: dict) -> None:
        self.p, self.live, self.name = p, live, name
        self.dtypes = static_dtypes(p)
        self.owned: set[int] = set()
        self.pool: dict[tuple, list[int]] = {}
        self.arena: list[tuple] = []
        self.in_arena: set[int] = set()
        self.spare: dict[tuple, list[int]] = {}
        self.freed: set[int] = set()
        self.out_name: dict[int, str] = {}  # slot -> what its VJPs get as ``out``, if not its value
        self._reuse: Optional[int] = None
        self._dead_after: dict[float, list[int]] = {}
        for s, t in live.last.items():
            if s >= p.n_inputs + len(p.constants) and s not in p.folded:
                self._dead_after.setdefault(t, []).append(s)

    def forward_target(self, t: int, slot: int, row: Any, ins: tuple,
                       params: dict) -> Optional[str]:
        """The ``out=`` buffer forward step ``t`` writes ``slot`` into, or None for a
        fresh array (call ``release(t)`` after writing the step)."""
        shapes, dtypes, name = self.p.shapes, self.dtypes, self.name
        shape = shapes[slot]
        reuse = None
        if (len(shape) >= 1 and dtypes.get(slot) == np.float64 and writes_out(row, params)
                and all(dtypes.get(i) is not None for i in ins)):
            self.owned.add(slot)
            # an elementwise ufunc (one pass) may write over its own dying input; others
            # (matmul; a fused polynomial, which reads its input at every step) only into
            # a buffer no input of theirs shares
            one_pass = row.kind == "elementwise" and isinstance(row.forward, np.ufunc)
            for i in ins if one_pass else ():
                if i in self.owned and self.live.last.get(i) == t and shapes[i] == shape:
                    reuse = i
                    break
            if reuse is None and self.pool.get(shape):
                reuse = self.pool[shape].pop()
        target = None
        if slot in self.live.keep:
            reuse = None  # a result the caller keeps: a buffer of its own
        elif reuse is not None:
            target = name[reuse]
            if reuse in self.in_arena:
                self.in_arena.add(slot)
        elif (slot in self.owned and self.live.last.get(slot, -1) >= len(self.live.forward)
              and 8 * math.prod(shape) <= ARENA_MAX_BYTES):
            # kept for the backward sweep: a thread buffer. A temporary that dies in the
            # forward sweep is freed instead, and the allocator hands its memory to the
            # backward sweep's new arrays (W2: holding it made the gradient's fresh
            # buffer fault its pages in on every call, 1.45x slower)
            target = f"_A[{len(self.arena)}]"
            self.arena.append(shape)
            self.in_arena.add(slot)
        self._reuse = reuse
        return target

    def release(self, t: int) -> list[int]:
        """After forward step ``t``: the values that died there and must be deleted (the
        owned ones go to the pool instead, the buffer just reused stays)."""
        reuse, dels = self._reuse, []
        for s in self._dead_after.pop(t, []):
            if s == reuse:
                continue
            if s in self.owned:
                self.pool.setdefault(self.p.shapes[s], []).append(s)
            else:
                dels.append(s)
        if reuse is not None:
            for lst in self.pool.values():
                if reuse in lst:
                    lst.remove(reuse)
        return dels

    def end_forward(self) -> None:
        """The pool's dead buffers become ``spare``: the backward sweep's VJPs may write
        into them (as hand-written code reuses its value buffer for the gradient); the
        others are let go before the backward sweep allocates (``spare_slots``)."""
        self.spare = {shape: [s for s in lst] for shape, lst in self.pool.items() if lst}

    def spare_slots(self) -> list[int]:
        """The spare buffers no VJP took, to delete at the end of the forward sweep."""
        return [s for lst in self.spare.values() for s in lst]

    def release_backward(self, t: int) -> list[int]:
        """After backward step ``t``: the forward values read there for the last time."""
        dels = []
        for s in self._dead_after.pop(t, []):
            if s in self.name and s not in self.freed:
                dels.append(s)
                self.freed.add(s)
        return dels

    def cotangent_target(self, row: Any, slot: int, i: int, over_g: bool, first: bool,
                         g: str) -> Optional[str]:
        """The buffer a VJP writes its cotangent for input ``i`` into, if any: the dying
        cotangent ``g`` itself (an elementwise row's last step, ``g`` exclusively ours), a
        forward buffer that died in the forward sweep, or a per-thread buffer (neither of
        the last two per-thread for a cotangent handed back to the caller)."""
        p = self.p
        shape = p.shapes[i]
        if not rule_for(row).vjp_out or not first or not shape:
            return None
        if row.kind == "elementwise":
            if p.shapes[slot] != shape:
                return None  # the VJP's result is the output's shape: it is unbroadcast after
            if over_g:
                return g
        handed_back = i in p.wrt or i in p.retain
        for s in self.spare.get(shape, ()):
            if not (handed_back and s in self.in_arena):
                self.spare[shape].remove(s)
                return self.name[s]
        if handed_back or 8 * math.prod(shape) > ARENA_MAX_BYTES:
            return None
        self.arena.append(shape)
        return f"_A[{len(self.arena) - 1}]"
