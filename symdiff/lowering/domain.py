"""Which op of a lowered graph is outside its domain, or at a kink, at a point.

Each row of ``numeric.PRIMITIVES`` says where its op is defined and differentiable
(``Domain.valid``, ``Domain.kink``). At a point, the lowered program's unfused values
(``Program.values``) give every op node's inputs; ``domain_problems`` walks the nodes and
tests each op's inputs with its row. The callers word the findings: ``sd.check`` names
every problem, ``sd.verify`` skips points with one (and points near a kink, ``near_kink``),
the tests' strategies keep random points inside domains and away from kinks.

May import numpy, ``numeric`` and ``symdiff.graph`` (nodes are read, never built).

>>> import symdiff as sd
>>> from symdiff.lowering.lower import bind, lower
>>> x = sd.var("x")
>>> f = sd.log(x) + sd.relu(x - 1)
>>> lowered = lower(f)
>>> value = values_at(lowered, bind(lowered, {"x": 1.0}, {}))
>>> [(p.node.op, p.kind) for p in domain_problems(f.nodes(), value)]
[('relu', 'kink')]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from numeric import PRIMITIVES, Domain, sum_to

from symdiff.graph.node import Node

KINK_GRID = 0.01
"""Step of the grid ``near_kink`` rounds inputs to by default: a point counts as near a
kink when its inputs, rounded to this grid (or to the grid offset by half a step), hit one,
so points accepted as away from kinks are at least ``KINK_GRID / 2`` from any kink."""

OUTSIDE = "outside"
KINK = "kink"

KinkTest = Callable[[Domain, Sequence[Any], dict], bool]


@dataclass
class OpProblem:
    """An op node whose inputs are outside its row's domain (``kind`` ``"outside"``; ``valid``
    is the row's mask of defined entries) or at one of its kinks (``kind`` ``"kink"``)."""

    node: Node
    inputs: list
    kind: str
    valid: Optional[np.ndarray] = None

    @property
    def domain(self) -> Domain:
        return PRIMITIVES[self.node.op].domain


def values_at(lowered: Any, args: Sequence[Any]) -> Callable[[Node], Any]:
    """Every node's value in a lowered program (``lower``) at ``args`` (``bind``), by node.

    >>> import symdiff as sd
    >>> from symdiff.lowering.lower import bind, lower
    >>> x = sd.var("x")
    >>> s = sd.sin(x)
    >>> lowered = lower(s * 2)
    >>> float(values_at(lowered, bind(lowered, {"x": 0.0}, {}))(s))
    0.0
    """
    vals = lowered.program.values(*args)
    return lambda n: vals[lowered.slots[id(n)]]


def at_kink(domain: Domain, xs: Sequence[Any], params: dict) -> bool:
    """Whether a row's kink predicate holds at inputs ``xs`` exactly.

    >>> at_kink(PRIMITIVES["relu"].domain, [np.array([0.0, 1.0])], {})
    True
    """
    if domain.kink is None:
        return False
    with np.errstate(all="ignore"):
        return bool(np.any(domain.kink(*xs, **params)))


def near_kink(domain: Domain, xs: Sequence[Any], params: dict,
              grid: float = KINK_GRID) -> bool:
    """Whether a row's kink predicate holds at inputs ``xs`` rounded to a grid of step
    ``grid``, or to that grid offset by half a step: within about ``grid / 2`` of a kink.
    Boolean inputs (conditions) are not rounded.

    >>> near_kink(PRIMITIVES["relu"].domain, [np.array(0.004)], {})
    True
    >>> near_kink(PRIMITIVES["relu"].domain, [np.array(0.004)], {}, grid=1e-4)
    False
    """
    if domain.kink is None:
        return False
    with np.errstate(all="ignore"):
        for offset in (0.0, grid / 2):
            rounded = [x if np.asarray(x).dtype == np.bool_ else
                       np.round((np.asarray(x, dtype=float) + offset) / grid) * grid
                       for x in xs]
            if np.any(domain.kink(*rounded, **params)):
                return True
    return False


def live_entries(nodes: Sequence[Node], value: Callable[[Node], Any]) -> dict:
    """Which entries of each node matter at a point: ``id(node) -> (value, derivative)``,
    each True (all entries), False (none) or a boolean mask of the node's shape.

    An entry matters for the value when an output reads it: not when only the branch a
    ``where`` did not take does. It matters for the derivative when, besides, a
    derivative flows from it to an output: not through a condition, a comparison or
    another input whose VJP is None (a kink of ``abs`` inside ``where(abs(x) > 0.5, ...)``
    does not make f non-differentiable). The outputs are the nodes of ``nodes`` (in
    topological order) that no other node of ``nodes`` reads.

    >>> import symdiff as sd
    >>> from symdiff.lowering.lower import bind, lower
    >>> x = sd.var("x", (2,))
    >>> r, a = sd.sqrt(x), sd.abs(x)
    >>> f = sd.sum(sd.where(a > 1, r, 0.0))
    >>> lowered = lower(f)
    >>> live = live_entries(f.nodes(), values_at(lowered, bind(lowered, {"x": [-1.0, 4.0]}, {})))
    >>> live[id(r)][0].tolist(), live[id(a)]
    ([False, True], (True, False))
    """
    read = {id(a) for n in nodes for a in n.args}
    live: dict[int, Any] = {id(n): (True, True) for n in nodes if id(n) not in read}
    for n in reversed(nodes):
        here, diff = live.get(id(n), (False, False))
        if n.is_leaf or here is False:
            continue
        row = PRIMITIVES[n.op]
        if n.op == "where":
            c = np.asarray(value(n.args[0]), dtype=bool)
            reach = [[m, m & c, m & ~c] for m in (np.broadcast_to(here, n.shape),
                                                  np.broadcast_to(diff, n.shape))]
        else:
            reach = [[_reach(n, j, m) for j in range(len(n.args))] for m in (here, diff)]
        for j, a in enumerate(n.args):
            v = _any_to(reach[0][j], a.shape)
            d = _any_to(reach[1][j], a.shape) if row.vjp[j] is not None else False
            old = live.get(id(a))
            live[id(a)] = (v, d) if old is None else (_or(old[0], v), _or(old[1], d))
    return live


def _reach(n: Node, j: int, live: Any) -> Any:
    """The entries of ``n``'s input ``j`` that meet a live entry of ``n``."""
    if live is True or live is False:
        return live
    if n.op == "matmul":
        # x[r, k] meets the output's row r, y[k, c] its column c: the VJP on 0/1 masks
        # (with ones for the operands) says which entries meet a live one
        ones = [np.ones(a.shape) for a in n.args]
        return sum_to(PRIMITIVES["matmul"].vjp[j](np.asarray(live, dtype=float), None, *ones),
                      n.args[j].shape) > 0
    if PRIMITIVES[n.op].kind != "elementwise":
        return bool(np.any(live))   # every output entry may read every input entry
    return live


def _or(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if a is False:
        return b
    return a if b is False else a | b


def _any_to(mask: Any, shape: tuple) -> Any:
    """A node's live mask brought to an input's (broadcast) shape: True, False or a mask."""
    if mask is True or mask is False:
        return mask
    mask = np.asarray(mask)
    lead = mask.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape)
                                      if d == 1 and mask.shape[lead + i] != 1)
    m = np.any(mask, axis=axes).reshape(shape) if axes else mask.reshape(shape)
    return True if m.all() else False if not m.any() else m


def domain_problems(nodes: Iterable[Node], value: Callable[[Node], Any], *,
                    valid: bool = True, kink: Optional[KinkTest] = at_kink
                    ) -> Iterator[OpProblem]:
    """The op nodes among ``nodes`` (leaves are skipped) whose inputs, read with
    ``value``, are outside their row's ``Domain.valid`` (if ``valid``), or else make
    ``kink(domain, inputs, params)`` true (``at_kink``, ``near_kink`` or None for no kink
    test); in the order of ``nodes``, lazily, so a caller may stop at the first.
    Entries only an untaken ``where`` branch reads do not count, nor kinks no derivative
    flows through (``live_entries``): f does not depend on them.

    >>> import symdiff as sd
    >>> from symdiff.lowering.lower import bind, lower
    >>> x = sd.var("x")
    >>> f = sd.sum(sd.sqrt(x * sd.tensor([1.0, -1.0, 0.0])))
    >>> lowered = lower(f)
    >>> [(p.node.op, p.kind, p.valid.tolist()) for p in
    ...  domain_problems(f.nodes(), values_at(lowered, bind(lowered, {"x": 2.0}, {})))]
    [('sqrt', 'outside', [True, False, True])]
    """
    nodes = list(nodes)
    live = live_entries(nodes, value)
    for n in nodes:
        if n.is_leaf:
            continue
        here, diff = live.get(id(n), (False, False))
        if here is False:
            continue
        if n.dtype == "bool":
            diff = here   # a comparison's jump is in what it selects, not in a derivative
        found = _problem(n, [value(a) for a in n.args], valid, kink, here, diff)
        if found is not None:
            yield found   # outside the errstate block: a paused generator must not hold it


def _problem(n: Node, xs: list, valid: bool, kink: Optional[KinkTest],
             here: Any = True, diff: Any = True) -> Optional[OpProblem]:
    dom = PRIMITIVES[n.op].domain
    if valid and dom.valid is not None:
        with np.errstate(all="ignore"):
            ok = np.asarray(dom.valid(*xs, **n.params))
        if here is not True:     # an elementwise op some of whose entries are untaken
            ok = ok | ~np.broadcast_to(here, n.shape)
        if not np.all(ok):
            return OpProblem(n, xs, OUTSIDE, ok)
    if kink is not None and diff is not False:
        # the kink test on the entries that count (an elementwise row's predicates are)
        ys = xs if diff is True or PRIMITIVES[n.op].kind != "elementwise" else \
            [np.broadcast_to(x, n.shape)[diff] for x in xs]
        if kink(dom, ys, n.params):
            return OpProblem(n, xs, KINK)
    return None
