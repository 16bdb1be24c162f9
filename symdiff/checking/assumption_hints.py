"""When a claim is wrong, whether a common assumption would make it right.

Textbook derivations assume things: a symmetric matrix (``S`` for ``S.T``), a probability
vector (``softmax(z) - t`` is the gradient of the cross-entropy only when ``sum(t) = 1``).
For a refuted claim, each variable that could carry such an assumption and does not is
tried: the claim and the truth are compared at random points where it holds; if they
agree at every such point, the report says "this claim holds if sum(t) = 1" and how to
declare it (``sd.var(..., simplex=True)``, ``--assume t=simplex``).

May import numpy, ``symdiff.graph``, ``symdiff.lowering`` and ``checking.points``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from symdiff.checking.points import Evaluator, draw
from symdiff.graph.assumptions import CONDITION, assumption, project
from symdiff.lowering.lower import bind

TRIES = 16
"""Random points drawn per candidate assumption."""
AGREE = 4
"""Valid points (at least) where claim and truth must agree, and none where they differ."""
_KINDS = ("uniform", "normal", "positive", "domain")


def _candidate(leaf) -> Optional[str]:
    shape = tuple(leaf.shape)
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] > 1:
        return "symmetric"
    if len(shape) == 1 and shape[0] > 1:
        return "simplex"
    return None


def assumption_hints(ev: Evaluator, lowered, wrt: list, seed: int) -> list[str]:
    """Notes for the report: one per assumption under which the claims hold."""
    free = ev.free_leaves(wrt)
    notes = []
    for leaf in free:
        kind = None if assumption(leaf) is not None else _candidate(leaf)
        if kind is None:
            continue
        rng = np.random.default_rng(seed)
        agree = 0
        for j in range(TRIES):
            point = {n.name: project(assumption(n), draw(_KINDS[j % len(_KINDS)], n,
                                                         ev.hints.get(n.name, []), rng))
                     for n in free}
            point[leaf.name] = project(kind, point[leaf.name])
            result = ev.compare(bind(lowered, point, {}), exact=False)
            if not result.valid:
                continue
            if result.mismatch:
                agree = -1
                break
            agree += 1
        if agree >= AGREE:
            notes.append(f"this claim holds if {CONDITION[kind].format(name=leaf.name)}: "
                         f"declare it with sd.var('{leaf.name}', {tuple(leaf.shape)}, "
                         f"{kind}=True) (on the command line --assume {leaf.name}={kind})")
    return notes
