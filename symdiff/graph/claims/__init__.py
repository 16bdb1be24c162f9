"""Matrix notation: claimed derivatives, and the matrix formulas symdiff prints, read back.

Used by ``parse_claim`` (the claims of ``sd.verify``) and ``sd.parse(..., matrix=True)``.
The rule: the text means what SymPy's printed matrix formulas mean. A 1-D variable of
shape (n,) is an n×1 column; ``*`` between two matrices (or vectors) is the matrix
product, as ``@`` is; a number times a matrix scales it; ``.T`` transposes; ``x.T*x`` is a
1×1 matrix and ``(x.T*x)[0, 0]`` its number; ``A**k`` is a matrix power (``A.T**(-1)``
the inverse transpose); ``+ - < >`` and functions act elementwise (``tanh.(A)``,
``relu'.(A)``, ``HadamardProduct(A, B)``); ``I`` is the identity and ``1`` next to a
matrix in a product, or ``1.T``, a matrix of ones, their sizes inferred;
``Matrix([[A, 0], [0, B]])`` is an explicit or block matrix (the one place a list is
allowed). Three spellings Python cannot parse are rewritten first, keeping positions:
``1.T`` -> ``1 .T``, ``f.(`` -> ``f (``, and the prime of ``relu'`` becomes a letter of
the name. The rewritten text then goes through the same allow-list as any formula
(``symdiff.text``).

The modules: ``reading`` (the rewrite, ``parse_matrix``), ``builder`` (``MatrixBuilder``,
the rules in full), ``terms`` and ``sizes`` (the pieces of a claim and the inference of
the sizes the text leaves open), ``functions`` (what a claim can call) and ``nodes``
(terms to graph Nodes). Imports symdiff.errors, symdiff.budget, symdiff.text and
symdiff.graph.node.
"""
from __future__ import annotations

from typing import Any, Mapping

from symdiff.budget import gc_paused
from symdiff.graph.claims.builder import MatrixBuilder
from symdiff.graph.claims.reading import parse_matrix
from symdiff.graph.node import Node
from symdiff.graph.walks import topological

__all__ = ["MatrixBuilder", "parse_claim", "parse_matrix"]


def parse_claim(text: str, variables: Any, wrt: Any = None) -> Node:
    """Parse a claimed derivative written in matrix notation into a graph ``Node``.

    ``variables``: the names the text may use, as a mapping name -> Node, a list of
    variable nodes, or a function Node (its variables and tensors). Any other name is a
    ``ParseError``. With ``wrt`` (the variable the claim is the derivative for), the
    result has ``wrt``'s shape: a matrix claim must have ``wrt``'s matrix shape (a vector
    of shape (n,) is an n×1 column), a number is broadcast to it. See ``MatrixBuilder``
    for the notation.

    >>> import symdiff as sd
    >>> A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
    >>> g = parse_claim("2*A.T*(A*x - b)", [A, x, b], wrt=x)
    >>> g.shape, g.sympy()
    ((2,), 2*A.T*(A*x - b))
    """
    if isinstance(variables, Node):
        variables = {n.name: n for n in topological([variables]) if n.op in ("var", "tensor")}
    elif isinstance(variables, Mapping):
        variables = dict(variables)
    else:
        variables = {n.name: n for n in variables}
    if wrt is not None and wrt.name not in variables:
        variables[wrt.name] = wrt
    builder = MatrixBuilder(variables, strict=True)
    with gc_paused(len(text) if isinstance(text, str) else 0):
        return builder.finish(parse_matrix(text, builder), wrt, text)
