"""``sd.verify_vjp``: a backward pass written by hand (cs231n style) against symdiff's own.

``forward(**inputs)`` returns ``out`` or ``(out, cache)``; ``backward(dout, cache)`` (or
``backward(dout, **inputs)`` when there is no cache) returns the gradients of the wrt
inputs in ``forward``'s parameter order. symdiff traces ``forward`` (``sd.from_function``'s
machinery) into a graph ``out`` and differentiates ``sum(dout * out)`` with ``dout`` a
variable of out's shape: its gradient with respect to an input is the vector-Jacobian
product the backward pass should return. The search then draws ``dout`` together with the
inputs (``checking.points``, ``checking.code``): the point given with a random ``dout``
first, then points of the same shapes and signs near it and beyond. At each point the
forward runs on copies of the values, the backward on its cache, and each returned
gradient is checked (count, type, shape: one error saying what was expected) and compared
entry by entry with symdiff's. The verdict and its report are ``sd.verify``'s
(``VerifyReport``): per input, per entry at the counterexample (worst first, with the
``dout`` that shows it), and a truth confirmed by finite differences.

May import numpy and symdiff's layers below ``checking`` (graph, lowering, derivatives),
and ``checking`` itself.

>>> import numpy as np
>>> def affine_forward(x, w, b):
...     return x @ w + b, (x, w)
>>> def affine_backward(dout, cache):
...     x, w = cache
...     return dout @ w.T, x.T @ dout, dout.sum(axis=0)
>>> at = {"x": np.ones((2, 3)), "w": np.ones((3, 4)), "b": np.zeros(4)}
>>> verify_vjp(affine_forward, affine_backward, at=at).ok
True
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import numpy as np

from symdiff.checking.code import (CODE_ATOL, CODE_KINDS, CODE_RTOL, CODE_SCALE, Code, CodeClaim,
                                   GradientCodeError, as_graph, choose_wrt, drawer, held_copy,
                                   is_float_value, name_of, parameters, run, signs_note,
                                   signs_of, tolerance_text, trace, unpack)
from symdiff.checking.judge import (STATUS_OK, Findings, compare_at, in_order, verdict,
                                    worst_first)
from symdiff.checking.points import Evaluator, search
from symdiff.checking.verify import POINTS
from symdiff.checking.verify_report import VerifyReport
from symdiff.errors import ArgumentError
from symdiff.graph.arguments import as_point
from symdiff.graph.leaves import var
from symdiff.graph.node import Node, apply
from symdiff.graph.values import as_int, as_real, as_seed
from symdiff.lowering.lower import bind, lower

__all__ = ["verify_vjp"]


def verify_vjp(forward: Callable, backward: Callable, at: Mapping[str, Any],
               wrt: Any = None, points: int = POINTS, seed: int = 0,
               atol: Optional[float] = None, rtol: Optional[float] = None) -> VerifyReport:
    """Check a hand-written backward pass against symdiff's vector-Jacobian products of
    ``forward`` (see the module docstring).

    ``at``: a value for each parameter of ``forward``; ``wrt``: the inputs ``backward``
    returns gradients for (default: every float or float array in ``at``), returned in
    ``forward``'s parameter order as a tuple (one array for one input; a dict by name
    also works). A backward pass that returns the gradients of every float input while
    ``wrt`` names fewer is read by position. Other arguments (``bn_param``, labels) are
    held at their values: each call gets its own deep copy. ``points``, ``seed``,
    ``atol`` and ``rtol`` as in ``sd.verify`` for code (rtol 1e-6 by default).

    >>> import numpy as np
    >>> def relu_forward(x):
    ...     return np.maximum(0, x), x
    >>> def relu_backward(dout, cache):
    ...     return dout               # the mask (cache > 0) is missing
    >>> r = verify_vjp(relu_forward, relu_backward, at={"x": np.array([1.0, -2.0])})
    >>> r.ok, r.wrong, [e.label for e in r.entries]
    (False, ['x'], ['x[1]'])
    """
    who = "sd.verify_vjp"
    for fn, label in ((forward, "forward"), (backward, "backward")):
        if not callable(fn) or isinstance(fn, Node):
            raise ArgumentError(f"{who}: {label} must be a function, not {type(fn).__name__}")
    at, seed = as_point(at, who), as_seed(seed, who)
    points = as_int(points, who, "points", minimum=0)
    atol = CODE_ATOL if atol is None else as_real(atol, who, "atol", 0.0)
    rtol = CODE_RTOL if rtol is None else as_real(rtol, who, "rtol", 0.0)
    if at is None:
        raise ArgumentError(f"{who}: give at={{...}} with a value for each parameter of "
                            f"{name_of(forward)}")
    at = {k.name if isinstance(k, Node) else k: v for k, v in at.items()}
    params = parameters(forward, at, who)
    chosen = choose_wrt(wrt, at, params, forward, who)
    names = [p for p in params if p in chosen]          # the forward's parameter order
    candidates = [p for p in params if p in at and is_float_value(at[p])]
    result, variables = trace(forward, at, names, who)
    out, cached = _split(result, forward, who)
    out = as_graph(out, forward, who)
    dname = "dout"
    while dname in params:
        dname += "_"
    F = apply("sum", out * var(dname, out.shape), axis=None, keepdims=False)
    from symdiff.derivatives.reverse import grad
    truths = grad(F, variables)
    lowered = lower(F, retain=truths)
    fname, bname = name_of(forward), name_of(backward)
    shapes = {v.name: v.shape for v in variables}
    held = {k: v for k, v in at.items() if k not in lowered.index}
    signs = signs_of(at, [n for n in names if n in lowered.index])
    call = _call(forward, backward, list(at), names, shapes, out.shape, cached,
                 candidates if len(candidates) > len(names) else [], dname)
    code = Code(lowered, names, [call], held, signs, atol, rtol, CODE_SCALE)
    claims = [CodeClaim(backward, n) for n in names]
    ev = Evaluator(F, lowered, claims, truths, variables, atol, rtol, code)

    findings = Findings()
    rng = np.random.default_rng((seed, 14))   # not the stream users draw their data from
    point = {n: at[n] for n in names if n in lowered.index}
    point[dname] = rng.standard_normal(out.shape) if out.shape else float(rng.standard_normal())
    compare_at(ev, bind(lowered, point, {}), findings)
    mismatches, searched, findings.tries = search(ev, lowered, variables, points, seed,
                                                  drawer(point, signs), CODE_KINDS)
    findings.found += mismatches
    findings.compared += searched
    v = verdict(ev, findings, points)
    if signs:
        findings.notes.append(signs_note(signs))
    for n, dtype in code.dtypes.items():
        findings.notes.append(f"{n}: {bname} returned {dtype}; compared within its precision "
                              f"(rtol {code.tolerance(n)[1]:g})")
    args = "dout, cache" if cached else ", ".join(["dout", *at])
    texts = {n: f"{bname}({args})" + (f"[{k}]" if len(names) > 1 else "")
             for k, n in enumerate(names)}
    truth_texts = {n: f"{dname} . d out/d{n} (reverse mode of the traced {fname})"
                   for n in names}
    return VerifyReport(
        v.status == STATUS_OK, v.status, {n: None for n in names},
        in_order(v.counterexample, [*params, dname]),
        worst_first(v.entries), v.wrong, dict(zip(names, claims)), dict(zip(names, truths)),
        texts, {n: False for n in names}, findings.compared, fname,
        in_order(findings.at_point, [*params, dname]),
        findings.one_sided, v.fd_error, findings.problems, findings.notes,
        {n: "code: compared numerically" for n in names}, code=list(names),
        tolerance=tolerance_text(atol, rtol, CODE_SCALE),
        held=[k for k in at if k not in names], title=f"{bname}, the backward pass of {fname}",
        truth_texts=truth_texts, sizes={w.name: w.size for w in variables})


def _split(result: Any, forward: Any, who: str) -> tuple[Any, bool]:
    """(out, whether the forward returns a cache): ``out`` or ``(out, cache)``."""
    if isinstance(result, (tuple, list)):
        if len(result) == 2:
            return result[0], True
        raise GradientCodeError(f"{who}: {name_of(forward)} returned a {type(result).__name__} "
                                f"of {len(result)} values; expected out, or (out, cache)")
    return result, False


def _call(forward: Callable, backward: Callable, given: list, names: list, shapes: dict,
          out_shape: tuple, cached: bool, alternatives: list, dname: str
          ) -> Callable[[dict], tuple]:
    """values -> the gradients ``backward`` returns there (``unpack``'s result)."""
    fname, bname = name_of(forward), name_of(backward)
    many = len(names) > 1
    expected = (f"{'a tuple of ' + str(len(names)) + ' arrays' if many else 'one array'}: "
                f"the gradient{'s' if many else ''} of {', '.join(names)}"
                + (f" in {fname}'s parameter order" if many else "")
                + (f" (or of all of {', '.join(alternatives)})" if alternatives else ""))

    def call(values: dict) -> tuple:
        inputs = {p: values[p] for p in given}
        fresh = held_copy(inputs) if not cached else None
        shown = {p: values[p] for p in names}
        shown[dname] = values[dname]
        result = run(forward, (), inputs, shown, fname)
        out, cache = (result[0], result[1]) if cached and isinstance(result, (tuple, list)) \
            and len(result) == 2 else (result, None)
        if np.shape(out) != tuple(out_shape):
            raise GradientCodeError(f"{fname} returned out of shape {np.shape(out)} here, but "
                                    f"of shape {tuple(out_shape)} when symdiff traced it")
        dout = np.array(values[dname], dtype=float) if out_shape else float(values[dname])
        grads = run(backward, (dout, cache), {}, shown, bname) if cached else \
            run(backward, (dout,), fresh, shown, bname)
        return unpack(grads, names, shapes, bname, expected, alternatives)
    return call
