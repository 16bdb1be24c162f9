"""A lowered program: straight-line instructions over numbered slots, built once, run often.

Slots ``0 .. n_inputs-1`` hold the inputs, the next ones the constants, then one slot per
instruction, in order. Building a program checks every shape, removes instructions the
outputs do not need and decides, once, which cotangents the reverse sweep must compute.
A call only runs the two sweeps: no graph walking, no shape inference.

>>> import numpy as np
>>> # f(x) = x**2 + 3
>>> prog = Program(input_shapes=[()], constants=[np.float64(3.0)],
...                instructions=[("pow", (0,), {"p": 2}), ("add", (2, 1), {})],
...                output=3, wrt=[0])
>>> value, grads = prog(7.0)
>>> float(value), float(grads[0])
(52.0, 14.0)
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import numpy as np

from .errors import NumericShapeError
from .primitives import PRIMITIVES, sum_to

Instruction = tuple  # (primitive name, input slots, params dict)


class Program:
    """A lowered graph with a forward sweep and a reverse sweep.

    input_shapes  shape of each input slot.
    constants     values of the constant slots (after the inputs).
    instructions  ``(primitive name, input slots, params)`` in topological order.
    output        slot whose value the program returns.
    wrt           input slots to return gradients for (empty: forward only).
    retain        further slots whose cotangents to return (PyTorch's ``retain_grad``).
    input_names   names used in error messages.
    """

    def __init__(self, input_shapes: Sequence[tuple], constants: Sequence[Any],
                 instructions: Sequence[Instruction], output: int,
                 wrt: Iterable[int] = (), retain: Iterable[int] = (),
                 input_names: Optional[Sequence[str]] = None):
        self.n_inputs = len(input_shapes)
        self.input_shapes = [tuple(s) for s in input_shapes]
        self.input_names = list(input_names) if input_names else [
            f"input {i}" for i in range(self.n_inputs)]
        self.constants = [np.asarray(c) for c in constants]
        self.output = int(output)
        self.wrt = [int(w) for w in wrt]
        self.retain = [int(r) for r in retain]
        base = self.n_inputs + len(self.constants)

        shapes = self.input_shapes + [c.shape for c in self.constants]
        rows = []
        for k, (name, ins, params) in enumerate(instructions):
            if name not in PRIMITIVES:
                raise KeyError(f"instruction {k}: unknown primitive {name!r}")
            row = PRIMITIVES[name]
            if len(ins) != row.arity:
                raise ValueError(f"instruction {k}: {name} takes {row.arity} inputs, got {len(ins)}")
            if ins and (min(ins) < 0 or max(ins) >= base + k):
                raise ValueError(f"instruction {k}: {name} reads a slot not yet computed: {ins}")
            shapes.append(tuple(row.shape(*(shapes[i] for i in ins), **params)))
            rows.append((row, tuple(ins), dict(params)))
        self.shapes = shapes
        n = len(shapes)
        if not 0 <= self.output < n:
            raise ValueError(f"output slot {output} does not exist")

        # live: slots the outputs depend on (dead-code elimination)
        live = [False] * n
        for s in [self.output, *self.retain]:
            live[s] = True
        for k in range(len(rows) - 1, -1, -1):
            if live[base + k]:
                for i in rows[k][1]:
                    live[i] = True
        # varies: slots that depend on a wrt input, i.e. that need a cotangent
        varies = [False] * n
        for w in self.wrt:
            varies[w] = True
        for k, (row, ins, _) in enumerate(rows):
            varies[base + k] = any(varies[i] and row.vjp[j] is not None
                                   for j, i in enumerate(ins))

        self._forward = [(row.forward, ins, params) for k, (row, ins, params) in enumerate(rows)
                         if live[base + k]]
        self._forward_slots = [base + k for k in range(len(rows)) if live[base + k]]
        backward = []
        for k in range(len(rows) - 1, -1, -1):
            slot = base + k
            row, ins, params = rows[k]
            if not (live[slot] and varies[slot]):
                continue
            steps = tuple((j, i, row.vjp[j], shapes[i]) for j, i in enumerate(ins)
                          if varies[i] and row.vjp[j] is not None)
            backward.append((slot, ins, params, steps))
        self._backward = backward
        self._dense = len(self._forward_slots) == len(rows)

    # ------------------------------------------------------------------
    def _inputs(self, args: Sequence[Any]) -> list:
        if len(args) != self.n_inputs:
            raise TypeError(f"program takes {self.n_inputs} inputs, got {len(args)}")
        vals = []
        for name, shape, a in zip(self.input_names, self.input_shapes, args):
            v = np.asarray(a, dtype=np.float64)
            if v.shape != shape:
                raise NumericShapeError(
                    f"{name}: expected shape {shape}, got {v.shape}", "input", (v.shape,))
            vals.append(v)
        return vals

    def _run_forward(self, args: Sequence[Any]) -> list:
        vals: list = self._inputs(args) + list(self.constants)
        if self._dense:
            for fwd, ins, params in self._forward:
                vals.append(fwd(*[vals[i] for i in ins], **params))
        else:
            vals.extend([None] * (len(self.shapes) - len(vals)))
            for slot, (fwd, ins, params) in zip(self._forward_slots, self._forward):
                vals[slot] = fwd(*[vals[i] for i in ins], **params)
        return vals

    def values(self, *args: Any) -> list:
        """Every slot's value after the forward sweep (None for slots not computed)."""
        with np.errstate(all="ignore"):
            vals = self._run_forward(args)
        return vals + [None] * (len(self.shapes) - len(vals))

    def forward(self, *args: Any) -> Any:
        """Evaluate the output only."""
        with np.errstate(all="ignore"):
            return self._run_forward(args)[self.output]

    def __call__(self, *args: Any, cotangent: Any = None) -> tuple:
        """Run both sweeps: ``(value, [grad per wrt])``, plus retained cotangents if any.

        ``cotangent`` seeds the reverse sweep; it defaults to ones, which is the gradient
        of a scalar output.
        """
        with np.errstate(all="ignore"):
            vals = self._run_forward(args)
            value = vals[self.output]
            out_shape = self.shapes[self.output]
            if cotangent is None:
                seed = np.ones(out_shape)
            else:
                seed = np.asarray(cotangent, dtype=np.float64)
                if seed.shape != out_shape:
                    raise NumericShapeError(
                        f"cotangent: expected shape {out_shape} (the output's), got {seed.shape}",
                        "cotangent", (seed.shape,))
            cot: list = [None] * len(self.shapes)
            cot[self.output] = seed
            for slot, ins, params, steps in self._backward:
                g = cot[slot]
                if g is None:
                    continue
                xs = [vals[i] for i in ins]
                out = vals[slot]
                for j, i, rule, shape in steps:
                    c = rule(g, out, *xs, **params)
                    if np.shape(c) != shape:
                        c = sum_to(c, shape)
                    cot[i] = c if cot[i] is None else cot[i] + c
        grads = [self._zero_or(cot[w], w) for w in self.wrt]
        if self.retain:
            return value, grads, [self._zero_or(cot[r], r) for r in self.retain]
        return value, grads

    def _zero_or(self, c: Any, slot: int) -> np.ndarray:
        if c is None:
            return np.zeros(self.shapes[slot])
        return np.array(c, dtype=np.float64)  # a copy: never hand out a view of an input

    def __repr__(self) -> str:
        return (f"Program({self.n_inputs} inputs, {len(self._forward)} forward and "
                f"{len(self._backward)} backward steps)")
