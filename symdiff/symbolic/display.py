"""A Node's displays: its closed form as short text (``repr``) and as LaTeX (notebooks).

A display must never hang and never raise, whatever the graph: each runs under a short
budget, ``DISPLAY_SECONDS``, and falls back to a node count (``repr``) or to None
(``_repr_latex_``, so Jupyter shows the ``repr``) past it, past a node limit, or on any
failure of SymPy. The printing itself is inside the budget: a closed form that builds in
time can still take long to print.

May import: sympy, ``symdiff.budget``, ``symdiff.graph`` and ``symdiff.symbolic``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> short_text(sd.sin(x) * x)
'x*sin(x)'
"""
from __future__ import annotations

from typing import Optional


from symdiff.budget import OutOfTime, run_within
from symdiff.graph.node import Node
from symdiff.graph.walks import GraphLimitExceeded, topological
from symdiff.symbolic.closed_form import build
from symdiff.symbolic.latex import latex as paper_latex

DISPLAY_SECONDS = 2.0
"""Budget of a Node's ``repr`` and ``_repr_latex_``: past it they show a node count."""


def short_text(node: Node, limit: int = 60, seconds: Optional[float] = None) -> str:
    """The closed form of a small graph as text, for ``repr`` and titles; a node count
    (``<75 nodes>``) for graphs over ``limit`` nodes or when SymPy fails or needs more
    than ``seconds`` (None: ``DISPLAY_SECONDS``). Never raises, never hangs.

    >>> import symdiff as sd
    >>> short_text(sd.parse("exp(exp(exp(10.5)))*x"))
    '<6 nodes>'
    """
    count = _count(node, limit)
    if count > limit:
        return f"<more than {100 * limit:,} nodes>" if count > 100 * limit else f"<{count} nodes>"
    try:
        return run_within(DISPLAY_SECONDS if seconds is None else seconds,
                          lambda: str(build(node)))
    except (Exception, OutOfTime):  # a display never raises
        return f"<{count} nodes>"


def latex_text(node: Node, limit: int = 200, seconds: Optional[float] = None) -> Optional[str]:
    """``$...$`` LaTeX of a small graph's closed form for notebooks, or None (Jupyter then
    shows the plain ``repr``) past ``limit`` nodes, ``seconds`` (None:
    ``DISPLAY_SECONDS``), or on any failure.

    >>> import symdiff as sd
    >>> latex_text(sd.sin(sd.var("x")))
    '$\\\\sin{\\\\left(x \\\\right)}$'
    """
    if _count(node, limit) > limit:
        return None
    try:
        return run_within(DISPLAY_SECONDS if seconds is None else seconds,
                          lambda: f"${paper_latex(build(node))}$")
    except (Exception, OutOfTime):  # a display hook never raises
        return None


def _count(node: Node, limit: int) -> int:
    """Nodes of ``node``'s graph, counted up to 100 times ``limit`` (past it, that + 1):
    a display of a million-node graph does not walk it all."""
    try:
        return len(topological([node], limit=100 * limit))
    except GraphLimitExceeded:
        return 100 * limit + 1
