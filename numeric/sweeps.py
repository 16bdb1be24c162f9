"""The passes that plan a ``Program``'s two sweeps from its instructions, once.

``read_rows`` checks each instruction and infers its shape; ``varies`` marks the slots
that depend on a ``wrt`` input (they need a cotangent); ``backward_steps`` finds the live
slots (dead-code elimination) and lists the reverse sweep's steps in one backward pass;
``forward_steps`` folds the instructions on constants only and lists the forward sweep.

They run once per instruction of programs of 10**6 instructions (``sd.value_and_grad`` of
a 800,000-node graph), so they are plain loops over locals with the one- and two-input
cases written out: no generator, comprehension or function call per instruction where a
tuple unpacking does, and a shape rule asked once per (op, input shapes). Imports numpy,
``numeric.masking`` and ``numeric.primitives``.

>>> shapes = [()]
>>> rows, names = read_rows([("sin", (0,), {}), ("mul", (1, 0), {})], shapes, 1)
>>> shapes, sorted(names)
([(), (), ()], ['mul', 'sin'])
>>> flags = varies(rows, [0], 1, 3)
>>> live, steps = backward_steps(rows, 1, 3, [2], flags, None, shapes)
>>> [(slot, [(j, i) for j, i, _, _ in s]) for slot, _, _, _, s in steps]
[(2, [(0, 1), (1, 0)]), (1, [(0, 0)])]
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .masking import keep_zeros
from .primitives import PRIMITIVES


def read_rows(instructions: Sequence[tuple], shapes: list, base: int) -> tuple[list, set]:
    """``(row, input slots, params)`` per instruction, each checked (a known primitive,
    its number of inputs, inputs already computed) and its shape appended to ``shapes``
    (which holds the inputs' and constants' shapes: ``base`` of them). Also returns the
    names of the primitives used."""
    rows: list = []
    add_row, add_shape = rows.append, shapes.append
    memo: dict = {}
    names: set = set()
    for k, (name, ins, params) in enumerate(instructions):
        row = PRIMITIVES.get(name)
        if row is None:
            raise KeyError(f"instruction {k}: unknown primitive {name!r}")
        arity, limit = len(ins), base + k
        if arity != row.arity:
            raise ValueError(f"instruction {k}: {name} takes {row.arity} inputs, got {arity}")
        if arity == 2:
            a, b = ins
            if not (0 <= a < limit and 0 <= b < limit):
                raise _unready(k, name, ins)
            key: tuple = (name, shapes[a], shapes[b])
        elif arity == 1:
            a, = ins
            if not 0 <= a < limit:
                raise _unready(k, name, ins)
            key = (name, shapes[a])
        else:
            if ins and (min(ins) < 0 or max(ins) >= limit):
                raise _unready(k, name, ins)
            key = (name, *[shapes[i] for i in ins])
        if params:
            names.add(name)
            add_shape(tuple(row.shape(*key[1:], **params)))
            add_row((row, tuple(ins), dict(params)))
            continue
        shape = memo.get(key)
        if shape is None:  # a shape rule is a function of the shapes (and params) only
            names.add(name)
            shape = memo[key] = tuple(row.shape(*key[1:]))
        add_shape(shape)
        add_row((row, tuple(ins), {}))
    return rows, names


def _unready(k: int, name: str, ins: Any) -> ValueError:
    return ValueError(f"instruction {k}: {name} reads a slot not yet computed: {ins}")


def live_for(rows: list, base: int, n: int, outputs: Sequence[int]) -> list:
    """Per slot: whether ``outputs`` depend on it."""
    live = [False] * n
    for s in outputs:
        live[s] = True
    for k in range(len(rows) - 1, -1, -1):
        if live[base + k]:
            for i in rows[k][1]:
                live[i] = True
    return live


def varies(rows: list, wrt: Sequence[int], base: int, n: int) -> list:
    """Per slot: whether it depends on a ``wrt`` input through VJPs that exist."""
    flags = [False] * n
    for w in wrt:
        flags[w] = True
    slot = base
    for row, ins, _ in rows:
        vjp = row.vjp
        if len(ins) == 2:
            a, b = ins
            flags[slot] = (flags[a] and vjp[0] is not None) or (flags[b] and vjp[1] is not None)
        else:
            for j, i in enumerate(ins):
                if flags[i] and vjp[j] is not None:
                    flags[slot] = True
                    break
        slot += 1
    return flags


def backward_steps(rows: list, base: int, n: int, outputs: Sequence[int], flags: list,
                   masked: Optional[list], shapes: Sequence[tuple]) -> tuple[list, list]:
    """The live slots, and the reverse sweep: ``(slot, row, ins, params, steps)`` for each
    live slot that varies, last first, ``steps`` holding ``(j, input slot, VJP, input
    shape)`` per input that varies (the VJPs that keep zeros below a ``where`` for the
    ``masked`` slots). One backward pass: a slot's liveness is final when it is reached,
    since every reader comes after it."""
    live = [False] * n
    for s in outputs:
        live[s] = True
    backward: list = []
    add = backward.append
    for k in range(len(rows) - 1, -1, -1):
        slot = base + k
        if not live[slot]:
            continue
        row, ins, params = rows[k]
        if len(ins) == 2:
            a, b = ins
            live[a] = live[b] = True
        else:
            for i in ins:
                live[i] = True
        if not flags[slot]:
            continue
        vjp = row.vjp if masked is None or not masked[slot] else \
            [keep_zeros(row, j) for j in range(row.arity)]
        if len(ins) == 2:
            if flags[a] and vjp[0] is not None:
                steps: tuple = ((0, a, vjp[0], shapes[a]), (1, b, vjp[1], shapes[b])) \
                    if flags[b] and vjp[1] is not None else ((0, a, vjp[0], shapes[a]),)
            else:
                steps = ((1, b, vjp[1], shapes[b]),) if flags[b] and vjp[1] is not None else ()
        elif len(ins) == 1:
            a = ins[0]
            steps = ((0, a, vjp[0], shapes[a]),) if flags[a] and vjp[0] is not None else ()
        else:
            steps = tuple([(j, i, vjp[j], shapes[i]) for j, i in enumerate(ins)
                           if flags[i] and vjp[j] is not None])
        add((slot, row, ins, params, steps))
    return live, backward


def forward_steps(rows: list, base: int, n_inputs: int, constants: Sequence[Any],
                  live: list, fold: bool) -> tuple[dict, list, list]:
    """Constant folding (with ``fold``: a live instruction on constants only is computed
    here, once) and the forward sweep: the folded values by slot, then
    ``(slot, row, ins, params)`` of the live instructions not folded, and of those folded."""
    folded: dict[int, Any] = {}
    forward: list = []
    folded_rows: list = []
    add = forward.append
    if not fold or base == n_inputs:  # no constants: nothing to fold
        forward = [(slot, row, ins, params) for slot, (row, ins, params)
                   in enumerate(rows, base) if live[slot]]
        return folded, forward, folded_rows
    known = [False] * (base + len(rows))  # constants, and instructions folded into them
    known[n_inputs:base] = [True] * (base - n_inputs)
    with np.errstate(all="ignore"):
        for k, (row, ins, params) in enumerate(rows):
            slot = base + k
            if not live[slot]:
                continue
            if ins:
                for i in ins:
                    if not known[i]:
                        break
                else:
                    xs = [folded[i] if i in folded else constants[i - n_inputs] for i in ins]
                    folded[slot] = row.forward(*xs, **params)
                    known[slot] = True
                    folded_rows.append((slot, row, ins, params))
                    continue
            add((slot, row, ins, params))
    return folded, forward, folded_rows
