"""The adjoint rules of ``symdiff.derivatives.adjoints`` in words, for people.

``ADJOINT_TEXT`` maps each row that is not elementwise to ``(node, j, names) -> (text,
is_rule)``: the local derivative of ``node`` with respect to its input ``j`` written with
the nodes' display names (``names``: ``id(node) -> name``). ``is_rule`` is False for a
derivative that is a value (``1 for each summed entry``, ``x/c``) and True for a map of the
cotangent ``g`` (``g ↦ g @ Wᵀ``). A row without an entry (``TEXT_FALLBACK``: ``scatter``,
an internal row of ``sd.hessian``'s compressed path) reads as ``the VJP rule of
<display>`` (``structural_partial_text``). The tests hold the table to ``ADJOINTS``.

May import: ``numeric``, ``symdiff.graph``.

>>> import symdiff as sd
>>> W, x = sd.var("W", (2, 3)), sd.var("x", (3,))
>>> y = W @ x
>>> structural_partial_text(y, 0, {id(W): "W", id(x): "x", id(y): "y"})
('g ↦ g @ xᵀ', True)
"""
from __future__ import annotations

from typing import Callable, Mapping

from numeric import PRIMITIVES
from symdiff.graph.params import key_text
from symdiff.graph.node import Node

Names = Mapping[int, str]


def _c(node: Node, names: Names) -> str:
    return names[id(node)]


def _x(node: Node, names: Names, k: int = 0) -> str:
    return names[id(node.args[k])]


def _matmul_text(node: Node, j: int, names: Names) -> tuple[str, bool]:
    return (f"g ↦ g @ {_x(node, names, 1)}ᵀ", True) if j == 0 else \
        (f"g ↦ {_x(node, names, 0)}ᵀ @ g", True)


ADJOINT_TEXT: dict[str, Callable[[Node, int, Names], tuple[str, bool]]] = {
    "sum": lambda node, j, names: ("1 for each summed entry", False),
    "mean": lambda node, j, names: (
        f"1/{node.args[0].size // max(node.size, 1)} for each averaged entry", False),
    "logsumexp": lambda node, j, names: (
        f"softmax({_x(node, names)}) = exp({_x(node, names)} - {_c(node, names)})", False),
    "norm": lambda node, j, names: (f"{_x(node, names)}/{_c(node, names)}", False),
    "trace": lambda node, j, names: ("I (the identity)", False),
    "det": lambda node, j, names: (f"{_c(node, names)}·{_x(node, names)}⁻ᵀ", False),
    "logdet": lambda node, j, names: (f"{_x(node, names)}⁻ᵀ", False),
    "inv": lambda node, j, names: (f"g ↦ -{_c(node, names)}ᵀ @ g @ {_c(node, names)}ᵀ", True),
    "cofactor": lambda node, j, names: (
        f"g ↦ the derivative of cof({_x(node, names)}) along g", True),
    "matmul": _matmul_text,
    "transpose": lambda node, j, names: (
        "g ↦ gᵀ" if node.params.get("axes") is None else "g ↦ g transposed back", True),
    "reshape": lambda node, j, names: (f"g ↦ reshape(g, {node.args[j].shape})", True),
    "index": lambda node, j, names: (
        f"g ↦ zeros{node.args[j].shape} with g at [{key_text(node.params['key'])}]", True),
    "unindex": lambda node, j, names: (f"g ↦ g[{key_text(node.params['key'])}]", True),
    "broadcast_to": lambda node, j, names: (
        f"g ↦ g summed back to shape {node.args[j].shape}", True),
}
"""Rows that are not elementwise -> ``(node, input j, names) -> (text, is_rule)``."""

# -- reductions and shapes: max/min, prod, cumsum, concatenate, diagonal/diag ---------

def _extremum_text(node: Node, j: int, names: Names) -> tuple[str, bool]:
    which = "maximum" if node.op == "amax" else "minimum"
    return (f"1/k at each of the k entries of {_x(node, names)} equal to its {which} "
            f"{_c(node, names)} (ties split evenly), 0 elsewhere", False)


def _concatenate_text(node: Node, j: int, names: Names) -> tuple[str, bool]:
    axis = node.params["axis"] % node.ndim
    n0 = node.args[0].shape[axis]
    part = ("slice", 0, n0, None) if j == 0 else ("slice", n0, None, None)
    return f"g ↦ g[{key_text((('slice', None, None, None),) * axis + (part,))}]", True


ADJOINT_TEXT.update({
    "amax": _extremum_text,
    "amin": _extremum_text,
    "prod": lambda node, j, names: (
        f"the product of the other entries of {_x(node, names)} (no division: exact at 0)",
        False),
    "cumsum": lambda node, j, names: (
        f"g ↦ running sums of g from the end along axis {node.params['axis']}", True),
    "concatenate": _concatenate_text,
    "diagonal": lambda node, j, names: (
        f"g ↦ zeros{node.args[j].shape} with g on diagonal {node.params['offset']}", True),
    "diag": lambda node, j, names: (f"g ↦ diagonal {node.params['offset']} of g", True),
})


TEXT_FALLBACK = frozenset({"scatter"})
"""Rows of ``ADJOINTS`` that read as ``the VJP rule of <display>`` on purpose."""


def structural_partial_text(node: Node, j: int, names: Names) -> tuple[str, bool]:
    """``(text, is_rule)`` of the local derivative of a reduction or structural ``node``
    with respect to its input ``j``; ``the VJP rule of <display>`` for a row without text.

    >>> import symdiff as sd
    >>> x = sd.var("x", (3,))
    >>> s = sd.sum(x)
    >>> structural_partial_text(s, 0, {id(x): "x", id(s): "s"})
    ('1 for each summed entry', False)
    """
    text = ADJOINT_TEXT.get(node.op)
    if text is None:
        return f"the VJP rule of {PRIMITIVES[node.op].display}", True
    return text(node, j, names)
