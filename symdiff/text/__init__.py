"""Safe reading of formula text: nothing in a text is ever run.

A text is checked for refused characters and spellings (``hygiene``, ``tokens``), parsed
by Python's own parser into an ``ast`` (in ``pieces`` when its tree is too deep for
``ast.parse`` to build), checked node by node against an allow-list (``allowlist``,
``checker``) and translated into calls on a *builder* (``reader``, ``builder``) that makes
the values. ``parse_sympy`` (``sympy_builder``) reads into SymPy; the graph layer's
``sd.parse`` and ``parse_claim`` (``symdiff.graph.parse``, ``symdiff.graph.claims``) build
Nodes with the same reader.

This layer imports only symdiff.errors, symdiff.budget, the standard library, numpy and
SymPy: never a Node.

>>> import sympy
>>> from symdiff.text import parse_sympy
>>> parse_sympy("x**2 + 1", {"x": sympy.Symbol("x")}, {})
x**2 + 1
"""
from symdiff.text.allowlist import KEYWORDS, MAX_DEPTH, MAX_LENGTH, MAX_NODES
from symdiff.text.builder import OperatorBuilder
from symdiff.text.reader import parse_with
from symdiff.text.sympy_builder import SympyBuilder, parse_sympy

__all__ = ["KEYWORDS", "MAX_DEPTH", "MAX_LENGTH", "MAX_NODES", "OperatorBuilder", "SympyBuilder",
           "parse_sympy", "parse_with"]
