"""A lowered program: straight-line instructions over numbered slots, built once, run often.

Slots ``0 .. n_inputs-1`` hold the inputs, the next ones the constants, then one slot per
instruction, in order. Building a program checks every shape, removes instructions the
outputs do not need and decides, once, which cotangents the reverse sweep must compute
(and, below a ``where``, which VJPs must keep zero cotangents zero: ``numeric.masking``).
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

from typing import Any, Callable, Iterable, NamedTuple, Optional, Sequence

import numpy as np

from . import codegen
from .errors import NumericShapeError
from .fuse import fuse_polynomials
from .fusion import fuse_groups
from .fusion.compiled import compiler
from .fusion.pool import check_threads
from .masking import masked_slots
from .primitives import sum_to
from .sweeps import backward_steps, forward_steps, live_for, read_rows, varies

Instruction = tuple  # (primitive name, input slots, params dict)


class BackwardStep(NamedTuple):
    """One vector-Jacobian product of the reverse sweep."""

    slot: int           # the instruction whose VJP ran
    j: int              # which of its inputs
    input: int          # that input's slot
    contribution: Any   # the cotangent added to ``input``, summed back to its shape


class SweepRecord(NamedTuple):
    """Both sweeps of the interpreter, step by step (``Program.sweep_steps``)."""

    values: list        # every slot's value (None: not computed)
    steps: list         # the BackwardSteps, in the order the reverse sweep ran them
    cotangents: list    # every slot's accumulated cotangent (None: none reached it)


class Program:
    """A lowered graph with a forward sweep and a reverse sweep.

    input_shapes  shape of each input slot.
    constants     values of the constant slots (after the inputs).
    instructions  ``(primitive name, input slots, params)`` in topological order.
    output        slot whose value the program returns.
    wrt           input slots to return gradients for (empty: forward only).
    retain        further slots whose cotangents to return (PyTorch's ``retain_grad``).
    input_names   names used in error messages.
    optimize      fuse polynomial chains (``numeric.fuse``) and elementwise groups
                  (``numeric.fusion``), and run generated code (``numeric.codegen``); False
                  keeps the plain interpreter, the reference the optimised path is tested
                  against.
    threads       threads for the fused steps' chunks (None: ``$SYMDIFF_THREADS``, else
                  every CPU this process may use; ``numeric.fusion.pool``).

    A program is immutable once built and safe to call from several threads at once:
    every buffer belongs to one call.
    """

    def __init__(self, input_shapes: Sequence[tuple], constants: Sequence[Any],
                 instructions: Sequence[Instruction], output: int,
                 wrt: Iterable[int] = (), retain: Iterable[int] = (),
                 input_names: Optional[Sequence[str]] = None, optimize: bool = True,
                 threads: Optional[int] = None):
        self.n_inputs = len(input_shapes)
        self.input_shapes = [tuple(s) for s in input_shapes]
        self.input_names = list(input_names) if input_names else [
            f"input {i}" for i in range(self.n_inputs)]
        self.constants = [np.asarray(c) for c in constants]
        self.output = int(output)
        self.wrt = [int(w) for w in wrt]
        self.retain = [int(r) for r in retain]
        self.optimize = optimize
        self.threads = check_threads(threads)
        n_inputs = self.n_inputs
        base = n_inputs + len(self.constants)

        # the passes of numeric.sweeps, written for programs of 10**6 instructions
        shapes = self.input_shapes + [c.shape for c in self.constants]
        rows, names = read_rows(instructions, shapes, base)
        self.shapes = shapes
        n = len(shapes)
        if not 0 <= self.output < n:
            raise ValueError(f"output slot {output} does not exist")
        unfused = rows
        self.fused = 0
        self.kernels: list = []
        pre_masked = None
        outputs = [self.output, *self.retain]
        if optimize and any(shapes):  # a shape () is falsy: fusion saves passes over
            # arrays, and there are none when every value is a scalar
            rows, self.fused = fuse_polynomials(n_inputs, self.constants, rows, shapes, outputs)
            rows, self.kernels, pre_masked = fuse_groups(
                n_inputs, self.constants, rows, shapes, outputs, self.wrt, self.threads,
                compiler() is not None)
        # varies: slots that depend on a wrt input, i.e. that need a cotangent
        flags = varies(rows, self.wrt, base, n)
        # below a where, a zero cotangent entry must stay zero through partials that are
        # nan at the untaken branch's points: those VJPs keep zeros (numeric.masking)
        # (with fused groups: the flags from before fusion, as a where inside a group still
        # puts exact zeros into the cotangents of its externals)
        masked = pre_masked if self.kernels else masked_slots(n_inputs, rows, base, n) \
            if "where" in names else None
        # live: slots the outputs depend on (dead-code elimination)
        live, backward = backward_steps(rows, base, n, outputs, flags, masked, shapes)
        # constant folding: an instruction on constants only is computed here, once
        self.folded, self._forward, self._folded_rows = forward_steps(
            rows, base, n_inputs, self.constants, live, optimize)
        # every live instruction, unfused, for values() to show each node's value: kept
        # only when fusion rewrote some (else the forward sweep and the folded ones are
        # it, and 10**6 more tuples would only weigh on the garbage collector)
        self._unfused = unfused if rows is not unfused and (self.fused or self.kernels) \
            else None
        if self.retain:
            live_out = live_for(rows, base, n, [self.output])
            self._forward_for_output = [f for f in self._forward if live_out[f[0]]]
        else:
            self._forward_for_output = self._forward
        self._backward = backward
        self._compiled: dict[str, Any] = {}

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

    def _run(self, vals: list, steps: list) -> list:
        vals = vals + list(self.constants) + [None] * (len(self.shapes) - len(vals)
                                                        - len(self.constants))
        for slot, value in self.folded.items():
            vals[slot] = value
        for slot, row, ins, params in steps:
            vals[slot] = row.forward(*[vals[i] for i in ins], **params)
        return vals

    def values(self, *args: Any) -> list:
        """Every slot's value after the forward sweep (None for slots not computed).

        Runs every instruction the outputs depend on, unfused, so each graph node's own
        value is there to show or check."""
        base = self.n_inputs + len(self.constants)
        if self._unfused is None:
            every = sorted(self._forward + self._folded_rows, key=lambda step: step[0])
        else:
            every = [(base + k, row, ins, params)
                     for k, (row, ins, params) in enumerate(self._unfused)]
        live = {self.output, *self.retain}
        for slot, row, ins, params in reversed(every):
            if slot in live:
                live.update(ins)
        with np.errstate(all="ignore"):
            return self._run(self._inputs(args), [a for a in every if a[0] in live])

    # ------------------------------------------------------------------
    def compiled(self, mode: str) -> Optional[Callable]:
        """The generated function for ``mode`` (``"call"``, ``"grad"``, ``"forward"``,
        ``"scalar"``, ``"scalar_forward"``), or None where the interpreter runs instead
        (``optimize=False``, very long programs, no scalar form)."""
        fn = self._compiled.get(mode, _MISSING)
        if fn is _MISSING:
            fn = self._compile(mode)
            self._compiled[mode] = fn  # benign race: two threads build equal functions
        return fn

    def _compile(self, mode: str) -> Optional[Callable]:
        if not self.optimize or len(self._forward) + len(self._backward) > codegen.MAX_LINES:
            return None
        if mode.startswith("scalar"):
            made = codegen.scalar_source(self, "forward" if mode == "scalar_forward" else "call")
            if made is None:
                return None
            return codegen.compile_source(made[0], made[1], "scalar", f"program {id(self):x} {mode}")
        source, ns = codegen.array_source(self, mode)
        return codegen.compile_source(source, ns, mode, f"program {id(self):x} {mode}")

    def source(self, mode: str = "call") -> str:
        """The generated Python source for ``mode`` (for reading; see ``compiled``)."""
        if mode.startswith("scalar"):
            made = codegen.scalar_source(self, "forward" if mode == "scalar_forward" else "call")
            if made is None:
                raise ValueError("this program has no scalar form (an input or a value is an "
                                 "array, or a row has no scalar template)")
            return made[0]
        return codegen.array_source(self, mode)[0]

    # ------------------------------------------------------------------
    def forward(self, *args: Any) -> Any:
        """Evaluate the output only."""
        vals = self._inputs(args)
        fn = self.compiled("forward")
        with np.errstate(all="ignore"):
            if fn is not None:
                return fn(vals)
            return self._run(vals, self._forward_for_output)[self.output]

    def __call__(self, *args: Any, cotangent: Any = None) -> tuple:
        """Run both sweeps: ``(value, [grad per wrt])``, plus retained cotangents if any.

        ``cotangent`` seeds the reverse sweep; it defaults to ones, which is the gradient
        of a scalar output.
        """
        return self._sweep("call", args, cotangent)

    def grad(self, *args: Any, cotangent: Any = None) -> list:
        """Gradients only (plus retained cotangents if any): what only the value needs,
        such as a final reduction, is not computed."""
        return self._sweep("grad", args, cotangent)

    def _sweep(self, mode: str, args: Sequence[Any], cotangent: Any) -> Any:
        vals = self._inputs(args)
        seed = self._seed(cotangent)
        fn = self.compiled(mode)
        with np.errstate(all="ignore"):
            if fn is not None:
                return fn(vals, seed)
            return self._interpret(vals, seed, mode)

    def _interpret(self, vals: list, seed: Any, mode: str) -> Any:
        vals = self._run(vals, self._forward)
        value = vals[self.output]
        cot = self._reverse(vals, seed)
        seen = {id(v) for v in vals[:self.n_inputs + len(self.constants)]}
        seen.add(id(seed))
        if isinstance(value, np.ndarray) and value.ndim:
            value = codegen.own(value, seen)
        grads = [self._zero_or(cot[w], w, seen) for w in self.wrt]
        out: tuple = (value, grads) if mode == "call" else (grads,)
        if self.retain:
            out += ([self._zero_or(cot[r], r, seen) for r in self.retain],)
        return out if len(out) > 1 else out[0]

    def _reverse(self, vals: list, seed: Any, record: Optional[list] = None) -> list:
        """The interpreter's reverse sweep: every slot's cotangent (None where none
        arrives); ``record`` collects each product as a ``BackwardStep``."""
        cot: list = [None] * len(self.shapes)
        cot[self.output] = seed
        for slot, row, ins, params, steps in self._backward:
            g = cot[slot]
            if g is None:
                continue
            xs = [vals[i] for i in ins]
            out = vals[slot]
            for j, i, rule, shape in steps:
                c = rule(g, out, *xs, **params)
                if np.shape(c) != shape:
                    c = sum_to(c, shape)
                if record is not None:
                    record.append(BackwardStep(slot, j, i, c))
                cot[i] = c if cot[i] is None else cot[i] + c
        return cot

    def sweep_steps(self, *args: Any, cotangent: Any = None) -> SweepRecord:
        """Both sweeps run by the plain interpreter, reporting every slot's value, every
        backward step's contribution and every slot's accumulated cotangent.

        For showing the chain rule at work (symdiff's teaching pictures): a program built
        with ``optimize=False`` has one step per instruction input; an optimised one
        reports its fused instructions as steps and computes no folded or fused-away
        slot. The arrays may share memory with the arguments and with each other.

        >>> prog = Program([()], [], [("mul", (0, 0), {})], output=1, wrt=[0])  # x * x
        >>> sweeps = prog.sweep_steps(3.0)
        >>> [(s.slot, s.j, s.input, float(s.contribution)) for s in sweeps.steps]
        [(1, 0, 0, 3.0), (1, 1, 0, 3.0)]
        >>> float(sweeps.values[1]), float(sweeps.cotangents[0])
        (9.0, 6.0)
        """
        vals = self._inputs(args)
        seed = self._seed(cotangent)
        record: list = []
        with np.errstate(all="ignore"):
            vals = self._run(vals, self._forward)
            cot = self._reverse(vals, seed, record)
        return SweepRecord(vals, record, cot)

    def _seed(self, cotangent: Any) -> np.ndarray:
        out_shape = self.shapes[self.output]
        if cotangent is None:
            return np.ones(out_shape)
        seed = np.asarray(cotangent, dtype=np.float64)
        if seed.shape != out_shape:
            raise NumericShapeError(
                f"cotangent: expected shape {out_shape} (the output's), got {seed.shape}",
                "cotangent", (seed.shape,))
        return seed

    def _zero_or(self, c: Any, slot: int, seen: set) -> np.ndarray:
        if c is None:
            return np.zeros(self.shapes[slot])
        return codegen.own(c, seen)  # never hand out a view of an input

    def __repr__(self) -> str:
        return (f"Program({self.n_inputs} inputs, {len(self._forward)} forward and "
                f"{len(self._backward)} backward steps)")


_MISSING = object()
