"""The scalar fast path: a program on scalars written out on Python floats with ``math``.

Built from the ``scalar`` and ``scalar_vjp`` templates of ``numeric.codegen.rules``: no
numpy call at all. Where numpy would return inf or nan the float code raises
``ArithmeticError`` or ``ValueError`` (``math.log(0)``, ``math.exp(1000)``), and the caller
then runs the numpy version, so both give the same numbers. Imports
``numeric.codegen.rules`` only.

>>> import numpy as np
>>> from numeric import Program
>>> prog = Program([()], [], [("sin", (0,), {}), ("mul", (1, 0), {})], output=2, wrt=[0])
>>> print(scalar_source(prog, "call")[0])
def scalar(a0):
    v1 = math.sin(a0)
    v2 = v1 * a0
    g2 = 1.0
    g1 = g2 * a0
    g0 = g2 * v1
    g0 = g0 + g1 * math.cos(a0)
    return v2, [g0]
"""
from __future__ import annotations

import math
from typing import Any, Optional

from numeric.codegen.rules import SCALAR_HELPERS, rule_for


def _template(t: Any, params: dict) -> Optional[str]:
    if t is None:
        return None
    return t(**params) if callable(t) else t


def _literal(c: Any) -> Optional[str]:
    v = c.item() if hasattr(c, "item") else c
    if isinstance(v, bool):
        return repr(v)
    v = float(v)
    if not math.isfinite(v):
        return None
    return repr(v) if v >= 0 else f"({v!r})"


def scalar_source(p: Any, mode: str) -> Optional[tuple[str, dict]]:
    """Source of ``scalar(a0, ...)`` -> ``(value, [grads])`` (mode ``"call"``) or
    ``value`` (``"forward"``) on Python floats, or None when some shape is not ``()`` or
    some row has no scalar template. Retained cotangents are not supported here."""
    if p.retain or any(s != () for s in p.shapes):
        return None
    n_in = p.n_inputs
    name: dict[int, str] = {s: f"a{s}" for s in range(n_in)}
    for j, c in enumerate(p.constants):
        lit = _literal(c)
        if lit is None:
            return None
        name[n_in + j] = lit
    for slot, value in p.folded.items():
        lit = _literal(value)
        if lit is None:
            return None
        name[slot] = lit
    forward = p._forward_for_output if mode == "forward" else p._forward
    lines = [f"def scalar({', '.join(name[s] for s in range(n_in))}):"]
    for slot, row, ins, params in forward:
        t = _template(rule_for(row).scalar, params)
        if t is None:
            return None
        subs = dict(zip("xyz", (name[i] for i in ins)))
        lines.append(f"    v{slot} = {t.format(**subs)}")
        name[slot] = f"v{slot}"
    if mode == "forward":
        lines.append(f"    return {name[p.output]}")
        return "\n".join(lines), dict(SCALAR_HELPERS)
    cot: dict[int, str] = {p.output: f"g{p.output}"}
    lines.append(f"    g{p.output} = 1.0")
    for slot, row, ins, params, steps in p._backward:
        if slot not in cot:
            continue
        subs = dict(zip("xyz", (name[i] for i in ins)))
        subs["g"], subs["out"] = cot[slot], name[slot]
        templates = rule_for(row).scalar_vjp
        for j, i, rule, shape in steps:
            t = _template(templates[j] if j < len(templates) else None, params)
            if t is None:
                return None
            expr = t.format(**subs)
            if getattr(rule, "keeps_zeros", False):
                # below a where: a zero cotangent gives 0, the partial not even computed
                expr = f"(0.0 if {subs['g']} == 0.0 else {expr})"
            if i in cot:
                lines.append(f"    g{i} = g{i} + {expr}")
            else:
                lines.append(f"    g{i} = {expr}")
                cot[i] = f"g{i}"
    grads = ", ".join(cot.get(w, "0.0") for w in p.wrt)
    lines.append(f"    return {name[p.output]}, [{grads}]")
    return "\n".join(lines), dict(SCALAR_HELPERS)
