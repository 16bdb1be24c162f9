"""``sd.verify``: a hand-derived gradient against symdiff's own, symbolically and numerically.

``sd.verify(f, {"x": "2*x"})`` takes claimed derivatives df/dvar and says whether they
are right. Two judges:

* **SymPy**: the difference claim - truth, simplified (element by element from the
  explicit forms at small shapes, else as a matrix expression). ``0`` proves the claim.
* **Numbers**: claim and truth compared at structured points (0, ±1, 2, integers, small
  and large magnitudes), at points on both sides of every branch boundary of ``f``, the
  claims and the truths (``checking.boundaries``: each op that switches branch, such as
  ``where``, ``maximum`` or ``relu``, is followed along lines over scales 1e-3 to 1e12),
  and at random ones over scales, all *inside the domain* of ``f`` and the claim:
  a point is used only if every op of ``f``, of the claim and of the truth is defined
  there (``Domain.valid`` of its row in ``numeric.PRIMITIVES``) and not at or near a kink
  (``Domain.kink``: relu or abs at 0, a tie of maximum, the boundary of a ``where``
  condition). Inputs of log, sqrt, det, inv... are drawn with their rows' ``Domain.sample``
  and ``Domain.draw`` among the other draws. The first point where they differ, preferring
  simple ones, is the ``counterexample``.

A claim is verified only when the numbers find no counterexample AND the difference is
0: proven by SymPy ("proven by SymPy"), 0 once the claim's float constants are read as the
simple fractions they round to ("equal to rounding"), or, when SymPy leaves it unreduced,
0 in 30-digit arithmetic at every point compared (``checking.exact``: "zero to 30 digits
at N points"); a difference that is not 0 there makes the claim wrong even where the floats
agree within tolerance. Only when SymPy cannot form or evaluate the difference at all
(large matrix forms, its time budget) does the verdict rest on the floats ("equal
numerically"), and the report says so.

The truth is ``sd.grad(f, ...)``, and before a counterexample is reported the truth is
cross-checked there against central finite differences, so a counterexample is never a
symdiff bug; if the truth disagrees with finite differences, the report says so loudly
instead (status ``"symdiff disagrees with finite differences"``).

Claims are text (read in matrix notation by the safe parser, never executed: see
``symdiff.graph.claims.parse_claim``), SymPy expressions (scalar, matrix expressions, or explicit
``Matrix``/``Array`` of entries over ``W[i, j]``), Nodes, or numbers. The notation is the
one symdiff prints: a 1-D variable of shape (n,) is an n×1 column, ``*`` between two
matrices is the matrix product (``@`` too), a number times a matrix scales it, ``.T``
transposes, ``x.T*x`` is 1×1 and ``(x.T*x)[0, 0]`` its number, ``A**k`` a matrix power,
``HadamardProduct``/``tanh.(A)``/``relu'.(A)`` elementwise; ``I`` is the identity and
``1`` next to a matrix in a product (or ``1.T``) a matrix of ones; ``Matrix([[...]])`` an
explicit or block matrix. So a formula printed by ``sd.diff(f, W).sympy()`` reads back as
a claim (except a block matrix whose zero-block sizes SymPy's printing leaves ambiguous).

With ``at=point`` the claim is also compared at that point; if ``f`` has a kink there
the report says "not differentiable here" and gives the one-sided slopes (left and right
difference quotients along each coordinate) instead of a mismatch.

The steps live in modules of their own: ``claims`` reads f and the claims into Nodes,
``points`` draws points and compares claim and truth there, ``difference`` forms the
symbolic difference, ``report`` prints. This module holds the verdict (``verify``) and
the report (``VerifyReport``). May import numpy, SymPy, ``numeric`` and symdiff's layers
below ``checking`` (budget, errors, graph, lowering, symbolic, derivatives), never
``teaching`` or the CLI.

>>> import symdiff as sd
>>> from symdiff.checking.verify import verify     # sd.verify
>>> x = sd.var("x")
>>> r = verify(sd.sin(x**2), {"x": "cos(x**2)"})
>>> r.ok, r.difference["x"], r.counterexample
(False, (1 - 2*x)*cos(x**2), {'x': 1.0})
>>> verify(sd.sin(x**2), {"x": "2*x*cos(x**2)"}).ok
True
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np

from symdiff.budget import SYMPY_SECONDS, OutOfMemory, OutOfTime, run_within
from symdiff.checking.claims import read_claims, read_function
from symdiff.checking.difference import DIGITS, Difference
from symdiff.checking.difference import difference as symbolic_difference
from symdiff.checking.exact import exact_judge
from symdiff.checking.points import SIMPLE, Evaluator, Mismatch, search
from symdiff.checking.report import columns, formula, num, point_text, short, slopes_text
from symdiff.graph.arguments import as_point
from symdiff.graph.node import Node, apply
from symdiff.graph.values import as_int, as_real, as_seed
from symdiff.graph.walks import topological
from symdiff.symbolic.display import DISPLAY_SECONDS
from symdiff.lowering.lower import bind, graph_leaves, lower

__all__ = ["verify", "VerifyReport", "Mismatch"]

POINTS = 40
"""Valid points the search compares claim and truth at (structured ones first)."""
RTOL = 1e-7
ATOL = 1e-9

STATUS_OK = "verified"
STATUS_WRONG = "wrong"
STATUS_KINK = "not differentiable here"
STATUS_TRUTH = "symdiff disagrees with finite differences"
STATUS_NO_POINT = "no valid point"
STATUS_DOMAIN = "outside the domain"


@dataclass
class VerifyReport:
    """Result of ``sd.verify``; ``str(report)`` is readable, ``_repr_html_`` a table.

    ok              True when every claim matches symdiff's gradient (no counterexample)
    status          "verified", "wrong", "not differentiable here", "outside the domain"
                    (of the point asked), "symdiff disagrees with finite differences" or
                    "no valid point"
    difference      name -> SymPy claim - truth, simplified: 0 when proven equal; an
                    expression, an Array of entries, or a matrix expression otherwise
                    (None when SymPy could not form it)
    proven          name -> True when SymPy reduced the difference to 0
    counterexample  None, or a point (name -> value) where a claim and the truth differ
    entries         the ``Mismatch`` entries at the counterexample
    wrong           names of the variables whose claim differs somewhere
    claims, truth   name -> Node: the claim as read, and ``sd.grad``'s derivative
    texts           name -> the claim as given (text)
    points          number of valid points compared
    at, one_sided   the point asked for, and at a kink there: name -> (left, right)
    fd_error        max |truth - finite differences| where the truth was cross-checked
    how             name -> how a verified claim was settled: "proven by SymPy", "equal to
                    rounding", "zero to 30 digits at N points" (SymPy could not reduce the
                    difference; exact arithmetic at the points compared) or "equal
                    numerically" (SymPy could not form or evaluate it)
    """

    ok: bool
    status: str
    difference: dict
    counterexample: Optional[dict]
    entries: list
    wrong: list
    claims: dict
    truth: dict
    texts: dict
    proven: dict
    points: int
    function: str = ""
    at: Optional[dict] = None
    one_sided: dict = field(default_factory=dict)
    fd_error: Optional[float] = None
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    how: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok

    def _verdict(self, name: str) -> str:
        if name in self.wrong:
            return "WRONG"
        if self.status == STATUS_KINK:
            return "not differentiable at the point asked"
        if self.status not in (STATUS_OK, STATUS_WRONG):
            return "not judged"
        how = self.how.get(name) or ("proven by SymPy" if self.proven.get(name)
                                     else "equal numerically")
        return f"verified ({how}, {self.points} points)"

    def __str__(self) -> str:
        head = {STATUS_OK: "OK", STATUS_WRONG: "WRONG"}.get(self.status, self.status.upper())
        lines = [f"verify f = {self.function}: {head}"]
        for name in self.claims:
            diff = self.difference.get(name)
            lines += [f"{name}: {self._verdict(name)}",
                      f"  claim            {short(self.texts[name])}",
                      f"  symdiff          {short(formula(self.truth[name]))}",
                      f"  claim - symdiff  "
                      f"{'(not formed)' if diff is None else short(str(diff), 300)}"]
        if self.counterexample is not None:
            lines.append(f"counterexample: {point_text(self.counterexample)}")
            rows = [("entry", "claim", "symdiff", "|claim - symdiff|")]
            for e in self.entries[:20]:
                rows.append((e.label, num(e.claim), num(e.truth), f"{e.error:.3g}"))
            lines += columns(rows)
            if len(self.entries) > 20:
                lines.append(f"... and {len(self.entries) - 20} more entries")
            if self.fd_error is not None:
                lines.append("symdiff's gradient agrees with finite differences there "
                             f"(max |symdiff - fd| = {self.fd_error:.1e})")
        if self.at is not None:
            lines.append(f"at {point_text(self.at)}")
        for name, (left, right) in self.one_sided.items():
            lines.append(f"  one-sided slopes of f: {slopes_text(name, left, right)}")
        for p in self.problems:
            lines.append(f"! {p}")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        head = {STATUS_OK: "OK", STATUS_WRONG: "WRONG"}.get(self.status, self.status)
        rows = "".join(
            f"<tr><td>{e(n)}</td><td><code>{e(short(self.texts[n]))}</code></td>"
            f"<td><code>{e(short(formula(self.truth[n])))}</code></td>"
            f"<td><code>{e(short(str(self.difference.get(n)), 300))}</code></td>"
            f"<td>{e(self._verdict(n))}</td></tr>" for n in self.claims)
        out = [f"<p><b>verify</b> f = <code>{e(self.function)}</code>: <b>{e(head)}</b></p>",
               "<table><tr><th>variable</th><th>claim</th><th>symdiff</th>"
               f"<th>claim - symdiff</th><th>verdict</th></tr>{rows}</table>"]
        if self.counterexample is not None:
            cells = "".join(f"<tr><td>{e(m.label)}</td><td>{e(num(m.claim))}</td>"
                            f"<td>{e(num(m.truth))}</td><td>{m.error:.3g}</td></tr>"
                            for m in self.entries[:50])
            out.append(f"<p>counterexample: <code>{e(point_text(self.counterexample))}"
                       "</code></p><table><tr><th>entry</th><th>claim</th><th>symdiff</th>"
                       f"<th>|claim - symdiff|</th></tr>{cells}</table>")
        extra = [f"! {p}" for p in self.problems] + [f"note: {n}" for n in self.notes]
        extra += [f"one-sided slopes of f: {slopes_text(n, lo, hi)}"
                  for n, (lo, hi) in self.one_sided.items()]
        if extra:
            out.append("<pre>" + e("\n".join(extra)) + "</pre>")
        return "\n".join(out)


def verify(f: Any, claims: Mapping[Any, Any], at: Optional[Mapping[Any, Any]] = None,
           seed: int = 0, points: int = POINTS, atol: float = ATOL,
           rtol: float = RTOL, sympy_seconds: float = SYMPY_SECONDS) -> VerifyReport:
    """Check claimed derivatives of a scalar ``f`` against symdiff's; see the module
    docstring for how.

    ``claims`` maps a variable (its name or its node) to the claimed df/dvar: text in the
    matrix notation symdiff prints (``"2*A.T*(A*x - b)"``; 1-D variables are columns,
    ``*`` of two matrices is the matrix product), a SymPy expression, a Node or a number.
    ``at``: a point (name or node -> value) to compare at first, where a kink is reported
    with one-sided slopes. ``points``: valid points the search compares at (0: only
    ``at``). A claim and the truth agree at an entry when
    ``|claim - truth| <= atol + rtol * max(|claim|, |truth|)`` (plus the rounding error
    of the values they are computed from). The symbolic difference claim - symdiff is
    given ``sympy_seconds`` per variable; past it, the report notes that SymPy did not
    finish and the verdict rests on the numbers, as it does whenever SymPy cannot decide.

    >>> import symdiff as sd
    >>> A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
    >>> f = sd.sum((A @ x - b) ** 2)
    >>> verify(f, {x: "2*A.T*(A*x - b)"}).ok
    True
    >>> r = verify(f, {x: "A.T*(A*x - b)"})
    >>> r.status, r.wrong, r.counterexample["x"]
    ('wrong', ['x'], array([1., 1.]))
    """
    f = read_function(f, context=[claims, at])
    at, seed = as_point(at, "sd.verify"), as_seed(seed, "sd.verify")
    points = as_int(points, "sd.verify", "points", minimum=0)
    atol, rtol = as_real(atol, "sd.verify", "atol", 0.0), as_real(rtol, "sd.verify", "rtol", 0.0)
    sympy_seconds = as_real(sympy_seconds, "sd.verify", "sympy_seconds", 0.0)
    F = f if f.shape == () else apply("sum", f, axis=None, keepdims=False)
    order = topological([F])
    leaves = graph_leaves(order)
    wrt, claim_nodes, texts = read_claims(claims, leaves)
    from symdiff.derivatives.reverse import grad
    truths = grad(F, wrt)
    names = [w.name for w in wrt]
    lowered = lower(F, retain=[*claim_nodes, *truths])
    ev = Evaluator(F, lowered, claim_nodes, truths, wrt, atol, rtol)
    notes: list[str] = []
    problems: list[str] = []
    if any(n._cache.get("ones_read") for n in claim_nodes):
        notes.append("a literal 1 multiplied with a matrix is read as a matrix of ones, as "
                     "symdiff prints it (write A or -A, not 1*A or -1*A, to mean A or -A)")

    # the point asked for
    at_point, one_sided_slopes, kink_here, outside = None, {}, False, False
    found: list[tuple] = []       # (rank, result, args) of each mismatch
    compared = 0
    if at is not None:
        unused = set(names) - set(lowered.index)   # claimed, but in no graph: no value needed
        args = bind(lowered, {k: v for k, v in at.items()
                              if (k.name if isinstance(k, Node) else str(k)) not in unused}, {})
        at_point = ev.point_of(args)
        result = ev.compare(args, exact=True)
        if result.kink:
            kink_here = True
            problems.extend(result.why)
            for w in wrt:
                one_sided_slopes[w.name] = ev.one_sided(args, w)
            if all(np.allclose(lo, hi, rtol=1e-5, atol=1e-5)
                   for lo, hi in one_sided_slopes.values()):
                notes.append("the one-sided slopes agree, so f itself may be differentiable "
                             "here although an op has a kink; symdiff's kink conventions "
                             "do not settle it: verify at a point nearby")
        elif result.invalid:
            outside = True
            problems.extend(result.why)
        else:
            compared += 1
            if result.mismatch:
                found.append((-1, result, args))

    # the search: structured points first, then random ones
    mismatches, searched, tries = search(ev, lowered, wrt, points, seed)
    found += mismatches
    compared += searched

    # the symbolic judge: claim - truth, given sympy_seconds per variable
    wrong = sorted({n for _, r, _ in found for n in r.wrong_names}, key=names.index)
    difference, proven, how = {}, {}, {}
    for w, c, t in zip(wrt, claim_nodes, truths):
        try:
            # a claim the numbers refuted gets its difference for display only
            seconds = sympy_seconds if w.name not in wrong else min(sympy_seconds, DISPLAY_SECONDS)
            d = run_within(seconds, symbolic_difference, c, t, w.name not in wrong)
        except OutOfTime:
            d = Difference(None, None, f"SymPy did not finish forming claim - symdiff within "
                                       f"{seconds:g} s (sympy_seconds=)")
        except OutOfMemory as e:   # process isolation with a memory cap
            d = Difference(None, None, f"SymPy went past its memory cap forming claim - "
                                       f"symdiff ({e})")
        difference[w.name], proven[w.name] = d.expr, d.proven
        if d.note:
            notes.append(f"{w.name}: {d.note}")
        if w.name in wrong:
            continue
        # a difference SymPy could not reduce to 0 is never taken on the numbers' word:
        # evaluated exactly enough to tell 0 from small, at the points compared
        if d.proven:
            how[w.name] = "equal to rounding" if d.rounded else "proven by SymPy"
            if d.rounded:
                notes.append(f"{w.name}: claim - symdiff is 0 only once the claim's float "
                             "constants are read as the simple numbers they round to")
        elif d.expr is None:
            how[w.name] = "equal numerically"
        else:
            verdict = exact_judge(ev, w, d.expr, sympy_seconds)
            if verdict.nonzero is not None:
                args, value = verdict.nonzero
                found.append((SIMPLE + 1, ev.forced_mismatch(args, w), args))
                notes.append(f"{w.name}: claim - symdiff = {num(value)} at "
                             f"{point_text(ev.point_of(args))} in {DIGITS}-digit arithmetic: "
                             "within the float tolerance there, but not 0")
            elif verdict.zero:
                how[w.name] = f"zero to {DIGITS} digits at {verdict.zero} points"
                notes.append(f"{w.name}: SymPy did not reduce claim - symdiff to 0; it is 0 "
                             f"to {DIGITS} digits at {verdict.zero} points, on both sides of "
                             "every branch boundary found")
            else:
                how[w.name] = "equal numerically"
                notes.append(f"{w.name}: SymPy did not reduce claim - symdiff to 0, and it "
                             "could not be evaluated exactly; they agree at all "
                             f"{compared} points, on both sides of every branch boundary found")

    # the verdict: a counterexample only where the truth agrees with finite differences
    wrong = sorted({n for _, r, _ in found for n in r.wrong_names}, key=names.index)
    counterexample, entries, fd_error = None, [], None
    status = STATUS_OK
    if found:
        status = STATUS_WRONG
        # the point asked for, then clearly wrong simple points, then the clearest and
        # the smallest numbers
        ranked = sorted(found, key=lambda t: (t[0] if t[1].relative > 1e-3 else SIMPLE + 1,
                                              _magnitude(t[2]), -t[1].score))
        confirmed = False
        for _, result, args in ranked[:5]:
            agree, err, detail = ev.truth_vs_fd(args, result)
            if agree:
                counterexample = ev.point_of(args)
                entries, fd_error, confirmed = result.entries, err, True
                break
            problems.append(detail)
        if not confirmed:
            status = STATUS_TRUTH
            wrong = []
    elif kink_here:
        status = STATUS_KINK
    elif outside:
        status = STATUS_DOMAIN
    elif compared == 0:
        status = STATUS_NO_POINT
        problems.append("no point inside the domain of f (and of the claims) was found "
                        f"in {tries} tries" + ("" if points else " (points=0)"))
    else:
        # no counterexample: still cross-check the truth once, at a valid point
        args = ev.last_valid
        if args is not None:
            agree, err, detail = ev.truth_vs_fd(args, None)
            if agree:
                fd_error = err
            else:
                status = STATUS_TRUTH
                problems.append(detail)
    if status == STATUS_TRUTH:
        problems.insert(0, "symdiff's own gradient disagrees with finite differences: this "
                           "is a bug in symdiff or a numerically hard point, not a verdict "
                           "on the claim; please report it")
    if kink_here and status != STATUS_KINK:
        notes.append("f is not differentiable at the point asked (see the one-sided slopes)")
    ok = status == STATUS_OK
    for t in truths:   # the report's formulas, once, within the display budget
        formula(t)
    return VerifyReport(ok, status, difference, counterexample, entries, wrong,
                        dict(zip(names, claim_nodes)), dict(zip(names, truths)), texts,
                        proven, compared, formula(f, 200), at_point, one_sided_slopes,
                        fd_error, problems, notes, how)


def _magnitude(args: list) -> float:
    """How large a point's numbers are, in decades: among equally wrong points the one
    with the smallest numbers reads best."""
    big = max((float(np.max(np.abs(a), initial=0.0)) for a in args), default=0.0)
    return round(float(np.log10(1.0 + big)))
