"""``sd.verify``'s numeric judge: the points it draws and what it finds at each.

Points come in kinds: structured ones first (ones, twos, -1, integers, halves, zeros,
small and large magnitudes: readable counterexamples), then random ones, drawn inside the
domains of the rows each variable feeds (``Domain.sample``, ``Domain.draw``). The
``Evaluator`` runs one lowered program for f, the claims and the truths at a point: it
skips the point when an op is outside its domain or at or near a kink
(``symdiff.lowering.domain``), else compares claim and truth entry by entry, and
cross-checks the truth against central finite differences (``numeric.finite_diff``).

May import numpy, ``numeric``, ``symdiff.graph``, ``symdiff.lowering`` and
``symdiff.checking.report``.

>>> import symdiff as sd
>>> from symdiff.lowering.lower import lower
>>> x = sd.var("x")
>>> f = sd.log(x)
>>> truths = sd.grad(f, [x])
>>> claim = 1 / x
>>> ev = Evaluator(f, lower(f, retain=[claim, *truths]), [claim], truths, [x], 1e-9, 1e-7)
>>> found, compared, tried = search(ev, ev.lowered, [x], points=10, seed=0)
>>> found, compared
([], 10)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import numpy as np

from numeric import PRIMITIVES
from numeric.finite_diff import one_sided, step_sweep

from symdiff.graph.assumptions import assumption, project_leaf
from symdiff.checking.boundaries import points_around, switches
from symdiff.checking.report import entry_label, inputs_text, num, point_text, value_text
from symdiff.graph.node import Node
from symdiff.graph.walks import topological
from symdiff.lowering.domain import (KINK_GRID, OUTSIDE, at_kink, domain_problems, near_kink,
                                     values_at)
from symdiff.lowering.lower import bind

FD_STEPS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
"""Steps of the finite differences the truth is cross-checked with (the best one counts)."""
FD_ATOL, FD_RTOL = 1e-5, 1e-3
MAX_FD_ENTRIES = 50
_ROUNDING = 64 * np.finfo(float).eps   # times the largest value used: rounding's share
STRUCTURED = ("ones", "twos", "minus_ones", "positive_ints", "ints", "halves", "zeros",
              "small", "large")
SIMPLE = 7   # the first structured kinds make readable counterexamples
RANDOM = ("domain", "uniform", "normal", "domain", "positive", "wide", "scales")
MAX_LINES = 4
"""Lines followed through the graph's branch boundaries (``checking.boundaries``)."""


@dataclass
class Mismatch:
    """One entry where the claim and symdiff's gradient differ at the counterexample."""

    variable: str
    index: tuple
    claim: float
    truth: float

    @property
    def label(self) -> str:
        return entry_label(self.variable, self.index)

    @property
    def error(self) -> float:
        return abs(self.claim - self.truth)


class PointResult:
    """Claim vs truth at one point: skipped (``invalid``, ``kink``: ``why`` says where) or
    compared (``valid``), with the ``Mismatch`` entries if any."""

    def __init__(self) -> None:
        self.valid = False
        self.invalid = False
        self.kink = False
        self.mismatch = False
        self.why: list[str] = []
        self.score = 0.0          # max |claim - truth| / tolerance
        self.relative = 0.0       # max |claim - truth| / max(|claim|, |truth|)
        self.wrong_names: list[str] = []
        self.entries: list[Mismatch] = []
        self.claims: list = []
        self.truths: list = []


class Evaluator:
    """One lowered program for f, the claims and the truths; domain checks and
    comparisons at points.

    >>> import symdiff as sd
    >>> from symdiff.lowering.lower import lower
    >>> x = sd.var("x")
    >>> f, claim = sd.log(x), sd.sin(x)
    >>> truths = sd.grad(f, [x])
    >>> ev = Evaluator(f, lower(f, retain=[claim, *truths]), [claim], truths, [x], 1e-9, 1e-7)
    >>> ev.compare([np.float64(-1.0)], exact=True).why
    ['log is outside its domain (x > 0) at x = -1']
    >>> r = ev.compare([np.float64(2.0)], exact=True)
    >>> r.mismatch, r.entries
    (True, [Mismatch(variable='x', index=(), claim=0.9092974268256817, truth=0.5)])
    """

    def __init__(self, F: Node, lowered: Any, claims: list, truths: list, wrt: list,
                 atol: float, rtol: float, code: Optional[Any] = None):
        self.F, self.lowered, self.wrt = F, lowered, wrt
        self.claims, self.truths = claims, truths
        self.atol, self.rtol = atol, rtol
        # claims given as code (``checking.code``): not Nodes; ``code`` computes them at a
        # point, rejects points outside the signs asked for, and holds their tolerances
        self.code = code
        nodes = [c for c in claims if isinstance(c, Node)]
        self.slots = lowered.slots
        self.nodes = [n for n in topological([F, *nodes, *truths]) if not n.is_leaf]
        # kinks count in f and the claims; the truths (derivative graphs) need only be
        # defined: amax's adjoint compares x >= max(x), always equal at the maximum
        own = {id(n) for n in topological([F, *nodes])}
        self.kink_nodes = [n for n in self.nodes if id(n) in own]
        self.truth_nodes = [n for n in self.nodes if id(n) not in own]
        self.side = {id(n) for n in topological([*nodes, *truths])}
        self.last_valid: Optional[list] = None
        self.compared: list[tuple[str, list]] = []   # (kind of point, args), in order
        self.pos = {leaf.name: i for i, leaf in enumerate(lowered.leaves)}
        # which rows each leaf feeds directly: their domains guide the draws
        self.hints: dict[str, list] = {}
        for n in self.nodes:
            for i, a in enumerate(n.args):
                if a.op in ("var", "tensor"):
                    self.hints.setdefault(a.name, []).append((PRIMITIVES[n.op], i))

    def free_leaves(self, wrt: list) -> list:
        claimed = {w.name for w in wrt}
        return [leaf for leaf in self.lowered.leaves
                if leaf.op == "var" or leaf.name in claimed]

    def point_of(self, args: list) -> dict:
        return {leaf.name: (float(a) if np.ndim(a) == 0 else np.array(a, dtype=float))
                for leaf, a in zip(self.lowered.leaves, args)
                if leaf.op == "var" or any(leaf is w for w in self.wrt)}

    def compare(self, args: list, exact: bool) -> PointResult:
        """Claim vs truth at ``args``; the point is skipped where an op is outside its
        domain or at a kink (``exact``), or also near one (not ``exact``: within
        ``KINK_GRID / 2``, where the search does not go)."""
        res = PointResult()
        if self.code is not None:
            why = self.code.outside(args)
            if why:
                res.invalid = True
                res.why.append(why)
                return res
        value = values_at(self.lowered, args)
        problem = next(domain_problems(self.kink_nodes, value,
                                       kink=at_kink if exact else _at_or_near_kink), None)
        if problem is None:
            problem = next(domain_problems(self.truth_nodes, value, kink=None), None)
        if problem is not None:
            n, note = problem.node, problem.domain.note
            where = inputs_text(n, problem.inputs, value_text)
            if problem.kind == OUTSIDE:
                res.invalid = True
                res.why.append(f"{n.op} is outside its domain ({note}) at {where}")
            else:
                res.kink = True
                res.why.append(f"{n.op} is not differentiable here ({note}) at {where}")
            return res
        f_value = np.asarray(value(self.F))
        res.truths = [np.asarray(value(t), dtype=float) for t in self.truths]
        nodes = [np.asarray(value(c), dtype=float) for c in self.claims if isinstance(c, Node)]
        if not np.all(np.isfinite(f_value)) or not all(
                np.all(np.isfinite(a)) for a in nodes + res.truths):
            res.invalid = True
            res.why.append("a value of f, of a claim or of the gradient is not finite there")
            return res
        # code runs after the truth is computed, on copies: a claim that writes into its
        # inputs cannot change what it is compared with; a nan from code is a mismatch
        code = self.code.claims(args) if self.code is not None else {}
        res.claims = [code[w.name] if not isinstance(c, Node) else nodes.pop(0)
                      for w, c in zip(self.wrt, self.claims)]
        res.valid = True
        self.last_valid = args
        # rounding: errors of order eps times the largest value the claim and truth use
        big = max([float(np.max(np.abs(value(n)), initial=0.0))
                   for n in self.nodes if id(n) in self.side
                   and PRIMITIVES[n.op].dtype == "float64"] + [0.0])
        for w, c, t in zip(self.wrt, res.claims, res.truths):
            atol, rtol, scale = self.code.tolerance(w.name) if self.code is not None and \
                w.name in self.code.names else (self.atol, self.rtol, 0.0)
            floor = atol + _ROUNDING * big + scale * float(np.max(np.abs(t), initial=0.0))
            tol = floor + rtol * np.maximum(np.abs(c), np.abs(t))
            with np.errstate(invalid="ignore"):
                bad = ~(np.abs(c - t) <= tol)   # a nan claim is never within tolerance
            if np.any(bad):
                res.mismatch = True
                res.wrong_names.append(w.name)
                gap = np.nan_to_num(np.abs(c - t)[bad], nan=np.inf)
                res.score = max(res.score, float(np.max(gap / tol[bad])))
                res.relative = max(res.relative, float(np.max(
                    gap / np.fmax(np.fmax(np.abs(c), np.abs(t))[bad], 1e-300))))
                for idx in zip(*np.nonzero(bad)) if c.ndim else [()]:
                    res.entries.append(Mismatch(w.name, tuple(int(i) for i in idx),
                                                float(c[idx]), float(t[idx])))
        return res

    def forced_mismatch(self, args: list, w: Node) -> PointResult:
        """``compare``'s result at ``args``, with ``w``'s claim marked wrong although the
        floats agree within tolerance there (the exact difference is not 0): its entries
        are those where the floats differ at all, or else every entry."""
        res = self.compare(args, exact=False)
        k = [v.name for v in self.wrt].index(w.name)
        c, t = res.claims[k], res.truths[k]
        res.mismatch = True
        if w.name not in res.wrong_names:
            res.wrong_names.append(w.name)
        differ = c != t
        for idx in (zip(*np.nonzero(differ)) if np.any(differ) else np.ndindex(*c.shape)) \
                if c.ndim else [()]:
            res.entries.append(Mismatch(w.name, tuple(int(i) for i in idx),
                                        float(c[idx]), float(t[idx])))
        return res

    def truth_vs_fd(self, args: list, result: Optional[PointResult]
                    ) -> tuple[bool, float, str]:
        """Central differences of f against the truth at ``args``: for the mismatching
        entries (or a sample of all); the best of a few steps counts."""
        forward = self.lowered.program.forward
        worst, detail = 0.0, ""
        value = values_at(self.lowered, args)
        for w, t in zip(self.wrt, self.truths):
            if w.name not in self.pos:
                continue
            truth = np.asarray(value(t), dtype=float)
            k = self.pos[w.name]
            idxs = [e.index for e in result.entries if e.variable == w.name] if result \
                else list(np.ndindex(*w.shape))
            for idx in idxs[:MAX_FD_ENTRIES]:
                # steps relative to the entry: a point at 1e11 needs steps of its size
                scale = max(1.0, abs(float(np.asarray(args[k])[idx])))
                fd = step_sweep(forward, args, k, idx, tuple(h * scale for h in FD_STEPS))
                tv = float(truth[idx])
                err = float(np.nanmin(np.abs(fd - tv))) if np.any(np.isfinite(fd)) else np.inf
                best = float(fd[int(np.nanargmin(np.abs(fd - tv)))]) if np.isfinite(err) \
                    else float("nan")
                if not err <= FD_ATOL + FD_RTOL * max(abs(best), abs(tv)):
                    return False, err, (f"at {point_text(self.point_of(args))}: d f/d "
                                        f"{entry_label(w.name, idx)} is {num(tv)} by symdiff "
                                        f"but {num(best)} by finite differences")
                worst = max(worst, err)
        return True, worst, detail

    def one_sided(self, args: list, w: Node) -> tuple:
        """f's left and right difference quotients along each entry of ``w``."""
        if w.name not in self.pos:
            return (0.0, 0.0)
        k = self.pos[w.name]
        left, right = np.zeros(w.shape), np.zeros(w.shape)
        for idx in np.ndindex(*w.shape):
            left[idx], right[idx] = one_sided(self.lowered.program.forward, args, k, idx)
        return (float(left), float(right)) if not w.shape else (left, right)


def draw(kind: str, leaf: Node, hints: list, rng: np.random.Generator) -> Any:
    """A value of ``leaf``'s shape of the given kind (``STRUCTURED``, ``RANDOM``);
    ``hints``: (row, input position) of the rows the leaf feeds, whose domains bound the
    ``"domain"`` kind (and whose ``Domain.draw`` makes square matrices).

    >>> import symdiff as sd
    >>> draw("twos", sd.var("x", (2,)), [], np.random.default_rng(0))
    array([2., 2.])
    """
    shape = tuple(leaf.shape)
    square = len(shape) == 2 and shape[0] == shape[1]
    drawn = [row.domain.draw for row, _ in hints if row.domain.draw is not None]
    lo, hi = -3.0, 3.0
    for row, i in hints:
        a, b = row.domain.sample[i]
        if a >= 0 or (a, b) != (-3.0, 3.0):
            lo, hi = max(lo, a), min(hi, b)
    if lo >= hi:
        lo, hi = -3.0, 3.0
    if kind == "ones":
        return np.ones(shape)
    if kind == "twos":
        return np.full(shape, 2.0)
    if kind == "minus_ones":
        return -np.ones(shape)
    if kind in ("ints", "positive_ints"):
        low = 1 if kind == "positive_ints" else -3
        v = rng.integers(low, 4, size=shape).astype(float)
        if drawn and square:
            v = np.eye(shape[0]) * 4 + rng.integers(-1, 2, size=shape)
        return v
    if kind == "halves":
        return rng.integers(-6, 7, size=shape) / 2.0
    if kind == "small":
        return rng.uniform(-1, 1, size=shape) * 1e-3
    if kind == "large":
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(10, 100, size=shape)
    if kind == "zeros":
        return np.zeros(shape)
    if kind == "domain":
        if drawn and square:
            return drawn[0](rng, shape)
        return rng.uniform(lo, hi, size=shape)
    if kind == "positive":
        return rng.uniform(0.2, 3.0, size=shape)
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "wide":   # magnitudes from 0.01 to 100, either sign
        return rng.choice([-1.0, 1.0], size=shape) * 10.0 ** rng.uniform(-2, 2, size=shape)
    if kind == "scales":   # magnitudes from 1e-6 to 1e8: a claim wrong only far out
        return rng.choice([-1.0, 1.0], size=shape) * 10.0 ** rng.uniform(-6, 8, size=shape)
    return rng.uniform(-3.0, 3.0, size=shape)


def _at_or_near_kink(domain: Any, xs: list, params: dict) -> bool:
    return at_kink(domain, xs, params) or near_kink(domain, xs, params, KINK_GRID)


def search(ev: Evaluator, lowered: Any, wrt: list, points: int, seed: int,
           drawer: Callable[..., Any] = draw, kinds: tuple = RANDOM
           ) -> tuple[list, int, int]:
    """Compare at up to ``points`` valid points, structured kinds first, then points on
    both sides of every branch boundary (``boundaries``), then random ones of ``kinds``
    (drawn by ``drawer``, ``draw``'s signature): (mismatches as (rank, result, args),
    valid points compared, points tried). The rank orders counterexamples: the simple
    structured kinds by their place, the rest after them."""
    draw = drawer
    rng = np.random.default_rng(seed)
    found: list[tuple] = []
    tries, searched = 0, 0
    free = ev.free_leaves(wrt)
    starts: list[list] = []

    assumed = [(i, leaf) for i, leaf in enumerate(lowered.leaves)
               if assumption(leaf) is not None]

    def judge(args: list, rank: int, kind: str = "random") -> bool:
        nonlocal searched
        if assumed:   # only points where each variable is what it is assumed to be
            args = list(args)
            for i, leaf in assumed:
                args[i] = project_leaf(leaf, args[i])
        result = ev.compare(args, exact=False)
        if not result.valid:
            return False
        searched += 1
        ev.compared.append((kind, args))
        if result.mismatch:
            found.append((rank, result, args))
        return True

    while tries < len(STRUCTURED) and points > 0:
        kind = STRUCTURED[tries]
        tries += 1
        point = {leaf.name: draw(kind, leaf, ev.hints.get(leaf.name, []), rng)
                 for leaf in free}
        args = bind(lowered, point, {})
        if judge(args, min(tries - 1, SIMPLE), "structured"):
            starts.append(args)
    structured_valid = searched
    if points > 0:
        for args in _boundary_points(ev, lowered, free, starts, rng):
            tries += 1
            judge(args, SIMPLE, "boundary")
    budget = searched + points - structured_valid   # boundary points come on top
    while searched < budget and tries < 10 * points + 40 + searched:
        kind = kinds[tries % len(kinds)]
        tries += 1
        point = {leaf.name: draw(kind, leaf, ev.hints.get(leaf.name, []), rng)
                 for leaf in free}
        args = bind(lowered, point, {})
        if judge(args, SIMPLE + 1) and len(starts) < 2:
            starts.append(args)
    return found, searched, tries


def _boundary_points(ev: Evaluator, lowered: Any, free: list, starts: list,
                     rng: np.random.Generator) -> Iterator[list]:
    """The first acceptable candidate of each group ``boundaries.points_around`` gives,
    along up to ``MAX_LINES`` lines: through the first valid structured points, along the
    diagonal and along a random direction."""
    if not switches(ev.nodes):
        return
    if not starts:
        starts = [bind(lowered, {leaf.name: draw("domain", leaf, ev.hints.get(leaf.name, []),
                                                 rng) for leaf in free}, {})]
    names = {leaf.name for leaf in free}
    lines = []
    for k, start in enumerate(starts[:2]):
        for kind in ("ones", "normal"):
            direction = [(np.ones(leaf.shape) if kind == "ones" else
                          rng.standard_normal(leaf.shape)) if leaf.name in names
                         else np.zeros(leaf.shape) for leaf in lowered.leaves]
            lines.append((start, direction))
    for start, direction in lines[:MAX_LINES]:
        for group in points_around(lowered, ev.nodes, start, direction):
            for args in group:
                if ev.compare(args, exact=False).valid:
                    yield args
                    break
