"""The steps of the chain rule, read once from the analysis: the one source of the text
explanation (``symdiff.teaching.explain``) and of the stepping page
(``symdiff.teaching.page``).

``forward_lines`` gives the forward pass node by node, ``backward_lines`` the backward
sweep edge by edge (the ``.grad +=`` line with its running total, in the order the
lowered program ran it), ``path_lines`` Olah's sums over paths for small scalar graphs;
``partial_text`` is an edge's local derivative as text. Each entry pairs the text with the
node or edge of ``GraphInfo`` it is about, so a view can light that node or edge.

May import numpy, ``symdiff.budget``, ``symdiff.graph``, ``symdiff.symbolic`` (SymPy's
budget) and ``symdiff.teaching.analysis`` / ``labels``; SymPy lazily (the simplified sum of
the path products, under SymPy's time budget and left out past it).

>>> import symdiff as sd
>>> from symdiff.teaching.analysis import analyze
>>> a, b = sd.var("a"), sd.var("b")
>>> info = analyze((a + b) * (b + 1), at={"a": 3, "b": 1})
>>> [line for _, line, _ in backward_lines(info)][-2:]
['b.grad += c.grad * ∂c/∂b = 2 * 1 = 2', 'b.grad += d.grad * ∂d/∂b = 4 * 1 = 6   (2 + 4)']
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from symdiff.budget import OutOfTime, run_within
from symdiff.graph.node import Node
from symdiff.symbolic.bounded import seconds_or_default
from symdiff.teaching.analysis import Edge, GraphInfo, printer
from symdiff.teaching.labels import expression, fmt

__all__ = ["forward_lines", "backward_lines", "path_lines", "partial_text", "sweep_edges",
           "path_product", "path_sum", "PATH_VIEW_MAX_NODES", "MAX_PATHS"]

PATH_VIEW_MAX_NODES = 12
MAX_PATHS = 32


def _n(info: GraphInfo, node: Node) -> str:
    return info.names[id(node)]


def forward_lines(info: GraphInfo) -> list:
    """The forward pass, one ``(node, line)`` per node shown, inputs first (constants of
    one element are shown by value where they are used)."""
    lines = []
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
        lines.append((n, f"{head}" + (f"   ({note})" if note else "")))
    return lines


def partial_text(e: Edge, info: GraphInfo) -> str:
    """``∂e/∂c = d = 2`` (the number only when it is not the formula itself)."""
    sep = ": " if e.rule else " = "
    text = f"{e.partial(info.names)}{sep}{e.symbolic}"
    if e.value is not None and (e.expr is None or not e.expr.is_Number):
        text += f" = {fmt(e.value)}"
    return text


def sweep_edges(info: GraphInfo) -> list:
    """The flowing edges in the order the backward sweep uses them (``info.reverse``, the
    order in which the analysis had the program run it)."""
    by_child: dict = {}
    for e in info.edges:
        if e.flows:
            by_child.setdefault(id(e.child), []).append(e)
    return [e for n in info.reverse for e in by_child.get(id(n), [])]


def backward_lines(info: GraphInfo) -> list:
    """The backward sweep, ``(edge, line, running total)`` per chain-rule product in the
    order the program ran them; the first entry, the seed, has no edge (its total is the
    seed). Empty when ``f`` depends on nothing that requires grad; totals are None without
    numbers."""
    f = info.f
    out = _n(info, f)
    if id(f) not in info.varies:
        return []
    lines: list = []
    grads = info.grads
    numbers = grads is not None and info.scalar()
    seed = None if grads is None else np.ones(f.shape)
    if f.size == 1:
        lines.append((None, f"{out}.grad = 1", seed))
    else:
        lines.append((None, f"{out}.grad = ones{f.shape}   (the gradient of sum({out}): {out} "
                            f"has {f.size} elements)", seed))
    running: dict = {}
    for e in sweep_edges(info):
        child, parent = _n(info, e.child), _n(info, e.parent)
        prod = f"{child}.grad * {e.partial(info.names)}"
        lhs = f"{parent}.grad += "
        if e.contribution is None and grads is not None:
            continue  # the consumer got no gradient (used only by a comparison)
        if grads is None:
            if e.rule:
                line = f"{lhs}{e.partial(info.names)} applied to {child}.grad [{e.symbolic}]"
            elif e.expr is None:
                line = f"{lhs}{child}.grad through {e.partial(info.names)} [{e.symbolic}]"
            else:
                line = f"{lhs}{prod} = {child}.grad * {_factor_sym(e)}"
            lines.append((e, line, None))
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
        lines.append((e, line, total))
    return lines


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


def path_lines(info: GraphInfo) -> list:
    """Olah's view: ∂f/∂x = sum over paths x -> f of the product of the edge derivatives.

    ``(input, paths, lines)`` per input of a small scalar graph (at most
    ``PATH_VIEW_MAX_NODES`` nodes; empty otherwise): the paths as lists of edges (output
    first; empty past ``MAX_PATHS``) and the lines of text that sum them."""
    if len(info.nodes) > PATH_VIEW_MAX_NODES or not info.scalar() or id(info.f) not in info.varies:
        return []
    out = _n(info, info.f)
    by_child: dict = {}
    for e in info.edges:
        if e.flows:
            by_child.setdefault(id(e.child), []).append(e)
    numbers = info.grads is not None
    deadline = time.perf_counter() + seconds_or_default(None)   # SymPy's, for all paths
    entries = []
    for x in info.inputs:
        if x is info.f:
            continue
        paths = _enumerate(info.f, x, by_child)
        name = f"∂{out}/∂{_n(info, x)}"
        if not paths:
            entries.append((x, [], [f"{name} = 0   (no path carries a gradient)"]))
            continue
        if len(paths) > MAX_PATHS:
            entries.append((x, [], [f"{name}: more than {MAX_PATHS} paths, too many to list"]))
            continue
        terms = " + ".join("·".join(e.partial(info.names) for e in p) for p in paths)
        symbolic = all(e.expr is not None for p in paths for e in p)
        syms = _sum_of_products(paths, lambda e: e.symbolic, _factor_sym)
        if len(paths) == 1 and len(paths[0]) == 1:
            e = paths[0][0]
            shown = fmt(e.value) if numbers else e.symbolic
            lines = [f"{name} = {shown}   (one path of one edge: the local derivative)"]
        elif numbers:
            nums = _sum_of_products(paths, lambda e: fmt(e.value), lambda e: _factor(e.value))
            lines = [f"{name} = {terms} = {nums} = {fmt(path_sum(paths))}"]
            if symbolic:
                lines.append(f"    symbolically: {syms}{_simplified(paths, deadline)}")
        elif symbolic:
            lines = [f"{name} = {terms} = {syms}{_simplified(paths, deadline)}"]
        else:
            lines = [f"{name} = {terms}"]
        entries.append((x, paths, lines))
    return entries


def path_product(path: list) -> float:
    """The product of a path's edge partials (scalar graphs with numbers)."""
    return float(np.prod([float(np.asarray(e.value).reshape(-1)[0]) for e in path]))


def path_sum(paths: list) -> float:
    """The sum over paths of their products: the derivative, by Olah's rule."""
    return sum(path_product(p) for p in paths)


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
