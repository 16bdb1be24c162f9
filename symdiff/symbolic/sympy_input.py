"""SymPy expressions as ``f``: ``sd.from_sympy`` and the reader behind every call taking ``f``.

``from_sympy(expr, shapes)`` makes the graph of a SymPy expression. Its free symbols
become variables of the same names: a ``Symbol`` is a scalar variable unless ``shapes``
gives it a shape (then the expression applies elementwise to the array), an
``IndexedBase`` ``x`` with entries ``x[i]`` needs its shape in ``shapes``, and a
``MatrixSymbol`` brings its own shape (an n×1 column is a vector of shape (n,), as symdiff
prints vectors; ``shapes`` may say otherwise). A value of ``shapes`` may also be a
variable Node, which the graph then uses.

``read_sympy_function`` is registered with ``symdiff.graph.arguments`` (a layer below,
which may not import this one), so that ``as_function``, the one place where ``sd.diff``,
``sd.grad``, ``sd.jacobian``, ``sd.hessian``, ``sd.check``, ``sd.verify``, ``sd.formula``
and the evaluators read their ``f``, accepts a SymPy expression; the call's variables and
values (``wrt``, ``at``, the claims' keys) give the shapes.

May import: numpy, sympy, ``symdiff.errors``, ``symdiff.graph`` and ``symdiff.symbolic``.

>>> import sympy, symdiff as sd
>>> t, y = sympy.symbols("t y")
>>> f = from_sympy(sympy.sin(t) * y)
>>> f.eval(t=0.0, y=2.0), sd.diff(f, sd.var("t")).eval(t=0.0, y=2.0)
(0.0, 2.0)
>>> g = from_sympy(t ** 2, shapes={"t": (3,)})
>>> g.shape
(3,)
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
import sympy
from sympy.matrices.expressions.matexpr import MatrixExpr

from symdiff.errors import (ArgumentError, ShapeError, SymdiffError, UnsupportedError,
                            VariableError)
from symdiff.graph import arguments
from symdiff.graph.leaves import var
from symdiff.graph.node import Node
from symdiff.graph.walks import topological
from symdiff.symbolic.from_sympy import from_sympy as _build

__all__ = ["from_sympy", "read_sympy_function", "is_sympy"]


def is_sympy(value: Any) -> bool:
    """Whether ``value`` is a SymPy object (an expression, a matrix expression, a matrix)."""
    return isinstance(value, (sympy.Basic, sympy.MatrixBase))


def from_sympy(expr: Any, shapes: Optional[Mapping[Any, Any]] = None) -> Node:
    """The graph of a SymPy expression; its free symbols become variables of their names.

    ``shapes`` maps a symbol (or its name) to a shape, or to the variable Node to use:
    a ``Symbol`` without one is a scalar variable, an ``IndexedBase`` used as ``x[i]``
    needs one, a ``MatrixSymbol`` has its own. Raises ``ArgumentError`` for what is not a
    SymPy expression or a ``shapes`` entry the expression does not use, ``VariableError``
    for a symbol whose shape is missing or disagrees, ``SymdiffError`` for a function
    symdiff has no primitive for.

    >>> import sympy, symdiff as sd
    >>> x = sympy.IndexedBase("x")
    >>> f = sd.from_sympy(x[0] ** 2 * x[1], shapes={"x": (2,)})
    >>> sd.grad(f, [sd.var("x", (2,))])[0].eval(x=[3.0, 2.0])
    array([12.,  9.])
    """
    shapes = dict(shapes or {})
    names = {_name(k, "sd.from_sympy"): v for k, v in shapes.items()}
    node = _read(expr, names, "sd.from_sympy")
    used = {n.name for n in topological([node]) if n.op in ("var", "tensor")}
    unused = sorted(set(names) - used)
    if unused:
        raise ArgumentError(f"sd.from_sympy: shapes names {', '.join(unused)}, which the "
                            f"expression does not use (its symbols: "
                            f"{', '.join(sorted(used)) or 'none'})")
    return node


def read_sympy_function(f: Any, who: str, context: Any = None) -> Node:
    """``f``, a SymPy expression, as a Node for ``who``; ``context`` (the call's ``wrt``
    Nodes, its ``at`` values, or a list of either) gives its symbols' shapes."""
    return _read(f, _shapes_of(context), who)


def _shapes_of(context: Any) -> dict:
    """name -> Node or shape, from Nodes, mappings (keys: names or Nodes; values: numbers,
    arrays or Nodes) and lists of either."""
    out: dict = {}
    stack = [context]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        if isinstance(item, Node):
            if item.op in ("var", "tensor"):
                out.setdefault(item.name, item)
        elif isinstance(item, Mapping):
            for k, v in item.items():
                if isinstance(k, Node):
                    stack.append(k)
                elif isinstance(v, Node):
                    stack.append(v)
                elif isinstance(k, (str, sympy.Symbol)) and not isinstance(v, str) \
                        and not is_sympy(v):   # a value (at), not a claim's text
                    try:
                        out.setdefault(str(k), tuple(np.shape(v)))
                    except Exception:   # a value numpy cannot read: its own check says so
                        pass
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return out


def _name(key: Any, who: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (sympy.Symbol, sympy.IndexedBase, sympy.MatrixSymbol)):
        return str(key.name if not isinstance(key, sympy.IndexedBase) else key.label)
    if isinstance(key, Node):
        return key.name
    raise ArgumentError(f"{who}: shapes keys are names or SymPy symbols, not "
                        f"{type(key).__name__}")


def _variable(name: str, entry: Any, default: tuple, who: str) -> Node:
    if isinstance(entry, Node):
        if entry.op not in ("var", "tensor"):
            raise ArgumentError(f"{who}: the node given for '{name}' is not a variable")
        if entry.name != name:
            raise VariableError(f"{who}: the variable given for '{name}' is named "
                                f"'{entry.name}'")
        return entry
    try:
        return var(name, default if entry is None else entry)
    except SymdiffError as e:
        raise type(e)(f"{who}: the symbol '{name}': {e}") from None


def _read(expr: Any, shapes: Mapping[str, Any], who: str) -> Node:
    if isinstance(expr, (sympy.MatrixBase, sympy.NDimArray)):
        raise ArgumentError(f"{who}: f is an explicit SymPy matrix; write it with "
                            "MatrixSymbols (sympy.MatrixSymbol('A', 3, 2)) or build it from "
                            "symdiff variables")
    if not isinstance(expr, sympy.Basic):
        raise ArgumentError(f"{who}: expected a SymPy expression, not {type(expr).__name__}")
    if isinstance(expr, (MatrixExpr,)) or expr.atoms(sympy.MatrixSymbol):
        return _matrix(expr, shapes, who)
    bases = {e.base.label: e.base for e in expr.atoms(sympy.Indexed)}
    env: dict = {}
    for s in sorted(expr.free_symbols, key=str):
        if isinstance(s, sympy.Indexed) or s in bases:
            continue
        if not isinstance(s, sympy.Symbol) or isinstance(s, sympy.Dummy):
            raise VariableError(f"{who}: the expression's symbol {s} cannot name a variable")
        env[s] = _variable(s.name, shapes.get(s.name), (), who)
    for e in sorted(expr.atoms(sympy.Indexed), key=str):
        name = str(e.base.label)
        entry = shapes.get(name)
        if entry is None:
            raise VariableError(f"{who}: '{e}' indexes '{name}', whose shape is not given; "
                                f"say it: shapes={{'{name}': (n,)}}")
        node = _variable(name, entry, (), who)
        try:
            idx = tuple(int(i) for i in e.indices)
        except TypeError:
            raise VariableError(f"{who}: '{e}' has a symbolic index; symdiff reads entries "
                                "at integer positions only") from None
        if len(idx) != node.ndim or any(not 0 <= i < n for i, n in zip(idx, node.shape)):
            raise ShapeError(f"{who}: '{e}' is outside '{name}' of shape {node.shape}")
        env[e] = node[idx]
    try:
        return _build(expr, env)
    except SymdiffError as e:   # an unknown function: say whose call and which expression
        raise UnsupportedError(f"{who}: {e}; symdiff reads SymPy's arithmetic, powers, "
                               "Max, Min, Heaviside, Piecewise and the functions sd.parse "
                               "knows (exp, log, sin, tanh, ...)") from None


def _matrix(expr: Any, shapes: Mapping[str, Any], who: str) -> Node:
    """A matrix expression through the claim reader (the notation symdiff prints)."""
    from symdiff.graph.claims import parse_claim
    variables = {}
    for s in expr.free_symbols:
        if isinstance(s, sympy.MatrixSymbol):
            rows, cols = (int(d) for d in s.shape)
            own = (rows,) if cols == 1 else (rows, cols)
            variables[s.name] = _variable(s.name, shapes.get(s.name), own, who)
        elif isinstance(s, sympy.Symbol):
            variables[s.name] = _variable(s.name, shapes.get(s.name), (), who)
        else:
            raise VariableError(f"{who}: the expression's symbol {s} cannot name a variable")
    node = parse_claim(str(expr), variables)
    if node.size == 1 and node.shape != ():   # a 1x1 matrix such as x.T*A*x: its entry
        node = node.reshape(())
    return node


arguments.SYMPY_READER.append(read_sympy_function)
