"""Notebook output: one object showing a function's formula, graph and check together.

``sd.show(f, at=...)`` returns a ``Show``. Notebooks display it as HTML: the closed form
as MathML (browsers typeset it themselves: no MathJax needed, so JupyterLab, VS Code and
Colab agree), the graph as SVG from Graphviz (the DOT text when ``dot`` is not
installed), and the ``sd.check`` table; its ``_repr_mimebundle_`` also carries
``text/plain`` (``str(show)``), ``text/latex`` and ``image/svg+xml``. Nodes themselves
display as LaTeX (``Node._repr_mimebundle_``), check reports as HTML tables, and what
``sd.explain`` and ``sd.to_dot`` return as text (and, for ``to_dot``, its picture).

>>> import symdiff as sd
>>> x = sd.var("x")
>>> s = sd.show(x**2 + 3, at={"x": 7.0})
>>> print(str(s).splitlines()[0])
f = x**2 + 3
"""
from __future__ import annotations

import html
from typing import Any, Mapping, Optional

import sympy

from symdiff.checking.check import CheckReport, check
from symdiff.symbolic.bounded import within
from symdiff.symbolic.closed_form import build
from symdiff.symbolic.latex import latex as paper_latex
from symdiff.symbolic.display import short_text
from symdiff.teaching.dot import GraphvizNotFoundError, RenderError, pipe, to_dot
from symdiff.errors import SymdiffError
from symdiff.graph.arguments import as_function
from symdiff.graph.node import Node
from symdiff.graph.values import as_int
from symdiff.graph.walks import topological


class Show:
    """Formula, picture and check of one function, for a notebook cell."""

    def __init__(self, f: Node, latex: Optional[str], dot: Optional[str], svg: Optional[str],
                 report: Optional[CheckReport], notes: list[str], mathml: Optional[str] = None):
        self.f, self.latex, self.dot, self.svg = f, latex, dot, svg
        self.report, self.notes, self.mathml = report, notes, mathml

    def __str__(self) -> str:
        lines = [f"f = {short_text(self.f, limit=200)}"]
        if self.report is not None:
            lines += ["", str(self.report)]
        lines += self.notes
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The formula as MathML (typeset by the browser itself, so it reads the same in
        JupyterLab, VS Code and Colab; no ``$$`` left for a MathJax that may be absent),
        else as plain text; the SVG picture; the check's table; the notes."""
        parts = []
        if self.mathml is not None:
            parts.append(f"<p><math display='block'><mi>f</mi><mo>=</mo>{self.mathml}</math>"
                         f"</p>")
        else:
            parts.append(f"<p><code>f = {html.escape(short_text(self.f, limit=200))}</code></p>")
        if self.svg is not None:
            parts.append(self.svg)
        elif self.dot is not None:
            parts.append(f"<pre>{html.escape(self.dot)}</pre>")
        if self.report is not None:
            parts.append(self.report._repr_html_())
        parts += [f"<p><i>{html.escape(n)}</i></p>" for n in self.notes]
        return "<div class='symdiff-show'>" + "\n".join(parts) + "</div>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """``text/plain`` always, ``text/html`` (above), ``text/latex`` for the formula and
        ``image/svg+xml`` for the picture when they were made; front ends pick the richest
        they render. Everything was computed by ``show`` under its budgets."""
        bundle = {"text/plain": str(self), "text/html": self._repr_html_()}
        if self.latex is not None:
            bundle["text/latex"] = f"$\\displaystyle f = {self.latex}$"
        if self.svg is not None:
            bundle["image/svg+xml"] = self.svg
        return bundle


def _formula(f: Node) -> tuple:
    """LaTeX and presentation MathML of ``f``'s closed form (MathML None when SymPy's
    printer fails on it)."""
    expr = build(f)
    latex = paper_latex(expr)
    try:
        mathml = sympy.mathml(expr, printer="presentation")
    except Exception:   # the LaTeX is enough; HTML falls back on the plain text
        mathml = None
    return latex, mathml


def show(f: Node, at: Optional[Mapping[str, Any]] = None, max_nodes: int = 200,
         sympy_seconds: Optional[float] = None) -> Show:
    """Formula (LaTeX), graph (SVG) and, with ``at``, the gradient check of ``f``.

    Parts that cannot be made are left out with a note saying why (no closed form, SymPy
    past ``sympy_seconds``, a graph too large to draw or to lay out within
    ``DOT_SECONDS``, Graphviz not installed), so ``show`` works on any graph in bounded
    time. ``sympy_seconds`` (None: ``symdiff.budget.SYMPY_SECONDS``) is also the check's.

    >>> import symdiff as sd
    >>> a, b = sd.var("a"), sd.var("b")
    >>> s = sd.show((a + b) * (b + 1), at={"a": 3.0, "b": 1.0})
    >>> s.report.ok, "digraph" in s.dot
    (True, True)
    """
    f = as_function(f, "sd.show", context=at)
    max_nodes = as_int(max_nodes, "sd.show", "max_nodes", minimum=1)
    notes: list[str] = []
    latex = mathml = None
    size = len(topological([f]))
    if size > max_nodes:
        # SymPy's printers are slow on deep nests: the same limit as the picture
        notes.append(f"no formula: the graph has {size} nodes (more than max_nodes = "
                     f"{max_nodes})")
    else:
        try:
            latex, mathml = within(sympy_seconds, "the formula", lambda: _formula(f))
        except SymdiffError as e:
            notes.append(f"no closed form: {e}")
    dot = svg = None
    try:
        dot = to_dot(f, at=at, max_nodes=max_nodes)
        svg = pipe(dot, "svg").decode("utf-8")
        svg = svg[svg.find("<svg"):]   # drop the XML prolog and doctype inside HTML
    except GraphvizNotFoundError as e:
        notes.append(f"graph shown as DOT text: {e}")
    except (RenderError, SymdiffError) as e:
        notes.append(f"no graph: {e}")
    report = None
    if at is not None:
        report = check(f, at=at, sympy_seconds=sympy_seconds)
    return Show(f, latex, dot, svg, report, notes, mathml)
