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

import html
import os
import pathlib
from typing import Any, Mapping, Optional

from symdiff.graph.node import Node
from symdiff.teaching.analysis import GraphInfo, analyze
from symdiff.teaching.labels import fmt
from symdiff.teaching.steps import (backward_lines, forward_lines, partial_text, path_lines)

__all__ = ["explain", "Explanation"]


class Explanation(str):
    """The text of ``explain`` (a ``str``), which can also write the stepping page
    (``save``) and displays in notebooks as preformatted text."""

    info: GraphInfo

    def save(self, path: str | os.PathLike, seconds: Optional[float] = None) -> pathlib.Path:
        """Write the self-contained stepping page (``symdiff.teaching.page``) to ``path``:
        one HTML file, the graph drawn by Graphviz's ``dot`` (given ``seconds`` to lay it
        out), stepped forward, backward and along Olah's paths. It needs Graphviz
        (``tests/teaching/test_page.py`` runs it)::

            sd.explain((a + b) * (b + 1), at={"a": 3, "b": 1}).save("backprop.html")
        """
        from symdiff.teaching.page import write_page   # the page draws; this module writes text
        return write_page(self.info, path, seconds)

    def _ipython_display_(self) -> None:
        """IPython shows a ``str`` subclass's text/plain as a quoted repr, whatever its
        bundle says; displaying the bundle raw keeps the text readable."""
        from IPython.display import display   # only ever called inside IPython
        display(self._repr_mimebundle_(), raw=True)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """Plain text, and the same text as HTML ``<pre>`` (no math to typeset)."""
        text = str(self)
        return {"text/plain": text,
                "text/html": f"<pre class='symdiff-explain'>{html.escape(text)}</pre>"}


def explain(f: Node, at: Optional[Mapping[str, Any]] = None,
            names: Optional[Mapping[str, Node]] = None, max_nodes: int = 200) -> Explanation:
    """The forward pass, the edge derivatives, the backward sweep, paths and costs, as text.

    ``at`` gives values for the variables by name (bound tensors use their own values);
    ``names`` maps a name to an interior node (default names as in ``to_dot``). Graphs over
    ``max_nodes`` nodes are refused with ``GraphTooLargeError``. The result is a ``str``
    whose ``save(path)`` writes the stepping page.

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
    out = Explanation("\n\n".join(parts))
    out.info = info
    return out


def _n(info: GraphInfo, node: Node) -> str:
    return info.names[id(node)]


def _forward(info: GraphInfo) -> str:
    return "\n".join(["Forward pass (inputs first):"]
                     + [f"  {line}" for _, line in forward_lines(info)])


def _backward(info: GraphInfo) -> str:
    entries = backward_lines(info)
    if not entries:
        return ("Backward sweep: none; f does not depend on any variable or tensor that "
                "requires grad")
    lines = ["Backward sweep (reverse topological order; each += adds one chain-rule product; "
             "the number after the last = is the running total):"]
    lines += [f"  {line}" for _, line, _ in entries]
    if info.grads is not None:
        shown = ", ".join(f"{_n(info, x)}.grad = {fmt(info.grads[id(x)])}" for x in info.inputs)
        lines.append(f"Gradients: {shown}")
    return "\n".join(lines)


def _paths(info: GraphInfo) -> str:
    entries = path_lines(info)
    if not entries:
        return ""
    lines = ["Paths (Olah: a derivative is the sum over all paths from the input to the output "
             "of the product of the derivatives on the path's edges):"]
    lines += [f"  {line}" for _, _, texts in entries for line in texts]
    return "\n".join(lines)


def _local(info: GraphInfo) -> str:
    lines = ["Local derivatives, one per edge:"]
    for e in info.edges:
        if e.symbolic is None:
            continue  # a constant input: nothing to differentiate with respect to
        note = "" if e.flows or e.symbolic.startswith("0 (") else "   (no gradient flows)"
        lines.append(f"  {partial_text(e, info)}{note}")
    if len(lines) == 1:
        lines.append("  (none: no edge comes from a variable, a tensor or an op)")
    return "\n".join(lines)


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

