"""The arguments the differentiating calls share, checked in one place: the function ``f``
and the variables ``wrt``.

``as_function`` accepts a Node and refuses anything else with what to write instead
(formula text goes through ``sd.parse``); it is the one place to teach symdiff other kinds
of ``f`` later. ``as_variables`` accepts variable and tensor nodes. ``match_leaves`` holds
a call's variables against ``f``'s leaves: a leaf is known by its name, so a variable of
``f``'s name must *be* ``f``'s leaf (``var("x")`` made twice is one variable, as
``Symbol("x")`` is in SymPy), and ``var("x", (2,))`` beside ``f``'s scalar ``x``, or a tensor
named ``x``, is a ``VariableError`` naming both, never a silent answer for the other one.
``sd.diff``, ``sd.grad``, ``sd.jacobian``, ``sd.hessian``, ``sd.value_and_grad``,
``sd.check``, ``sd.formula``, ``sd.evaluate`` and ``.eval`` (values keyed by nodes) use them.

Imports symdiff's errors and the graph's node, walks and values.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> check_wrt(sd.sin(x), sd.var("x"), "sd.diff", "x")[0][0].name
'x'
>>> try:
...     check_wrt(sd.sin(x), sd.var("x", (2,)), "sd.diff", "x")
... except sd.VariableError as e:
...     print(e)
sd.diff: x is var 'x' of shape (2,), but f's 'x' is var 'x' of shape (); one name is one variable: pass f's own variable, or give the other one another name
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Optional, Sequence

import numpy as np

from symdiff.errors import ArgumentError, VariableError
from symdiff.graph.node import Node
from symdiff.graph.values import shown
from symdiff.graph.walks import graph_leaves, leaf_text, same_leaf, topological

_LEAVES = ("var", "tensor")


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {shown(value)}"


SYMPY_READER: list = []
"""The reader of a SymPy ``f`` (``symdiff.symbolic.sympy_input.read_sympy_function``, which
registers itself: it lives a layer above and this module may not import it)."""


def as_function(f: Any, who: str, arg: str = "f", context: Any = None) -> Node:
    """``f`` if it is a Node, a SymPy expression's graph (its symbols' shapes from
    ``context``: the call's ``wrt`` Nodes or ``at`` values); anything else is refused,
    saying what to write instead.

    >>> import symdiff as sd
    >>> try:
    ...     as_function("x**2", "sd.diff")
    ... except sd.ArgumentError as e:
    ...     print(e)
    sd.diff needs a symdiff Node as f, not the text 'x**2'; formula text is read by sd.parse: sd.diff(sd.parse('x**2'), ...)
    """
    if isinstance(f, Node):
        return f
    if SYMPY_READER and any((c.__module__ or "").split(".")[0] == "sympy"
                            for c in type(f).__mro__):   # (sympy itself is not imported here)
        return SYMPY_READER[0](f, who, context)
    if isinstance(f, str):
        raise ArgumentError(f"{who} needs a symdiff Node as {arg}, not the text {shown(f)}; "
                            f"formula text is read by sd.parse: "
                            f"{who}(sd.parse({shown(f)}), ...)")
    if isinstance(f, (int, float, complex, np.number, np.ndarray, list, tuple)):
        hint = ("; build f from variables (x = sd.var('x'); f = x**2), or make a constant "
                "with sd.const")
    else:
        hint = "; build f from variables: x = sd.var('x'); f = x**2"
    raise ArgumentError(f"{who} needs a symdiff Node as {arg}, not {_kind(f)}{hint}")


def as_variables(wrt: Any, who: str, arg: str = "wrt",
                 accepts: str = "either") -> tuple[list[Node], bool]:
    """The variables of a call as a list, and whether one node (not a list) was given.
    ``accepts``: ``"one"`` (a single node, as ``sd.diff``'s x), ``"many"`` (a list, as
    ``sd.grad``'s) or ``"either"``. Each must be a variable or tensor node; names are not
    variables (pass ``x``, not ``"x"``).

    >>> import symdiff as sd
    >>> x, y = sd.var("x"), sd.var("y")
    >>> [w.name for w in as_variables([x, y], "sd.grad", accepts="many")[0]]
    ['x', 'y']
    """
    if isinstance(wrt, Node):
        if accepts == "many":
            raise ArgumentError(f"{who}: {arg} must be a list of variables, not one node; "
                                f"write {who}(f, [{wrt.name or 'x'}]), or use sd.diff(f, x) "
                                "for one")
        items, single = [wrt], True
    else:
        if accepts == "one":
            several = " (sd.grad(f, [x, y]) takes several)" if isinstance(wrt, (list, tuple)) \
                else ""
            raise ArgumentError(f"{who}: {arg} must be one variable node (x = sd.var('x')), "
                                f"not {_kind(wrt)}{several}")
        if wrt is None or isinstance(wrt, (str, bytes, Mapping)) or \
                not isinstance(wrt, Iterable):
            hint = (f"; pass the variable node itself: x = sd.var({shown(wrt)}); {who}(f, [x])"
                    if isinstance(wrt, str) else "")
            wanted = "a list of variable nodes" if accepts == "many" else \
                "a variable node or a list of them"
            raise ArgumentError(f"{who}: {arg} must be {wanted}, not {_kind(wrt)}{hint}")
        items, single = [], False
        try:   # one by one, stopping at the first that is no node: list() of an object
            for w in wrt:   # whose __len__ says 10**9 (or of range(10**12)) ran out of memory
                items.append(w)
                if not isinstance(w, Node):
                    break
        except TypeError:   # a 0-d numpy array is Iterable, but iterating it fails
            raise ArgumentError(f"{who}: {arg} must be a list of variable nodes, not "
                                f"{_kind(wrt)}") from None
    for i, w in enumerate(items):
        where = arg if single else f"{arg}[{i}]"
        if not isinstance(w, Node):
            hint = (f"; pass the variable node itself: x = sd.var({shown(w)}), then "
                    f"{who}(f, {'x' if accepts == 'one' else '[x]'})"
                    if isinstance(w, str) else "")
            raise ArgumentError(f"{who}: {where} must be a variable node, not {_kind(w)}{hint}")
        if w.op not in _LEAVES:
            raise VariableError(f"{who}: can only differentiate with respect to variables or "
                                f"tensors, not {w._describe()} ({where})")
    return items, single


def match_leaves(leaves: Mapping[str, Node], wrt: Sequence[Node], who: str,
                 arg: str = "wrt", single: bool = False) -> None:
    """Refuse a variable of ``wrt`` that has the name of another leaf: one of ``f``'s
    (``leaves``, from ``graph_leaves``) or an earlier one of ``wrt``. A variable ``f`` does
    not use is fine (its derivative is zero).

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> match_leaves({"x": x}, [sd.var("x"), sd.var("y")], "sd.grad") is None
    True
    """
    own: dict[str, Node] = {}
    for w in wrt:
        seen = leaves.get(w.name)
        whose = "f's"
        if seen is None:
            seen, whose = own.setdefault(w.name, w), f"another of {arg}'s"
        if not same_leaf(seen, w):
            raise VariableError(
                f"{who}: {arg} {'is' if single else 'has'} {leaf_text(w)}, but {whose} '{w.name}' is {leaf_text(seen)}; "
                "one name is one variable: pass f's own variable, or give the other one "
                "another name")


def check_wrt(f: Node, wrt: Any, who: str, arg: str = "wrt", accepts: str = "either",
              leaves: Optional[Mapping[str, Node]] = None) -> tuple[list[Node], bool]:
    """``as_variables`` and ``match_leaves`` against ``f``'s leaves (``leaves`` if the
    caller has them): the variables as a list, and whether one node was given."""
    items, single = as_variables(wrt, who, arg, accepts)
    if leaves is None:
        leaves = graph_leaves(topological([f]))
    match_leaves(leaves, items, who, arg, single)
    return items, single


def as_point(at: Any, who: str, arg: str = "at") -> Optional[Mapping]:
    """A point: None, or a mapping of variable (name or node) to value (the values are
    checked when bound)."""
    if at is not None and not isinstance(at, Mapping):
        raise ArgumentError(f"{who}: {arg} must be a mapping of variable (name or node) to "
                            f"value, such as {{'x': 1.0}}, not {_kind(at)}")
    return at
