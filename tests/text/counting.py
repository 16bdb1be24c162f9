"""A cheap builder for the readers' tests: each result is the number of builder calls in its
subtree, so a reading can be compared with ``ast.parse``'s node count without building
Nodes or SymPy objects."""
from __future__ import annotations


class Counter:
    """Each result is the number of builder calls in its subtree."""

    functions = None

    def number(self, value): return 1
    def name(self, identifier, position): return 1
    def binop(self, op, a, b): return a + b + 1
    def compare(self, op, a, b): return a + b + 1
    def unary(self, op, a): return a + 1
    def call(self, fname, args, kwargs, position):
        return 1 + sum(a for a in args if isinstance(a, int))
    def attribute(self, a, attr): return a + 1
    def subscript(self, a, key): return a + 1
