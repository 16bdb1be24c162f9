"""The chain rule, step by step: a text companion to ``to_dot``'s picture.

``explain(f, at)`` prints, in order:

1. the forward pass, inputs first (``c = a + b = 4``);
2. the local derivative on every edge (``∂e/∂c = d = 2``);
3. the backward sweep in reverse topological order, one chain-rule product per line,
   accumulating into ``.grad`` (``b.grad += d.grad * ∂d/∂b = 4 * 1 = 6   (2 + 4)``: the
   number after the last ``=`` is the running total);
4. for small scalar graphs (at most 12 nodes), Olah's path view: a derivative is the sum
   over all paths of the products of the edge derivatives;
5. what forward mode and reverse mode would each cost on this graph, in edge multiplications.

Without ``at`` (and with free variables) only symbols are shown. Names, values, gradients
and edge partials are those of ``to_dot`` (one analysis, ``symdiff.teaching.analysis``):
the gradients and each edge's contribution are the numeric evaluator's (its reverse sweep
over the table's VJPs), so they equal ``sd.value_and_grad``'s. Array graphs show shapes
and compact values instead of a product of numbers; for an ``f`` of several elements the
grads are those of ``sum(f)``.

This module only writes text: it may import ``symdiff.teaching.analysis`` and
``symdiff.teaching.labels``, ``symdiff.graph``, ``symdiff.budget`` (its SymPy step, the
simplified sum of the path products, has SymPy's time budget and is left out past it),
``symdiff.symbolic``, numpy and (lazily) SymPy.

>>> import symdiff as sd
>>> a, b = sd.var("a"), sd.var("b")
>>> print(explain((a + b) * (b + 1), at={"a": 3, "b": 1}))  # doctest: +ELLIPSIS
Forward pass (inputs first):
  a = 3
  b = 1
  c = a + b = 4
  d = b + 1 = 2
  e = c * d = 8
<BLANKLINE>
Local derivatives, one per edge:
  ∂c/∂a = 1
  ∂c/∂b = 1
  ∂d/∂b = 1
  ∂e/∂c = d = 2
  ∂e/∂d = c = 4
<BLANKLINE>
Backward sweep (reverse topological order; ...):
  e.grad = 1
  c.grad += e.grad * ∂e/∂c = 1 * 2 = 2
  d.grad += e.grad * ∂e/∂d = 1 * 4 = 4
  a.grad += c.grad * ∂c/∂a = 2 * 1 = 2
  b.grad += c.grad * ∂c/∂b = 2 * 1 = 2
  b.grad += d.grad * ∂d/∂b = 4 * 1 = 6   (2 + 4)
Gradients: a.grad = 2, b.grad = 6
<BLANKLINE>
Paths (...):
  ∂e/∂a = ∂e/∂c·∂c/∂a = 2·1 = 2
      symbolically: d·1 = d
  ∂e/∂b = ∂e/∂c·∂c/∂b + ∂e/∂d·∂d/∂b = 2·1 + 4·1 = 6
      symbolically: d·1 + c·1 = c + d
<BLANKLINE>
Forward mode vs reverse mode (...):
  forward mode: one sweep per input: a: 2, b: 4 -> 6 edge multiplications in 2 sweeps
  reverse mode: one sweep per output: 5 edge multiplications in 1 sweep
  ...
"""
from __future__ import annotations

import time
from typing import Any, Mapping, Optional

import numpy as np

from symdiff.budget import OutOfTime, run_within
from symdiff.graph.node import Node
from symdiff.symbolic.bounded import seconds_or_default
from symdiff.teaching.analysis import Edge, GraphInfo, analyze, printer
from symdiff.teaching.labels import expression, fmt

__all__ = ["explain"]

PATH_VIEW_MAX_NODES = 12
MAX_PATHS = 32


def explain(f: Node, at: Optional[Mapping[str, Any]] = None,
            names: Optional[Mapping[str, Node]] = None, max_nodes: int = 200) -> str:
    """The forward pass, the edge derivatives, the backward sweep, paths and costs, as text.

    ``at`` gives values for the variables by name (bound tensors use their own values);
    ``names`` maps a name to an interior node (default names as in ``to_dot``). Graphs over
    ``max_nodes`` nodes are refused with ``GraphTooLargeError``.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> text = explain(sd.sin(x) * x)
    >>> "∂b/∂a = x" in text, "∂a/∂x = cos(x)" in text
    (True, True)
    >>> "a.grad += b.grad * ∂b/∂a = b.grad * x" in text
    True
    """
    info = analyze(f, at, names, max_nodes, "explain")
    parts = [_forward(info), _local(info), _backward(info)]
    paths = _paths(info)
    if paths:
        parts.append(paths)
    parts.append(_costs(info))
    return "\n\n".join(parts)


def _n(info: GraphInfo, node: Node) -> str:
    return info.names[id(node)]


def _forward(info: GraphInfo) -> str:
    lines = ["Forward pass (inputs first):"]
    vals = info.values
    for n in info.nodes:
        if n.op == "const" and n.size == 1:
            continue  # shown by value where it is used
        name = _n(info, n)
        kind = ""
        if n.is_leaf:
            kind = {"var": "variable", "const": "constant"}.get(n.op, "tensor")
            if n.op == "tensor":
                kind += ", requires grad" if n.requires_grad else ", no grad"
        shape = f"shape {n.shape}" if n.shape else ""
        note = ", ".join(s for s in (kind if vals is None or n.op != "var" else "", shape) if s)
        head = name if n.is_leaf else f"{name} = {expression(n, info.names)}"
        if n.op == "const":
            head += f" = {fmt(n._value)}"
        elif vals is not None:
            head += f" = {fmt(vals[id(n)])}"
        lines.append(f"  {head}" + (f"   ({note})" if note else ""))
    return "\n".join(lines)


def _partial_text(e: Edge, info: GraphInfo) -> str:
    """``∂e/∂c = d = 2`` (the number only when it is not the formula itself)."""
    sep = ": " if e.rule else " = "
    text = f"{e.partial(info.names)}{sep}{e.symbolic}"
    if e.value is not None and (e.expr is None or not e.expr.is_Number):
        text += f" = {fmt(e.value)}"
    return text


def _local(info: GraphInfo) -> str:
    lines = ["Local derivatives, one per edge:"]
    for e in info.edges:
        if e.symbolic is None:
            continue  # a constant input: nothing to differentiate with respect to
        note = "" if e.flows or e.symbolic.startswith("0 (") else "   (no gradient flows)"
        lines.append(f"  {_partial_text(e, info)}{note}")
    if len(lines) == 1:
        lines.append("  (none: no edge comes from a variable, a tensor or an op)")
    return "\n".join(lines)


def _sweep_edges(info: GraphInfo) -> list:
    """The flowing edges in the order the backward sweep uses them (``info.reverse``, the
    order in which the analysis had the program run it)."""
    by_child: dict = {}
    for e in info.edges:
        if e.flows:
            by_child.setdefault(id(e.child), []).append(e)
    return [e for n in info.reverse for e in by_child.get(id(n), [])]


def _backward(info: GraphInfo) -> str:
    f = info.f
    out = _n(info, f)
    if id(f) not in info.varies:
        return ("Backward sweep: none; f does not depend on any variable or tensor that "
                "requires grad")
    head = ("Backward sweep (reverse topological order; each += adds one chain-rule product; "
            "the number after the last = is the running total):")
    lines = [head]
    grads = info.grads
    numbers = grads is not None and info.scalar()
    if f.size == 1:
        lines.append(f"  {out}.grad = 1")
    else:
        lines.append(f"  {out}.grad = ones{f.shape}   (the gradient of sum({out}): {out} has "
                     f"{f.size} elements)")
    running: dict = {}
    for e in _sweep_edges(info):
        child, parent = _n(info, e.child), _n(info, e.parent)
        prod = f"{child}.grad * {e.partial(info.names)}"
        lhs = f"  {parent}.grad += "
        if e.contribution is None and grads is not None:
            continue  # the consumer got no gradient (used only by a comparison)
        if grads is None:
            if e.rule:
                lines.append(f"{lhs}{e.partial(info.names)} applied to {child}.grad [{e.symbolic}]")
            elif e.expr is None:
                lines.append(f"{lhs}{child}.grad through {e.partial(info.names)} [{e.symbolic}]")
            else:
                lines.append(f"{lhs}{prod} = {child}.grad * {_factor_sym(e)}")
            continue
        prev = running.get(id(e.parent))
        total = e.contribution if prev is None else prev + e.contribution
        running[id(e.parent)] = total
        if numbers:
            g = grads[id(e.child)]
            line = f"{lhs}{prod} = {_factor(g)} * {_factor(e.value)} = {fmt(total)}"
            if prev is not None:
                line += f"   ({fmt(prev)} + {fmt(e.contribution)})"
        elif e.rule:
            line = (f"{lhs}{e.partial(info.names)} applied to {child}.grad [{e.symbolic}]"
                    f" -> {_array(total)}")
        elif e.expr is None:
            line = (f"{lhs}{child}.grad through {e.partial(info.names)} [{e.symbolic}]"
                    f" -> {_array(total)}")
        else:
            line = f"{lhs}{prod}   (elementwise) -> {_array(total)}"
        lines.append(line)
    if grads is not None:
        shown = ", ".join(f"{_n(info, x)}.grad = {fmt(grads[id(x)])}" for x in info.inputs)
        lines.append(f"Gradients: {shown}")
    return "\n".join(lines)


def _array(v: Any) -> str:
    a = np.asarray(v)
    return f"shape {a.shape} {fmt(a)}" if a.ndim else fmt(a)


def _factor(v: Any) -> str:
    s = fmt(v)
    return f"({s})" if s.startswith("-") else s


def _factor_sym(e: Edge) -> str:
    """A symbolic partial as a factor of a product: parenthesised unless atomic."""
    s = e.symbolic
    expr = e.expr
    if expr is not None and (expr.is_Atom or expr.is_Function or expr.is_Pow) \
            and not (expr.is_Number and expr < 0):
        return s
    return f"({s})"


def _paths(info: GraphInfo) -> str:
    """Olah's view: ∂f/∂x = sum over paths x -> f of the product of the edge derivatives."""
    if len(info.nodes) > PATH_VIEW_MAX_NODES or not info.scalar() or id(info.f) not in info.varies:
        return ""
    out = _n(info, info.f)
    by_child: dict = {}
    for e in info.edges:
        if e.flows:
            by_child.setdefault(id(e.child), []).append(e)
    numbers = info.grads is not None
    deadline = time.perf_counter() + seconds_or_default(None)   # SymPy's, for all paths
    lines = ["Paths (Olah: a derivative is the sum over all paths from the input to the output "
             "of the product of the derivatives on the path's edges):"]
    for x in info.inputs:
        if x is info.f:
            continue
        paths = _enumerate(info.f, x, by_child)
        name = f"∂{out}/∂{_n(info, x)}"
        if not paths:
            lines.append(f"  {name} = 0   (no path carries a gradient)")
            continue
        if len(paths) > MAX_PATHS:
            lines.append(f"  {name}: more than {MAX_PATHS} paths, too many to list")
            continue
        terms = " + ".join("·".join(e.partial(info.names) for e in p) for p in paths)
        symbolic = all(e.expr is not None for p in paths for e in p)
        syms = _sum_of_products(paths, lambda e: e.symbolic, _factor_sym)
        if len(paths) == 1 and len(paths[0]) == 1:
            e = paths[0][0]
            shown = fmt(e.value) if numbers else e.symbolic
            lines.append(f"  {name} = {shown}   (one path of one edge: the local derivative)")
            continue
        if numbers:
            nums = _sum_of_products(paths, lambda e: fmt(e.value), lambda e: _factor(e.value))
            total = sum(float(np.prod([float(np.asarray(e.value).reshape(-1)[0]) for e in p]))
                        for p in paths)
            lines.append(f"  {name} = {terms} = {nums} = {fmt(total)}")
            if symbolic:
                lines.append(f"      symbolically: {syms}{_simplified(paths, deadline)}")
        elif symbolic:
            lines.append(f"  {name} = {terms} = {syms}{_simplified(paths, deadline)}")
        else:
            lines.append(f"  {name} = {terms}")
    return "\n".join(lines) if len(lines) > 1 else ""


def _simplified(paths: list, deadline: float) -> str:
    """`` = c + d``: the SymPy sum of the path products, when it reads differently; nothing
    once SymPy's budget (``deadline``) is spent or when SymPy fails."""
    import sympy

    def text() -> str:
        total = sympy.Add(*(sympy.Mul(*(e.expr for e in p)) for p in paths))
        return printer().doprint(total)
    try:
        simplified = run_within(deadline - time.perf_counter(), text)
    except (Exception, OutOfTime):  # the text never fails on SymPy
        return ""
    plain = _sum_of_products(paths, lambda e: e.symbolic, _factor_sym)
    return "" if simplified == plain else f" = {simplified}"


def _sum_of_products(paths: list, plain: Any, factor: Any) -> str:
    """``2·1 + 4·1``: factors parenthesised in products, negative terms after the first."""
    terms = []
    for k, p in enumerate(paths):
        term = "·".join(factor(e) for e in p) if len(p) > 1 else plain(p[0])
        if k and term.startswith("-"):
            term = f"({term})"
        terms.append(term)
    return " + ".join(terms)


def _enumerate(f: Node, x: Node, by_child: dict) -> list:
    """Paths from f down to x as lists of edges (output first), at most MAX_PATHS + 1."""
    found: list = []
    stack: list = [(f, [])]
    while stack and len(found) <= MAX_PATHS:
        node, path = stack.pop()
        if node is x:
            found.append(path)
            continue
        for e in reversed(by_child.get(id(node), [])):
            stack.append((e.parent, path + [e]))
    return found


def _costs(info: GraphInfo) -> str:
    """Edge multiplications of forward mode (one sweep per input) and reverse mode (one per
    output), counting only edges on a path from an input to f."""
    f = info.f
    flowing = [e for e in info.edges if e.flows]
    # co-reach: nodes from which f is reached along flowing edges
    co = {id(f)}
    for n in info.reverse:
        if id(n) in co:
            co.update(id(e.parent) for e in flowing if e.child is n)
    useful = [e for e in flowing if id(e.child) in co]
    inputs = [x for x in info.inputs if x is not f]
    scalar = info.scalar()
    unit = "edge multiplications" if scalar else "edge products (Jacobian-vector products)"
    n_in = sum(x.size for x in inputs)
    m = f.size
    per: list = []
    for x in inputs:
        reach = {id(x)}
        for n in info.nodes:
            if any(id(e.parent) in reach for e in useful if e.child is n):
                reach.add(id(n))
        per.append((x, sum(1 for e in useful if id(e.parent) in reach)))
    fwd = sum(x.size * k for x, k in per)
    rev = m * len(useful)
    lines = [f"Forward mode vs reverse mode (n = {n_in} input{'s' if n_in != 1 else ''}, "
             f"m = {m} output{'s' if m != 1 else ''}, {len(useful)} edge"
             f"{'s' if len(useful) != 1 else ''} carrying derivatives):"]
    if not inputs:
        lines.append("  nothing to differentiate with respect to")
        return "\n".join(lines)
    shown = ", ".join(f"{_n(info, x)}: {k}" + ("" if scalar else f" × {x.size} entries")
                      for x, k in per)
    lines.append(f"  forward mode: one sweep per input{'' if scalar else ' entry'}: {shown} "
                 f"-> {fwd} {unit} in {n_in} sweep{'s' if n_in != 1 else ''}")
    lines.append(f"  reverse mode: one sweep per output{'' if scalar else ' entry'}: "
                 f"{rev} {unit} in {m} sweep{'s' if m != 1 else ''}")
    if rev < fwd:
        verdict = (f"reverse mode is cheaper here ({rev} vs {fwd}): each sweep gives the "
                   f"derivatives of one output with respect to every input")
    elif fwd < rev:
        verdict = (f"forward mode is cheaper here ({fwd} vs {rev}): each sweep gives the "
                   f"derivatives of every output with respect to one input")
    else:
        verdict = f"both cost the same here ({fwd})"
    lines.append(f"  {verdict}")
    return "\n".join(lines)

