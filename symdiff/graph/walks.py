"""Walks over a graph, iterative so that 100,000-node graphs never meet the recursion limit.

Imports nothing of symdiff but its errors: a walk needs only each node's ``args``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> [n.op for n in topological([x * x + 1])]
['var', 'mul', 'const', 'add']
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from symdiff.errors import SymdiffError

Node = Any  # anything with ``args``: a walk needs nothing else of a Node


class GraphLimitExceeded(SymdiffError):
    """``topological(..., limit=n)`` met more than n nodes (callers turn it into their
    own message)."""


def topological(roots: Iterable[Node], limit: Optional[int] = None) -> list[Node]:
    """Distinct nodes reachable from ``roots``, inputs first.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> [n.op for n in topological([x + 1, x * 2])]
    ['var', 'const', 'add', 'const', 'mul']
    """
    order: list[Node] = []
    seen: set[int] = set()
    mark = seen.add
    # depth first, arguments left to right, each node after its arguments; a frame is
    # (node, iterator over its arguments), so an edge costs one step of an iterator
    for root in roots:
        if id(root) in seen:
            continue
        mark(id(root))
        if limit is not None and len(seen) > limit:
            raise GraphLimitExceeded(f"the graph has more than {limit} nodes")
        stack = [(root, iter(root.args))]
        push, pop = stack.append, stack.pop
        while stack:
            node, args = stack[-1]
            for a in args:
                if id(a) in seen:
                    continue
                mark(id(a))
                if limit is not None and len(seen) > limit:
                    raise GraphLimitExceeded(f"the graph has more than {limit} nodes")
                if a.args:
                    push((a, iter(a.args)))
                    break
                order.append(a)  # a leaf: done at once
            else:
                pop()
                order.append(node)
    return order


def free_names(node: Node) -> list[str]:
    """Names of the free variables the graph depends on.

    >>> import symdiff as sd
    >>> free_names(sd.var("y") * sd.var("x") + 1)
    ['x', 'y']
    """
    return sorted({n.name for n in topological([node]) if n.op == "var"})
