"""The numeric judge ``sd.verify`` and ``sd.verify_vjp`` share: the point asked for, the
search, and the verdict with its counterexample.

``compare_at`` compares at the point asked for (a kink there gives one-sided slopes, a
point outside the domain says so); ``search`` (``checking.points``) compares at the
structured, boundary and random points; ``verdict`` ranks what was found (the point asked
for, then clearly wrong simple points, then the smallest numbers) and confirms the best
candidates against central finite differences before one is called a counterexample:
where symdiff's own gradient disagrees with them, the status says so instead of blaming
the claim.

May import numpy and ``symdiff.checking`` (points, report).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from symdiff.checking.points import SIMPLE, Evaluator

STATUS_OK = "verified"
STATUS_WRONG = "wrong"
STATUS_KINK = "not differentiable here"
STATUS_TRUTH = "symdiff disagrees with finite differences"
STATUS_NO_POINT = "no valid point"
STATUS_DOMAIN = "outside the domain"


@dataclass
class Findings:
    """What the numbers found: mismatches as (rank, result, args), points compared and
    tried, and what happened at the point asked for."""

    found: list = field(default_factory=list)
    compared: int = 0
    tries: int = 0
    at_point: Optional[dict] = None
    one_sided: dict = field(default_factory=dict)
    kink_here: bool = False
    outside: bool = False
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def compare_at(ev: Evaluator, args: list, findings: Findings) -> None:
    """The point asked for: compared first (rank -1), or a kink or a point outside the
    domain reported."""
    findings.at_point = ev.point_of(args)
    result = ev.compare(args, exact=True)
    if result.kink:
        findings.kink_here = True
        findings.problems.extend(result.why)
        for w in ev.wrt:
            findings.one_sided[w.name] = ev.one_sided(args, w)
        if all(np.allclose(lo, hi, rtol=1e-5, atol=1e-5)
               for lo, hi in findings.one_sided.values()):
            findings.notes.append(
                "the one-sided slopes agree, so f itself may be differentiable here although "
                "an op has a kink; symdiff's kink conventions do not settle it: verify at a "
                "point nearby")
    elif result.invalid:
        findings.outside = True
        findings.problems.extend(result.why)
    else:
        findings.compared += 1
        if result.mismatch:
            findings.found.append((-1, result, args))


@dataclass
class Verdict:
    status: str
    wrong: list
    counterexample: Optional[dict] = None
    entries: list = field(default_factory=list)
    fd_error: Optional[float] = None


def verdict(ev: Evaluator, findings: Findings, points: int) -> Verdict:
    """The status, and a counterexample only where the truth agrees with finite
    differences; ``findings.problems`` and ``notes`` get what the report should say."""
    names = [w.name for w in ev.wrt]
    found, problems = findings.found, findings.problems
    wrong = sorted({n for _, r, _ in found for n in r.wrong_names}, key=names.index)
    out = Verdict(STATUS_OK, wrong)
    if found:
        out.status = STATUS_WRONG
        # the point asked for, then clearly wrong simple points, then the clearest and
        # the smallest numbers
        ranked = sorted(found, key=lambda t: (t[0] if t[1].relative > 1e-3 else SIMPLE + 1,
                                              _magnitude(t[2]), -t[1].score))
        for _, result, args in ranked[:5]:
            agree, err, detail = ev.truth_vs_fd(args, result)
            if agree:
                out.counterexample = ev.point_of(args)
                out.entries, out.fd_error = result.entries, err
                break
            problems.append(detail)
        else:
            out.status, out.wrong = STATUS_TRUTH, []
    elif findings.kink_here:
        out.status = STATUS_KINK
    elif findings.outside:
        out.status = STATUS_DOMAIN
    elif findings.compared == 0:
        out.status = STATUS_NO_POINT
        problems.append("no point inside the domain of f (and of the claims) was found "
                        f"in {findings.tries} tries" + ("" if points else " (points=0)"))
    else:
        # no counterexample: still cross-check the truth once, at the simplest valid
        # point (at a random one, exp(74) beside 0.004 leaves finite differences nothing)
        simple = [a for kind, a in ev.compared if kind == "structured"]
        args = simple[0] if simple else ev.last_valid
        if args is not None:
            agree, err, detail = ev.truth_vs_fd(args, None)
            if agree:
                out.fd_error = err
            else:
                out.status = STATUS_TRUTH
                problems.append(detail)
    if out.status == STATUS_TRUTH:
        problems.insert(0, "symdiff's own gradient disagrees with finite differences: this "
                           "is a bug in symdiff or a numerically hard point, not a verdict "
                           "on the claim; please report it")
    if findings.kink_here and out.status != STATUS_KINK:
        findings.notes.append("f is not differentiable at the point asked (see the one-sided "
                              "slopes)")
    return out


def _magnitude(args: list) -> float:
    """How large a point's numbers are, in decades: among equally wrong points the one
    with the smallest numbers reads best."""
    big = max((float(np.max(np.abs(a), initial=0.0)) for a in args), default=0.0)
    return round(float(np.log10(1.0 + big)))


def in_order(point: Optional[dict], names: list) -> Optional[dict]:
    """``point`` with ``names`` first, in that order (a function's parameter order)."""
    if point is None:
        return None
    return {**{n: point[n] for n in names if n in point},
            **{k: v for k, v in point.items() if k not in names}}


def worst_first(entries: list) -> list:
    """Mismatches sorted by |claim - symdiff|, largest (and nan) first."""
    def key(e: Any) -> float:
        err = e.error
        return -np.inf if np.isnan(err) else -err
    return sorted(entries, key=key)
