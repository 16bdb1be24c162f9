"""Graphviz pictures of a graph: values and gradients on the nodes, local partials on the edges.

Chris Olah's computational-graph picture, where "the key is to understand derivatives on
the edges": each node shows its value and its gradient ``grad = ∂f/∂node`` (PyTorch's
``.grad``), each edge the local partial derivative of the node it feeds with respect to
the node it comes from, symbolically and as a number at the point. The backward sweep
is then visible: a node's grad is the sum over its out-edges of the consumer's grad
times the edge's partial.

Legend (also drawn as a cluster in the picture):

- light blue box: a leaf that requires grad (``sd.var``, ``sd.tensor(..., requires_grad=True)``)
- light gray box: a constant, or a tensor with ``requires_grad=False`` (no grad)
- green: the output ``f``; its grad is the seed 1 (for an ``f`` of several elements the
  grads are those of ``sum(f)``, seed ones, and the picture says so in its title)
- double border: a node on which ``retain_grad()`` was called
- ellipse ``c = a + b``: an op, labelled with the row's ``display`` from the table
- edge ``∂e/∂c = d`` / ``= 2``: the local partial of the consumer with respect to its
  input, symbolic (``sympy.diff`` of the row's formula for elementwise rows, a short
  rule such as ``g ↦ g @ bᵀ`` for structural and reduction rows) and its value at the
  point; dashed gray edges carry no gradient

Numbers come from the numeric evaluator: forward values from the lowered program,
gradients from the table's hand-written VJPs applied in reverse topological order, edge
partials from the same VJPs with the incoming gradient set to 1 (so kinks follow the
table's conventions: relu'(0) = 0). Interior nodes are named ``names`` (user's), else
their ``.name``, else the unused single lowercase letters in topological order (not ``g``
in graphs with structural ops, whose edges use ``g`` for the incoming gradient), then
``v1, v2, ...``. Values are shown when ``at`` is given or when every leaf is bound
(tensors, constants). Graphs over ``max_nodes`` nodes are refused (``GraphTooLargeError``).

>>> import symdiff as sd
>>> a, b = sd.var("a"), sd.var("b")
>>> text = to_dot((a + b) * (b + 1), at={"a": 3, "b": 1})
>>> print("\\n".join(line for line in text.splitlines() if "->" in line and "legend" not in line))
  n0 -> n2 [label="∂c/∂a = 1"];
  n1 -> n2 [label="∂c/∂b = 1"];
  n1 -> n4 [label="∂d/∂b = 1"];
  n3 -> n4 [style=dashed, color=gray60, label="constant"];
  n2 -> n5 [label="∂e/∂c = d\\n= 2"];
  n4 -> n5 [label="∂e/∂d = c\\n= 4"];
"""
from __future__ import annotations

import os
import pathlib
import shutil
import string
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Optional

import numpy as np

from numeric import PRIMITIVES
from numeric.primitives import sum_to

from symdiff.errors import SymdiffError
from symdiff.lowering.lower import bind, graph_leaves, lower
from symdiff.graph.node import GraphLimitExceeded, Node, topological

__all__ = ["to_dot", "render", "analyze", "GraphInfo", "Edge", "GraphTooLargeError",
           "RenderError", "GraphvizNotFoundError", "fmt", "expression"]

INSTALL_HINT = ("install the Python package with pip install 'symdiff-graph[viz]' (or pip install "
                "graphviz) and Graphviz's dot program with apt-get install graphviz (Debian/"
                "Ubuntu), brew install graphviz (macOS) or conda install graphviz")
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}


class GraphTooLargeError(SymdiffError, ValueError):
    """The graph has more nodes than a picture (or a text) can usefully show."""


class RenderError(SymdiffError, ValueError):
    """``render`` cannot produce the requested file (unknown suffix, Graphviz failed)."""


class GraphvizNotFoundError(RenderError, RuntimeError):
    """The ``graphviz`` Python package or Graphviz's ``dot`` program is missing."""


# ---------------------------------------------------------------------------
# analysis shared with explain.py: names, values, gradients, edge partials
# ---------------------------------------------------------------------------

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


def _walk(f: Node, max_nodes: int, who: str) -> list:
    """Topological order (inputs first), refusing early past ``max_nodes`` (iterative)."""
    try:
        return topological([f], limit=max_nodes)
    except GraphLimitExceeded:
        raise GraphTooLargeError(
            f"{who}: the graph has more than {max_nodes} nodes; a picture or a step-by-step "
            f"text of it would not be readable. Pass max_nodes= to raise the limit, or "
            f"show a smaller part of the graph") from None


def _letters() -> Any:
    yield from string.ascii_lowercase
    k = 1
    while True:
        yield f"v{k}"
        k += 1


def _name_nodes(nodes: list, names: Optional[Mapping[str, Node]]) -> dict:
    """id -> name: the user's ``names``, else ``.name``, else unused letters, then v1, v2, ...

    ``g`` is left out of the automatic letters when the graph has a structural or
    reduction op, whose edges read ``g ↦ g @ bᵀ`` (g: the incoming gradient)."""
    out: dict = {}
    in_graph = {id(n) for n in nodes}
    for name, node in (names or {}).items():
        if not isinstance(node, Node) or id(node) not in in_graph:
            what = node._describe() if isinstance(node, Node) else type(node).__name__
            raise SymdiffError(f"names: {name!r} must map to a node of the graph, got {what}")
        out[id(node)] = str(name)
    for n in nodes:
        if id(n) not in out and n.name and n.op != "const":
            out[id(n)] = n.name
    taken = set(out.values())
    if any(not n.is_leaf and PRIMITIVES[n.op].kind != "elementwise" for n in nodes):
        taken_auto = taken | {"g"}
    else:
        taken_auto = taken
    if len(taken) != len(out):
        dup = sorted(v for v in taken if list(out.values()).count(v) > 1)
        raise SymdiffError(f"names: the name {dup[0]!r} is given to two different nodes")
    fresh = (c for c in _letters() if c not in taken_auto)
    for n in nodes:
        if id(n) in out:
            continue
        if n.op == "const" and n.size == 1:
            out[id(n)] = fmt(n._value)
        else:
            out[id(n)] = next(fresh)
    return out


def fmt(v: Any) -> str:
    """A compact number: 6 significant digits, integers without '.0', arrays abbreviated.

    >>> fmt(2.0), fmt(0.5403023058681398), fmt(np.arange(6.0))
    ('2', '0.540302', '[0, 1, 2, …] ‖·‖=7.42')
    """
    a = np.asarray(v)
    if a.size == 1:
        x = a.reshape(()).item()
        if isinstance(x, bool):
            return str(x)
        x = float(x)
        return "0" if x == 0 else f"{x:.6g}"
    if a.dtype == np.bool_:
        a = a.astype(np.float64)
    flat = a.ravel()
    if a.size <= 4:
        return "[" + ", ".join(fmt(x) for x in flat) + "]"
    norm = float(np.sqrt(np.sum(flat * flat)))
    return "[" + ", ".join(fmt(x) for x in flat[:3]) + f", …] ‖·‖={norm:.3g}"


_INFIX = {"add", "sub", "mul", "div", "matmul", "pow_tensor", "greater", "greater_equal",
          "less", "less_equal"}


def _key_text(key: Any) -> str:
    parts = []
    for k in key:
        if isinstance(k, tuple) and k and k[0] == "slice":
            s = ":".join("" if v is None else str(v) for v in k[1:3])
            parts.append(s + (f":{k[3]}" if k[3] is not None else ""))
        else:
            parts.append("..." if k is Ellipsis else str(k))
    return ", ".join(parts)


def expression(node: Node, names: Mapping[int, str]) -> str:
    """The op applied to its inputs' names, labelled with the row's ``display``: ``a + b``.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> f = sd.sin(x) * x**2
    >>> names = {id(n): nm for n, nm in zip(f.nodes(), ["x", "s", "p", "f"])}
    >>> [expression(n, names) for n in f.nodes()[1:]]
    ['sin(x)', 'x**2', 's * p']
    """
    if node.is_leaf:
        return names[id(node)]
    row = PRIMITIVES[node.op]
    args = [names[id(a)] for a in node.args]
    wrap = [f"({s})" if s.startswith("-") else s for s in args]
    p = node.params
    if node.op in _INFIX:
        return f" {row.display} ".join(wrap)
    if node.op == "pow":
        return f"{wrap[0]}**{fmt(p['p'])}"
    if node.op == "neg":
        return f"-{wrap[0]}"
    if node.op == "transpose" and p.get("axes") is None:
        return f"{wrap[0]}ᵀ"
    if node.op == "index":
        return f"{wrap[0]}[{_key_text(p['key'])}]"
    shown = [f"{k}={v}" for k, v in p.items()
             if v is not None and v is not False and k != "key"]
    if node.op == "unindex":
        shown.insert(0, f"key=[{_key_text(p['key'])}]")
    return f"{row.display}({', '.join(args + shown)})"


_SYMPY_CACHE: dict = {}


def _elementwise_partial(op: str, params: dict, j: int) -> Any:
    """d(row formula)/d(input j) over the row's dummy symbols, cached per row and params."""
    import sympy

    from symdiff.symbolic.functions import template
    key = (op, tuple(sorted((k, repr(v)) for k, v in params.items())), j)
    if key not in _SYMPY_CACHE:
        t = template(op)
        _SYMPY_CACHE[key] = (sympy.diff(t.instantiate(t.args, params), t.args[j]), t.args)
    return _SYMPY_CACHE[key]


def _structural(node: Node, j: int, names: Mapping[int, str]) -> tuple:
    """(text, is_rule) of the local derivative of a reduction or structural row."""
    c = names[id(node)]
    xs = [names[id(a)] for a in node.args]
    x = xs[0]
    shape = node.args[j].shape
    op = node.op
    if op == "sum":
        return "1 for each summed entry", False
    if op == "mean":
        n = node.args[0].size // max(node.size, 1)
        return f"1/{n} for each averaged entry", False
    if op == "logsumexp":
        return f"softmax({x}) = exp({x} - {c})", False
    if op == "norm":
        return f"{x}/{c}", False
    if op == "trace":
        return "I (the identity)", False
    if op == "det":
        return f"{c}·{x}⁻ᵀ", False
    if op == "logdet":
        return f"{x}⁻ᵀ", False
    if op == "inv":
        return f"g ↦ -{c}ᵀ @ g @ {c}ᵀ", True
    if op == "matmul":
        return (f"g ↦ g @ {xs[1]}ᵀ", True) if j == 0 else (f"g ↦ {xs[0]}ᵀ @ g", True)
    if op == "transpose":
        return "g ↦ gᵀ" if node.params.get("axes") is None else "g ↦ g transposed back", True
    if op == "reshape":
        return f"g ↦ reshape(g, {shape})", True
    if op == "index":
        return f"g ↦ zeros{shape} with g at [{_key_text(node.params['key'])}]", True
    if op == "unindex":
        return f"g ↦ g[{_key_text(node.params['key'])}]", True
    if op == "broadcast_to":
        return f"g ↦ g summed back to shape {shape}", True
    return f"the VJP rule of {PRIMITIVES[op].display}", True


def _symbol(n: Node, names: Mapping[int, str]) -> Any:
    import sympy

    from symdiff.symbolic.functions import to_sympy_number
    if n.op == "const" and n.size == 1:
        v = np.asarray(n._value).reshape(())
        return to_sympy_number(v.item())
    return sympy.Symbol(names[id(n)], real=True)


def _symbolic(node: Node, j: int, names: Mapping[int, str]) -> tuple:
    """(text, is_rule, sympy expr or None) of ∂node/∂(input j)."""
    row = PRIMITIVES[node.op]
    if row.vjp[j] is None:
        return "0 (not differentiated)", False, None
    if row.kind != "elementwise":
        text, is_rule = _structural(node, j, names)
        return text, is_rule, None
    try:
        expr, dummies = _elementwise_partial(node.op, node.params, j)
        expr = expr.xreplace(dict(zip(dummies, (_symbol(a, names) for a in node.args))))
        return _printer().doprint(expr), False, expr
    except Exception:  # a picture must not fail on SymPy: fall back to the rule's name
        return f"the VJP rule of {row.display}", True, None


@lru_cache(maxsize=1)
def _printer() -> Any:
    """SymPy's str printer, printing where's Piecewise as ``(1 if c else 0)``."""
    from sympy.printing.str import StrPrinter

    class Printer(StrPrinter):
        def _print_Piecewise(self, expr: Any) -> str:
            if len(expr.args) == 2 and expr.args[1].cond == True:  # noqa: E712 (SymPy's true)
                (e1, c1), (e2, _) = expr.args
                return f"({self._print(e1)} if {self._print(c1)} else {self._print(e2)})"
            return super()._print_Piecewise(expr)

    return Printer()


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


def analyze(f: Node, at: Optional[Mapping[str, Any]] = None,
            names: Optional[Mapping[str, Node]] = None, max_nodes: int = 200,
            who: str = "to_dot") -> GraphInfo:
    """Walk ``f``'s graph once: names, forward values, gradients and edge partials.

    >>> import symdiff as sd
    >>> a, b = sd.var("a"), sd.var("b")
    >>> info = analyze((a + b) * (b + 1), at={"a": 3, "b": 1})
    >>> [(info.names[id(n)], fmt(info.grads[id(n)])) for n in info.inputs]
    [('a', '2'), ('b', '6')]
    """
    if not isinstance(f, Node):
        raise SymdiffError(f"{who}: expected a symdiff Node, got {type(f).__name__}")
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
    named = _name_nodes(nodes, names)
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
    for n in nodes:
        for j, a in enumerate(n.args):
            a = canon(a)
            if a.op == "const":
                edges.append(Edge(a, n, j, False, None))
                continue
            text, is_rule, expr = _symbolic(n, j, named)
            flows = id(a) in varies and PRIMITIVES[n.op].vjp[j] is not None
            edges.append(Edge(a, n, j, flows, text, is_rule, expr))
    info = GraphInfo(f, nodes, named, edges, varies, _reverse_order(f, canon), rep=rep)
    has_free = any(n.op == "var" for n in nodes)
    if at is None and has_free:
        return info
    lowered = lower(f)
    vals = lowered.program.values(*bind(lowered, at, {}))
    info.values = {id(n): vals[lowered.slots[id(n)]] for n in nodes}
    _local_partials(info)
    if id(f) in varies:
        _sweep(info)
    return info


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


def _sweep(info: GraphInfo) -> None:
    """The reverse sweep: the table's VJPs (the rules ``Program`` runs) in ``info.reverse``
    order, each cotangent summed back to its input's shape, accumulated per node."""
    f = info.f
    v = info.values
    grads: dict = {id(f): np.ones(f.shape)}
    if f.size != 1:
        info.seed_note = f"f has shape {f.shape}: the grads are those of sum(f) (seed: ones)"
    by_child: dict = {}
    for e in info.edges:
        by_child.setdefault(id(e.child), []).append(e)
    for n in info.reverse:
        g = grads.get(id(n))
        if g is None or n.is_leaf:
            continue
        row = PRIMITIVES[n.op]
        xs = [v[id(info.canon(a))] for a in n.args]
        out = v[id(n)]
        for e in by_child.get(id(n), []):
            if not e.flows:
                continue
            with np.errstate(all="ignore"):
                c = row.vjp[e.index](g, out, *xs, **n.params)
            if np.shape(c) != e.parent.shape:
                c = sum_to(c, e.parent.shape)
            c = np.asarray(c, dtype=np.float64)
            e.contribution = c
            prev = grads.get(id(e.parent))
            grads[id(e.parent)] = c if prev is None else prev + c
    for n in info.nodes:  # varying nodes no gradient reaches (only used by a comparison)
        if id(n) in info.varies and id(n) not in grads:
            grads[id(n)] = np.zeros(n.shape)
    info.grads = grads


# ---------------------------------------------------------------------------
# DOT text
# ---------------------------------------------------------------------------

def _q(s: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(d: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items())


def _node_label(n: Node, info: GraphInfo) -> str:
    name = info.names[id(n)]
    if n.op == "const":
        head = name if n.size == 1 else f"{name} = {fmt(n._value)}"
    elif n.is_leaf:
        head = name
    else:
        head = f"{name} = {expression(n, info.names)}"
    lines = [head]
    if n.shape:
        lines.append(f"shape {n.shape}")
    if info.values is not None and n.op != "const":
        lines.append(f"value {fmt(info.values[id(n)])}")
    if info.grads is not None and id(n) in info.grads:
        lines.append(f"grad {fmt(info.grads[id(n)])}")
    return "\n".join(lines)


def _edge_label(e: Edge, info: GraphInfo) -> str:
    if e.symbolic is None:
        return "constant"
    sep = ": " if e.rule else " = "
    label = f"{e.partial(info.names)}{sep}{e.symbolic}"
    if e.value is not None and (e.expr is None or not e.expr.is_Number):
        label += f"\n= {fmt(e.value)}"
    if e.symbolic.startswith("0 ("):
        return label
    if not e.flows:
        label += "\n(no gradient flows)"
    return label


def to_dot(f: Node, at: Optional[Mapping[str, Any]] = None,
           names: Optional[Mapping[str, Node]] = None, max_nodes: int = 200) -> str:
    """Graphviz DOT text of ``f``'s graph: ops, values, grads, local partials on the edges.

    See the module docstring for the legend. ``at`` gives values for the variables by
    name (bound tensors use their own values); ``names`` maps a name to an interior node.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> text = to_dot(sd.sin(x) * x, at={"x": 0.0})
    >>> "∂a/∂x = cos(x)" in text, 'label="a = sin(x)\\\\nvalue 0\\\\ngrad 0"' in text
    (True, True)
    """
    info = analyze(f, at, names, max_nodes, "to_dot")
    return _dot_text(info)


def _dot_text(info: GraphInfo) -> str:
    out_name = info.names[id(info.f)]
    title = f"symdiff: values, grads (∂{out_name}/∂node) and local partials on the edges"
    if info.values is None:
        title = "symdiff: local partials on the edges (pass at={...} for values and grads)"
    elif info.grads is None:
        title = "symdiff: values (f does not depend on anything that requires grad)"
    if info.seed_note:
        title += "\n" + info.seed_note
    out = ["digraph symdiff {",
           f"  graph [rankdir=BT, labelloc=t, fontname=Helvetica, label={_q(title)}];",
           "  node [fontname=Helvetica, fontsize=11];",
           "  edge [fontname=Helvetica, fontsize=10];"]
    ids = {id(n): f"n{k}" for k, n in enumerate(info.nodes)}
    for n in info.nodes:
        a: dict = {"label": _q(_node_label(n, info))}
        if n.is_leaf:
            a["shape"] = "box"
            a["style"] = '"filled,rounded"'
            a["fillcolor"] = "lightblue" if id(n) in info.varies else "lightgray"
        else:
            a["shape"] = "ellipse"
        if n is info.f:
            a["style"] = '"filled,rounded"' if n.is_leaf else "filled"
            a["fillcolor"] = "darkolivegreen1"
        if n._retain:
            a["peripheries"] = "2"
        out.append(f"  {ids[id(n)]} [{_attrs(a)}];")
    for e in info.edges:
        a = {}
        if not e.flows:
            a = {"style": "dashed", "color": "gray60"}
        a["label"] = _q(_edge_label(e, info))
        out.append(f"  {ids[id(e.parent)]} -> {ids[id(e.child)]} [{_attrs(a)}];")
    out += _legend()
    out.append("}")
    return "\n".join(out) + "\n"


def _legend() -> list:
    box = 'shape=box, style="filled,rounded"'
    return [
        "  subgraph cluster_legend {",
        '    label="Legend"; fontname=Helvetica; style=dashed; color=gray60;',
        "    node [fontname=Helvetica, fontsize=9];",
        f'    legend_leaf [label="leaf that requires grad", {box}, fillcolor=lightblue];',
        f'    legend_const [label="constant / no grad", {box}, fillcolor=lightgray];',
        '    legend_out [label="output f (grad = seed 1)", style=filled, '
        'fillcolor=darkolivegreen1];',
        '    legend_retain [label="retain_grad() called", peripheries=2];',
        '    legend_op [label="name = op(inputs)\\nvalue: forward value\\n'
        'grad: ∂f/∂node (total)"];',
        '    legend_in [label="input", shape=plaintext];',
        '    legend_in -> legend_op [label="∂out/∂in = local partial\\n= its value at the point\\n'
        '(dashed: no gradient flows)"];',
        "  }",
    ]


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------

def render(f: Node, path: str | os.PathLike, at: Optional[Mapping[str, Any]] = None,
           names: Optional[Mapping[str, Node]] = None, max_nodes: int = 200) -> pathlib.Path:
    """Write the picture of ``to_dot(f, ...)`` to ``path``; the suffix picks the format.

    ``.svg``, ``.png`` and ``.pdf`` run Graphviz's ``dot`` through the ``graphviz`` Python
    package (``pip install 'symdiff-graph[viz]'`` and the system Graphviz);
    ``.dot`` (or ``.gv``) writes the DOT text and needs neither.

    >>> import tempfile, pathlib, symdiff as sd
    >>> a, b = sd.var("a"), sd.var("b")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = render((a + b) * (b + 1), pathlib.Path(tmp) / "olah.dot", at={"a": 3, "b": 1})
    ...     (p.name, p.read_text(encoding="utf-8").startswith("digraph"))
    ('olah.dot', True)
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise RenderError(f"render: cannot tell the format from {str(path)!r}: use a file name "
                          f"ending in {', '.join(FORMATS)}")
    text = to_dot(f, at, names, max_nodes)
    fmt_name = FORMATS[suffix]
    if fmt_name is None:
        path.write_text(text, encoding="utf-8")
        return path
    path.write_bytes(pipe(text, fmt_name, path.name))
    return path


def pipe(text: str, fmt_name: str, what: str = "the graph") -> bytes:
    """DOT text rendered by Graphviz's ``dot`` into ``fmt_name`` ("svg", "png", "pdf");
    ``GraphvizNotFoundError`` says how to install Graphviz when it is missing. With
    Graphviz installed (the tests render for real in ``tests/test_dot.py``)::

        svg = pipe("digraph { a -> b }", "svg").decode()
    """
    try:
        import graphviz
    except ImportError:
        raise GraphvizNotFoundError(f"render: the graphviz Python package is not installed; "
                                    f"{INSTALL_HINT}") from None
    if shutil.which("dot") is None:
        raise GraphvizNotFoundError(f"render: Graphviz's dot program is not on PATH; "
                                    f"{INSTALL_HINT}. Writing a .dot file needs neither.")
    try:
        data = graphviz.Source(text, encoding="utf-8").pipe(format=fmt_name)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(f"render: Graphviz's dot program could not be run; "
                                    f"{INSTALL_HINT}") from None
    except graphviz.CalledProcessError as e:
        err = (e.stderr or b"").decode("utf-8", "replace").strip()
        raise RenderError(f"render: Graphviz's dot failed on {what}: {err}") from None
    return data
