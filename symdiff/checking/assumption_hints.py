"""When a claim is wrong, whether a common assumption would make it right.

Textbook derivations assume things: a symmetric matrix (``S`` for ``S.T``), a probability
vector (``softmax(z) - t`` is the gradient of the cross-entropy only when ``sum(t) = 1``),
labels (``sigmoid(z) - (1 + t)/2`` is the logistic loss's only for t = ±1).
For a refuted claim, each variable that could carry such an assumption and does not is
tried: the claim and the truth are compared at random points where it holds; if they
agree at every such point, the report says "this claim holds if sum(t) = 1" and how to
declare it (``sd.var(..., probability=True)``, ``--assume t=probability``).

May import numpy, ``symdiff.graph``, ``symdiff.lowering`` and ``checking.points``.
"""
from __future__ import annotations


import numpy as np

from symdiff.checking.points import Evaluator, draw
from symdiff.graph.assumptions import (assumption, condition, declaration, project,
                                       project_leaf)
from symdiff.lowering.lower import bind

TRIES = 16
"""Random points drawn per candidate assumption."""
AGREE = 4
"""Valid points (at least) where claim and truth must agree, and none where they differ."""
_KINDS = ("uniform", "normal", "positive", "domain")


_LABEL_SETS = ((-1.0, 1.0), (0.0, 1.0))
"""The label sets tried for a vector: ±1 and 0/1 class labels."""


def _candidates(leaf) -> list:
    """The assumptions worth trying for ``leaf``: (kind, labels) pairs."""
    shape = tuple(leaf.shape)
    if len(shape) == 2 and shape[1] > 1:
        return [("symmetric", None)] * (shape[0] == shape[1]) + [("probability", None)]
    if len(shape) == 1 and shape[0] > 1:
        return [("probability", None)] + [("labels", s) for s in _LABEL_SETS]
    return []


def _holds(ev: Evaluator, lowered, free: list, leaf, kind: str, labels, seed: int) -> bool:
    """Whether claim and truth agree at enough random points where ``leaf`` is ``kind``
    and at none where they differ."""
    rng = np.random.default_rng(seed)
    agree = 0
    for j in range(TRIES):
        point = {n.name: project_leaf(n, draw(_KINDS[j % len(_KINDS)], n,
                                              ev.hints.get(n.name, []), rng))
                 for n in free}
        point[leaf.name] = project(kind, point[leaf.name], labels)
        result = ev.compare(bind(lowered, point, {}), exact=False)
        if not result.valid:
            continue
        if result.mismatch:
            return False
        agree += 1
    return agree >= AGREE


def assumption_hints(ev: Evaluator, lowered, wrt: list, seed: int) -> list[str]:
    """Notes for the report: one per assumption under which the claims hold."""
    free = ev.free_leaves(wrt)
    notes = []
    for leaf in free:
        if assumption(leaf) is not None:
            continue
        for kind, labels in _candidates(leaf):
            if _holds(ev, lowered, free, leaf, kind, labels, seed):
                notes.append(f"this claim holds if {condition(leaf, kind, labels)}: "
                             f"declare it with {declaration(leaf, kind, labels)}")
                break
    return notes
