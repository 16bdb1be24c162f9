"""The analysis behind the teaching pictures: one walk of a graph gives names, values,
gradients and each edge's local partial and contribution to the backward sweep.

``analyze(f, at)`` returns a ``GraphInfo`` that ``to_dot`` (``symdiff.teaching.dot``) draws
and ``explain`` (``symdiff.teaching.explain``) narrates; the nodes' names come from
``symdiff.teaching.labels``.

Numbers come from the numeric evaluator, not from a sweep of its own: the graph is lowered
unoptimised with one slot per node (``lower(..., merge=False)``), its instructions in the
order the sweep is shown, and ``Program.sweep_steps`` reports the forward values, every
backward step's contribution (which this module puts on its edge) and every node's
accumulated gradient; so they are the table's VJPs, as ``sd.value_and_grad`` runs them.
Edge partials at the point are the same VJPs with the incoming gradient set to 1 (so kinks
follow the table's conventions: relu'(0) = 0); their symbolic text is the row's SymPy
partial (``symdiff.symbolic.partials``, the one ``sd.diff`` uses) for elementwise rows, and
the derivatives' table of adjoint texts (``symdiff.derivatives.adjoint_text``, beside the
adjoint rules) for structural and reduction rows. The SymPy partials are made within
SymPy's time budget; an edge past it (or one SymPy fails on) shows the rule's name.

May import numpy, SymPy, ``numeric`` and every layer below teaching (errors, budget,
graph, lowering, symbolic, derivatives), and ``symdiff.teaching.labels``.

>>> import symdiff as sd
>>> from symdiff.teaching.labels import fmt
>>> a, b = sd.var("a"), sd.var("b")
>>> info = analyze((a + b) * (b + 1), at={"a": 3, "b": 1})
>>> [(e.partial(info.names), fmt(e.value), fmt(e.contribution)) for e in info.edges if e.flows]
[('∂c/∂a', '1', '2'), ('∂c/∂b', '1', '2'), ('∂d/∂b', '1', '4'), ('∂e/∂c', '2', '2'), ('∂e/∂d', '4', '4')]
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Optional

import numpy as np

from numeric import PRIMITIVES
from numeric.primitives import sum_to

from symdiff.budget import OutOfMemory, OutOfTime, run_within
from symdiff.errors import SymdiffError
from symdiff.graph.walks import GraphLimitExceeded, topological
from symdiff.graph.node import Node
from symdiff.graph.values import as_int
from symdiff.lowering.lower import bind, graph_leaves, lower
from symdiff.derivatives.adjoint_text import structural_partial_text
from symdiff.symbolic.bounded import seconds_or_default
from symdiff.symbolic.partials import row_partial
from symdiff.teaching.labels import name_nodes

__all__ = ["analyze", "GraphInfo", "Edge", "GraphTooLargeError", "printer"]


class GraphTooLargeError(SymdiffError, ValueError):
    """The graph has more nodes than a picture (or a text) can usefully show."""


@dataclass
class Edge:
    """One argument edge ``parent -> child`` (``parent`` is ``child.args[index]``)."""

    parent: Node
    child: Node
    index: int
    flows: bool                 # a gradient flows along it
    symbolic: Optional[str]     # "d", "cos(x)", "g ↦ g @ bᵀ"; None from constants
    rule: bool = False          # symbolic is a rule on g (structural rows), not a formula
    expr: Any = None            # the SymPy partial (elementwise rows)
    value: Any = None           # the local partial at the point (None: not computed)
    contribution: Any = None    # the cotangent it adds to parent.grad in the sweep

    def partial(self, names: Mapping[int, str]) -> str:
        """``∂e/∂c`` with the nodes' names."""
        return f"∂{names[id(self.child)]}/∂{names[id(self.parent)]}"


@dataclass
class GraphInfo:
    """What a picture or an explanation needs: the graph, walked once."""

    f: Node
    nodes: list                                 # distinct nodes, inputs first
    names: dict                                 # id(node) -> name (constants: their value)
    edges: list                                 # Edge, by consumer in topological order
    varies: set                                 # ids of nodes that depend on a leaf
                                                #   requiring grad (through differentiable ops)
    reverse: list                               # the backward sweep's order, output first
    values: Optional[dict] = None               # id -> numpy value
    grads: Optional[dict] = None                # id -> numpy gradient of f (or of sum(f))
    seed_note: str = ""                         # why the seed is ones, for non-scalar f
    rep: dict = field(default_factory=dict)     # id(var) -> the var drawn for its name

    def canon(self, n: Node) -> Node:
        """The drawn node for an argument (variables with one name are one node)."""
        return self.rep.get(id(n), n)

    @property
    def inputs(self) -> list:
        """Leaves that require grad: the inputs of forward / reverse mode."""
        return [n for n in self.nodes if n.is_leaf and id(n) in self.varies]

    def scalar(self) -> bool:
        """Every node holds one element (numbers everywhere, not arrays)."""
        return all(n.size == 1 for n in self.nodes)


def analyze(f: Node, at: Optional[Mapping[str, Any]] = None,
            names: Optional[Mapping[str, Node]] = None, max_nodes: int = 200,
            who: str = "to_dot") -> GraphInfo:
    """Walk ``f``'s graph once: names, forward values, gradients and edge partials.

    >>> import symdiff as sd
    >>> from symdiff.teaching.labels import fmt
    >>> a, b = sd.var("a"), sd.var("b")
    >>> info = analyze((a + b) * (b + 1), at={"a": 3, "b": 1})
    >>> [(info.names[id(n)], fmt(info.grads[id(n)])) for n in info.inputs]
    [('a', '2'), ('b', '6')]
    """
    if not isinstance(f, Node):
        raise SymdiffError(f"{who}: expected a symdiff Node, got {type(f).__name__}")
    max_nodes = as_int(max_nodes, who, "max_nodes", minimum=1)
    order = _walk(f, max_nodes, who)
    graph_leaves(order)  # the same name must mean the same leaf
    first_var: dict = {}
    rep: dict = {}
    for n in order:
        if n.op == "var":
            rep[id(n)] = first_var.setdefault(n.name, n)  # var("x") twice is one variable

    def canon(n: Node) -> Node:
        return rep.get(id(n), n)

    nodes = [n for n in order if canon(n) is n]
    named = name_nodes(nodes, names)
    for k, v in rep.items():  # a second var("x") reads as x too
        named[k] = named[id(v)]
    varies: set = set()
    for n in nodes:
        if n.op == "var" or (n.op == "tensor" and n.requires_grad):
            varies.add(id(n))
        elif not n.is_leaf:
            row = PRIMITIVES[n.op]
            if any(id(canon(a)) in varies and row.vjp[j] is not None
                   for j, a in enumerate(n.args)):
                varies.add(id(n))
    edges = []
    labels = _edge_labels(nodes, canon, named)
    for n in nodes:
        for j, a in enumerate(n.args):
            a = canon(a)
            if a.op == "const":
                edges.append(Edge(a, n, j, False, None))
                continue
            text, is_rule, expr = labels.get((id(n), j)) or _rule_name(n)
            flows = id(a) in varies and PRIMITIVES[n.op].vjp[j] is not None
            edges.append(Edge(a, n, j, flows, text, is_rule, expr))
    info = GraphInfo(f, nodes, named, edges, varies, _reverse_order(f, canon), rep=rep)
    has_free = any(n.op == "var" for n in nodes)
    if at is None and has_free:
        return info
    _numbers(info, at)
    return info


def _walk(f: Node, max_nodes: int, who: str) -> list:
    """Topological order (inputs first), refusing early past ``max_nodes`` (iterative)."""
    try:
        return topological([f], limit=max_nodes)
    except GraphLimitExceeded:
        raise GraphTooLargeError(
            f"{who}: the graph has more than {max_nodes} nodes; a picture or a step-by-step "
            f"text of it would not be readable. Pass max_nodes= to raise the limit, or "
            f"show a smaller part of the graph") from None


def _reverse_order(f: Node, canon: Any) -> list:
    """Output first; a node comes after every node that consumes it (Kahn, FIFO by argument
    order), so for (a+b)*(b+1) the sweep visits e, c, d, a, b."""
    consumers: dict = {}
    seen = {id(f)}
    stack = [f]
    while stack:
        n = stack.pop()
        for a in n.args:
            a = canon(a)
            consumers[id(a)] = consumers.get(id(a), 0) + 1
            if id(a) not in seen:
                seen.add(id(a))
                stack.append(a)
    order = []
    queue = deque([f])
    while queue:
        n = queue.popleft()
        order.append(n)
        for a in n.args:
            a = canon(a)
            consumers[id(a)] -= 1
            if consumers[id(a)] == 0:
                queue.append(a)
    return order


def _numbers(info: GraphInfo, at: Optional[Mapping[str, Any]]) -> None:
    """Values, edge partials and, when ``f`` varies, contributions and gradients: one run
    of the lowered program, read back through its slots.

    Every node gets its own slot (two equal products are two nodes of the picture, each
    with its own gradient), and the instructions are emitted in the reverse of
    ``info.reverse``, so the program's reverse sweep adds each node's contributions in
    the order ``explain`` prints them: its running totals end on the gradients shown."""
    f = info.f
    sweep_order = [n for n in reversed(info.reverse) if not n.is_leaf]
    lowered = lower(f, info.inputs, optimize=False, merge=False, order=sweep_order)
    run = lowered.program.sweep_steps(*bind(lowered, at, {}))
    slot = lowered.slots
    info.values = {id(n): run.values[slot[id(n)]] for n in info.nodes}
    _local_partials(info)
    if id(f) not in info.varies:
        return
    if f.size != 1:
        info.seed_note = f"f has shape {f.shape}: the grads are those of sum(f) (seed: ones)"
    edge_at = {(slot[id(e.child)], e.index): e for e in info.edges}
    for step in run.steps:
        edge_at[step.slot, step.j].contribution = np.asarray(step.contribution,
                                                             dtype=np.float64)
    grads = {}
    for n in info.nodes:
        if id(n) in info.varies:  # a varying node no gradient reaches (only compared) gets 0
            g = run.cotangents[slot[id(n)]]
            grads[id(n)] = np.zeros(n.shape) if g is None else np.asarray(g, dtype=np.float64)
    info.grads = grads


def _local_partials(info: GraphInfo) -> None:
    """Each edge's partial at the point: the row's VJP with the incoming gradient 1."""
    small = info.scalar()
    v = info.values
    for e in info.edges:
        if e.symbolic is None or e.symbolic.startswith("0 ("):
            continue
        row = PRIMITIVES[e.child.op]
        if row.kind != "elementwise" and not small:
            continue
        xs = [v[id(info.canon(a))] for a in e.child.args]
        out = v[id(e.child)]
        with np.errstate(all="ignore"):
            p = row.vjp[e.index](np.ones(np.shape(out)), out, *xs, **e.child.params)
        if small:
            p = sum_to(np.asarray(p, dtype=np.float64), e.parent.shape)
        e.value = np.asarray(p, dtype=np.float64)


# ---------------------------------------------------------------------------
# symbolic partials on the edges: an elementwise row's from SymPy (symbolic.partials,
# shared with sd.diff), a structural row's text from the derivatives' table
# ---------------------------------------------------------------------------

def _symbol(n: Node, names: Mapping[int, str]) -> Any:
    import sympy

    from symdiff.symbolic.functions import to_sympy_number
    if n.op == "const" and n.size == 1:
        v = np.asarray(n._value).reshape(())
        return to_sympy_number(v.item())
    return sympy.Symbol(names[id(n)], real=True)


def _edge_labels(nodes: list, canon: Any, names: Mapping[int, str]) -> dict:
    """(id(node), j) -> ``_symbolic(node, j)`` for the edges from non-constants, computed
    within SymPy's budget (``symdiff.budget.SYMPY_SECONDS``, read at the call): edges it
    leaves out are labelled with the rule's name, so a picture never waits on SymPy."""
    out: dict = {}

    def work() -> None:
        for n in nodes:
            for j, a in enumerate(n.args):
                if canon(a).op != "const":
                    out[(id(n), j)] = _symbolic(n, j, names)
    try:
        run_within(seconds_or_default(None), work)
    except (OutOfTime, OutOfMemory):  # a step past its time or its memory cap
        pass
    return out


def _rule_name(node: Node) -> tuple:
    return f"the VJP rule of {PRIMITIVES[node.op].display}", True, None


def _symbolic(node: Node, j: int, names: Mapping[int, str]) -> tuple:
    """(text, is_rule, sympy expr or None) of ∂node/∂(input j)."""
    row = PRIMITIVES[node.op]
    if row.vjp[j] is None:
        return "0 (not differentiated)", False, None
    if row.kind != "elementwise":
        text, is_rule = structural_partial_text(node, j, names)
        return text, is_rule, None
    try:
        expr, dummies = row_partial(node.op, node.params, j)
        expr = expr.xreplace(dict(zip(dummies, (_symbol(a, names) for a in node.args))))
        return printer().doprint(expr), False, expr
    except Exception:  # a picture must not fail on SymPy: fall back to the rule's name
        return _rule_name(node)


@lru_cache(maxsize=1)
def printer() -> Any:
    """SymPy's str printer, printing where's Piecewise as ``(1 if c else 0)``."""
    from sympy.printing.str import StrPrinter

    class Printer(StrPrinter):
        def _print_Piecewise(self, expr: Any) -> str:
            if len(expr.args) == 2 and expr.args[1].cond == True:  # noqa: E712 (SymPy's true)
                (e1, c1), (e2, _) = expr.args
                return f"({self._print(e1)} if {self._print(c1)} else {self._print(e2)})"
            return super()._print_Piecewise(expr)

    return Printer()
