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

import numpy as np

from numeric import PRIMITIVES
from numeric.linalg import parse_subscripts
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


# -- p14 linear algebra, contraction, indexing: einsum, solve, log|det|, cholesky, gather;
# norm's text by its ord (the entry above is ord 2's)

def _einsum_text(node: Node, j: int, names: Names) -> tuple[str, bool]:
    # the adjoint is g contracted with the other operands into operand j's letters, as
    # numpy would write it; a letter only operand j has means g is repeated along it, and a
    # repeated letter (a diagonal, a trace) puts the result on that diagonal, 0 off it
    ins, out = parse_subscripts(node.params["subscripts"], len(node.args), node.op)
    others = [k for k in range(len(node.args)) if k != j]
    target = ins[j]
    have = set(out + "".join(ins[k] for k in others))
    present = "".join(c for c in dict.fromkeys(target) if c in have)
    if not out and others:
        # a scalar g (a full contraction such as an inner product) scales the others
        rest = [_x(node, names, k) for k in others]
        specs = [ins[k] for k in others]
        text = f"g·{rest[0]}" if specs == [present] else \
            f"g·einsum('{','.join(specs)}->{present}', {', '.join(rest)})"
    elif others or out != present:
        specs = ",".join([out] + [ins[k] for k in others])
        args = ", ".join(["g"] + [_x(node, names, k) for k in others])
        text = f"einsum('{specs}->{present}', {args})"
    else:
        text = "g"
    repeated = [c for c in dict.fromkeys(target) if target.count(c) > 1]
    spread = [c for c in dict.fromkeys(target) if c not in have and c not in repeated]
    if spread:
        text += f" repeated along {', '.join(spread)}"
    for c in repeated:
        text += f" on the diagonal {c * target.count(c)}, 0 off it"
    return f"g ↦ {text}", True


def _solve_text(node: Node, j: int, names: Names) -> tuple[str, bool]:
    a, b = _x(node, names, 0), node.args[1]
    if j == 1:
        return f"g ↦ solve({a}ᵀ, g)", True
    x = _c(node, names)
    if b.ndim == 1:
        return f"g ↦ -outer(solve({a}ᵀ, g), {x})", True
    return f"g ↦ -solve({a}ᵀ, g) @ {x}ᵀ", True


def _cholesky_text(node: Node, j: int, names: Names) -> tuple[str, bool]:
    low = _c(node, names)
    return (f"g ↦ sym({low}⁻ᵀ Φ({low}ᵀ @ tril(g)) {low}⁻¹), sym(S) = (S + Sᵀ)/2, Φ the "
            f"lower triangle with its diagonal halved (Murray 2016)", True)


def _gather_text(node: Node, j: int, names: Names) -> tuple[str, bool]:
    pos = np.asarray(node.params["pos"]).reshape(-1)
    where = f"flat positions {pos.tolist()}" if pos.size <= 8 else "their flat positions"
    return (f"g ↦ zeros{node.args[j].shape} with the entries of g added at {where} "
            f"(repeats add up)", True)


def _norm_text(node: Node, j: int, names: Names) -> tuple[str, bool]:
    x, c = _x(node, names), _c(node, names)
    order = node.params.get("ord", 2.0)
    if order == 2:
        return f"{x}/{c}", False
    if order == 1:
        return f"sign({x})", False
    which = "maximum" if order > 0 else "minimum"
    return (f"sign({x})/k at each of the k entries of |{x}| equal to its {which} {c} "
            f"(ties split evenly), 0 elsewhere", False)


ADJOINT_TEXT.update({
    "einsum": _einsum_text,
    "einsum_unary": _einsum_text,
    "solve": _solve_text,
    "logabsdet": lambda node, j, names: (f"{_x(node, names)}⁻ᵀ", False),
    "cholesky": _cholesky_text,
    "gather": _gather_text,
    "norm": _norm_text,
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
