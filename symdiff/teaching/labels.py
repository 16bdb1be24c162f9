"""How a teaching picture reads: node names, compact numbers, an op as an expression.

``name_nodes`` picks each node's name: the user's ``names``, else the node's ``.name``, else
the unused single lowercase letters in topological order, then ``v1, v2, ...``; ``fmt``
prints a number or an array compactly; ``expression`` shows an op applied to its inputs'
names with the row's ``display`` (``c * d``, ``sin(x)``, ``W @ x``).

May import numpy, ``numeric`` (the table's displays), ``symdiff.errors`` and
``symdiff.graph``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> f = sd.sin(x) * 2
>>> nodes = f.nodes()
>>> names = name_nodes(nodes, None)
>>> [names[id(n)] for n in nodes], expression(f, names)
(['x', 'a', '2', 'b'], 'a * 2')
"""
from __future__ import annotations

import string
from typing import Any, Iterator, Mapping, Optional

import numpy as np

from numeric import PRIMITIVES

from symdiff.errors import SymdiffError
from symdiff.graph.params import key_text
from symdiff.graph.node import Node

__all__ = ["name_nodes", "fmt", "expression", "key_text"]


def _letters() -> Iterator[str]:
    yield from string.ascii_lowercase
    k = 1
    while True:
        yield f"v{k}"
        k += 1


def name_nodes(nodes: list, names: Optional[Mapping[str, Node]]) -> dict:
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
        return f"{wrap[0]}[{key_text(p['key'])}]"
    shown = [f"{k}={v}" for k, v in p.items()
             if v is not None and v is not False and k != "key"]
    if node.op == "unindex":
        shown.insert(0, f"key=[{key_text(p['key'])}]")
    return f"{row.display}({', '.join(args + shown)})"
