"""Reading ``sd.verify``'s inputs: f, and the claims as Nodes of their variables' shapes.

A claim is text (read in symdiff's matrix notation by the safe claim parser, never
executed), a SymPy expression (scalar, matrix expression, or an explicit ``Matrix``/
``Array`` of entries over ``W[i, j]``), a Node or a number; a function (gradient code)
stands as a ``checking.code.CodeClaim``, run and compared numerically. Every refusal (unknown
variable, wrong shape, unreadable text) is raised here with the claim's variable named.

May import SymPy, numpy, ``symdiff.errors``, ``symdiff.graph`` and ``symdiff.symbolic``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> read_claims({x: 3}, {"x": x})[1][0].sympy()
3
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional

import numpy as np
import sympy

from symdiff.checking.report import formula
from symdiff.errors import (ArgumentError, ParseError, ShapeError, SymdiffError,
                            VariableError)
from symdiff.graph.arguments import as_function, match_leaves
from symdiff.graph.node import Node, apply, const
from symdiff.graph.walks import topological
from symdiff.symbolic.sympy_input import is_sympy


def read_function(f: Any, context: Any = None) -> Node:
    """``f`` as a scalar Node: a Node of one element, formula text (``sd.parse``) or a
    SymPy expression (``as_function``; ``context``: the claims and ``at``, for shapes).

    >>> read_function("x**2 + 1").sympy()
    x**2 + 1
    """
    if isinstance(f, str):
        from symdiff.graph.parse import parse
        f = parse(f)
    elif is_sympy(f):
        f = as_function(f, "sd.verify", context=context)
    if not isinstance(f, Node):
        raise SymdiffError(f"verify() needs a symdiff Node (or formula text, or a Python "
                           f"function with at=...), got {type(f).__name__}")
    if f.size != 1:
        raise ShapeError(f"verify() checks gradients of a scalar f; this f has shape "
                         f"{f.shape} ({f.size} elements): reduce it first, e.g. "
                         "sd.sum(f), or check one element f[i]")
    return f


def read_claims(claims: Any, leaves: dict, notation: str = "auto"
                ) -> tuple[list, list, dict]:
    """The variables claimed (``wrt``), each claim as a Node of its variable's shape, and
    the claims as given (text); ``leaves``: f's variables by name (``graph_leaves``).
    ``notation``: how text is read (``NOTATIONS``; see ``read_text``).

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> wrt, nodes, texts = read_claims({"x": "2*x"}, {"x": x})
    >>> wrt == [x], nodes[0].sympy(), texts
    (True, 2*x, {'x': '2*x'})
    """
    if not isinstance(claims, Mapping) or not claims:
        raise SymdiffError("claims must be a non-empty mapping: variable (name or node) -> "
                           "claimed derivative (text, SymPy expression or Node)")
    wrt: list[Node] = []
    for key in claims:
        if isinstance(key, Node):
            if key.op not in ("var", "tensor"):
                raise VariableError(f"a claim is keyed by {key._describe()}; keys are "
                                    "variables (or their names)")
            match_leaves(leaves, [key], "sd.verify", "claims")
            seen = leaves.get(key.name)
            w = seen if seen is not None else key
        else:
            name = str(key)
            w = leaves.get(name)
            if w is None:
                known = ", ".join(sorted(leaves)) or "none"
                raise VariableError(f"f has no variable '{name}' (its variables: {known}); "
                                    "to claim a derivative with respect to a variable f does "
                                    "not use, key the claim by the variable node")
        if any(v is w for v in wrt):
            raise VariableError(f"two claims for '{w.name}'")
        wrt.append(w)
    variables = dict(leaves)
    for w in wrt:
        variables.setdefault(w.name, w)
    notation = check_notation(notation, "sd.verify")
    nodes, texts = [], {}
    for w, value in zip(wrt, claims.values()):
        node, texts[w.name] = _claim_node(value, w, variables, notation)
        nodes.append(node)
    return wrt, nodes, texts


def _claim_node(value: Any, w: Node, variables: dict, notation: str) -> tuple[Node, str]:
    if isinstance(value, str):
        try:
            node = read_text(value, w, variables, notation)
        except ParseError as e:
            raise ParseError(f"claim for '{w.name}': {e.message}", e.text, e.position) \
                from None
        text = value.strip()
    elif isinstance(value, Node):
        node, text = value, formula(value)
        stray = sorted({n.name for n in topological([node]) if n.op in ("var", "tensor")
                        and n.name not in variables})
        if stray:
            raise VariableError(f"the claim for '{w.name}' uses {', '.join(stray)}, which "
                                "f does not have")
    elif isinstance(value, (sympy.Basic, sympy.MatrixBase, sympy.NDimArray)):
        node, text = _from_sympy(value, w, variables), str(value)
    elif isinstance(value, (int, float, np.ndarray, list, tuple, np.number)):
        node, text = const(value), np.array2string(np.asarray(value), separator=", ")
    elif callable(value) and not isinstance(value, type):
        # code: run at each point by checking.code, compared numerically
        from symdiff.checking.code import CodeClaim, name_of
        return CodeClaim(value, w.name), name_of(value)
    else:
        raise SymdiffError(f"the claim for '{w.name}' is a {type(value).__name__}; give "
                           "text, a SymPy expression, a Node, a number or a function "
                           "computing the gradient")
    if node.shape != w.shape:
        if node.shape == ():
            node = apply("broadcast_to", node, shape=w.shape)
        else:
            raise ShapeError(f"the claim for '{w.name}' has shape {node.shape}, but "
                             f"'{w.name}' has shape {w.shape}")
    if node.is_leaf:   # keep the variable's own node untouched (its cache is shared)
        node = apply("mul", node, 1.0)
    node._cache["context"] = frozenset(variables) | node._cache.get("context", frozenset())
    return node, text


NOTATIONS = ("auto", "matrix", "numpy")
"""How claim text is read: ``"matrix"``, the notation symdiff prints (``*`` of two
matrices is the matrix product, 1-D variables are columns); ``"numpy"``, the notation of
``sd.parse`` and of numpy code (``@`` the matrix product, ``*`` elementwise); ``"auto"``
(the default): text with ``@`` is read both ways and must mean the same in both unless
only one reading works; text without ``@`` is matrix notation, or numpy notation when
matrix notation cannot read it (``y*y`` of two columns, ``softmax(z)``; a claim read but
of the wrong shape stays a matrix-notation error)."""


def check_notation(notation: Any, who: str) -> str:
    if notation not in NOTATIONS:
        raise ArgumentError(f"{who}: notation must be one of {', '.join(map(repr, NOTATIONS))}, "
                            f"not {notation!r}")
    return notation


def read_text(text: str, w: Node, variables: dict, notation: str = "auto") -> Node:
    """Claim text for variable ``w`` as a Node of ``w``'s shape, in ``notation``; a claim
    read in numpy notation is marked (``_cache["notation"]``) so the report can say so.

    >>> import symdiff as sd
    >>> X, y, w = sd.var("X", (5, 3)), sd.var("y", (5,)), sd.var("w", (3,))
    >>> read_text("X.T @ (y * (X @ w))", w, {"X": X, "y": y, "w": w})._cache["notation"]
    'numpy'
    >>> read_text("2*X.T*X*w", w, {"X": X, "y": y, "w": w}).sympy()
    2*X.T*X*w
    """
    from symdiff.graph.claims import parse_claim
    from symdiff.graph.parse import CLAIM_FUNCTIONS, parse_numpy_claim

    def as_numpy() -> Node:
        node = parse_numpy_claim(text, variables)
        if node.shape not in (w.shape, ()):
            raise ParseError(f"in numpy notation the claim has shape {node.shape}, but "
                             f"'{w.name}' has shape {w.shape}")
        node = node if node.shape == w.shape else apply("broadcast_to", node, shape=w.shape)
        node = apply("mul", node, 1.0) if node.is_leaf else node
        node._cache["notation"] = "numpy"
        return node

    if notation == "matrix":
        return parse_claim(text, variables, wrt=w)
    if notation == "numpy":
        return as_numpy()
    matrix = numpy = None
    errors: list[SymdiffError] = []
    try:
        matrix = parse_claim(text, variables, wrt=w)
    except ShapeError:
        if "@" not in text:   # read, but of the wrong shape: a matrix-notation claim
            raise
    except ParseError as e:
        errors.append(e)
    if matrix is not None and "@" not in text:
        return matrix
    try:
        numpy = as_numpy()
    except (ParseError, ShapeError) as e:
        errors.append(e)
    if matrix is None and numpy is None:
        # the numpy reading's error where the text is numpy's (an @, or a function only
        # numpy notation knows): it names the real problem
        first = errors[0]
        known = re.match(r"unknown function '(\w+)'", getattr(first, "message", ""))
        numpy_only = known is not None and known.group(1) in CLAIM_FUNCTIONS
        raise errors[-1] if "@" in text or numpy_only else first
    if matrix is None or numpy is None:
        return matrix if numpy is None else numpy
    if not _same_values(matrix, numpy, variables):
        raise ParseError("the claim means different things in matrix notation (* of two "
                         "matrices the matrix product) and in numpy notation (* "
                         "elementwise); say which: notation='matrix' or notation='numpy' "
                         "(--notation on the command line)", text, None)
    return matrix


def _same_values(a: Node, b: Node, variables: dict) -> bool:
    """``a`` and ``b`` agree at a random point (two readings of one text)."""
    from symdiff.lowering.lower import evaluate
    rng = np.random.default_rng(0)
    names = {n.name: n for n in topological([a, b]) if n.op in ("var", "tensor")}
    point = {k: rng.uniform(0.5, 1.5, n.shape) for k, n in names.items()}
    try:
        with np.errstate(all="ignore"):
            va, vb = np.asarray(evaluate(a, point)), np.asarray(evaluate(b, point))
    except (SymdiffError, ValueError, ArithmeticError):
        return False
    return va.shape == vb.shape and bool(np.allclose(va, vb, rtol=1e-9, atol=1e-12))


def _from_sympy(expr: Any, w: Node, variables: dict) -> Node:
    """A claim given as a SymPy object -> Node."""
    from symdiff.symbolic.from_sympy import from_sympy
    from symdiff.graph.claims import parse_claim
    if isinstance(expr, (sympy.MatrixBase, sympy.NDimArray)):
        arr = np.array(expr.tolist(), dtype=object)
        shape = w.shape
        if arr.shape != shape and arr.size == int(np.prod(shape, dtype=np.int64)) and \
                len(shape) == 1 and arr.shape in ((shape[0], 1), (1, shape[0])):
            arr = arr.reshape(shape)
        if arr.shape != shape:
            raise ShapeError(f"the claim for '{w.name}' has shape {arr.shape}, but "
                             f"'{w.name}' has shape {shape}")
        total: Optional[Node] = None
        for idx in np.ndindex(*shape):
            entry = _scalar_sympy(arr[idx], variables, from_sympy)
            piece = apply("unindex", entry, key=tuple(int(i) for i in idx), shape=shape)
            total = piece if total is None else apply("add", total, piece)
        return total if total is not None else const(np.zeros(shape))
    expr = sympy.sympify(expr)
    if getattr(expr, "is_Matrix", False) or expr.atoms(sympy.MatrixSymbol):
        return parse_claim(str(expr), variables, wrt=w)
    return _scalar_sympy(expr, variables, from_sympy)


def _scalar_sympy(expr: Any, variables: dict, from_sympy: Any) -> Node:
    expr = sympy.sympify(expr)
    env: dict = {}
    labels = {e.base.label for e in expr.atoms(sympy.Indexed)}
    for s in expr.free_symbols:
        if isinstance(s, sympy.Indexed) or s in labels:
            continue
        node = variables.get(s.name)
        if node is None:
            raise VariableError(f"the claim uses the symbol '{s}', which names no variable "
                                f"of f (its variables: {', '.join(sorted(variables))})")
        if node.shape != ():
            raise VariableError(f"the claim uses '{s}' as a number, but '{s}' has shape "
                                f"{node.shape}: write its entries {s}[i] or use matrix "
                                "notation in text")
        env[s] = node
    for e in expr.atoms(sympy.Indexed):
        name = str(e.base.label)
        node = variables.get(name)
        if node is None:
            raise VariableError(f"the claim uses '{e}', but f has no variable '{name}'")
        idx = tuple(int(i) for i in e.indices)
        if node.ndim == 1 and len(idx) == 2 and idx[1] == 0:
            idx = idx[:1]
        env[e] = node[idx]
    return from_sympy(expr, env)
