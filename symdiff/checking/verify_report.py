"""``VerifyReport``: what ``sd.verify`` and ``sd.verify_vjp`` return, as text and HTML.

A claim given as a formula is printed with symdiff's formula and their symbolic
difference; a claim given as code (a gradient function, a backward pass) with the call
that computed it, and its verdict is numeric: the report says at how many points and
within which tolerance, and at a counterexample lists the entries that differ, the worst
first, the claim's and symdiff's values side by side.

May import numpy and ``symdiff.checking.report``.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from symdiff.checking.judge import STATUS_KINK, STATUS_OK, STATUS_WRONG
from symdiff.checking.report import columns, formula, num, point_text, short, slopes_text

MAX_ROWS = 20
"""Entries the text lists at the counterexample (the HTML table lists up to 50)."""


@dataclass
class VerifyReport:
    """Result of ``sd.verify`` (and ``sd.verify_vjp``); ``str(report)`` is readable,
    ``_repr_html_`` a table.

    ok              True when every claim matches symdiff's gradient (no counterexample)
    status          "verified", "wrong", "not differentiable here", "outside the domain"
                    (of the point asked), "symdiff disagrees with finite differences" or
                    "no valid point"
    difference      name -> SymPy claim - truth, simplified: 0 when proven equal; an
                    expression, an Array of entries, or a matrix expression otherwise
                    (None when SymPy could not form it, and for a claim given as code)
    proven          name -> True when SymPy reduced the difference to 0
    counterexample  None, or a point (name -> value) where a claim and the truth differ
                    (for a backward pass, with the ``dout`` it was given)
    entries         the ``Mismatch`` entries at the counterexample (for code: worst first)
    wrong           names of the variables whose claim differs somewhere
    claims, truth   name -> Node: the claim as read (a ``CodeClaim`` for code), and
                    ``sd.grad``'s derivative
    texts           name -> the claim as given (text; for code, the call)
    points          number of valid points compared
    at, one_sided   the point asked for, and at a kink there: name -> (left, right)
    fd_error        max |truth - finite differences| where the truth was cross-checked
    how             name -> how a verified claim was settled: "proven by SymPy", "equal to
                    rounding", "zero to 30 digits at N points" (SymPy could not reduce the
                    difference; exact arithmetic at the points compared), "equal
                    numerically" (SymPy could not form or evaluate it) or, for code,
                    "code: compared numerically"
    code            names whose claim is code; ``tolerance`` states their tolerance
    held            inputs held at their values in ``at`` (outside wrt)
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
    code: list = field(default_factory=list)
    tolerance: str = ""
    held: list = field(default_factory=list)
    title: str = ""
    truth_texts: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok

    def _verdict(self, name: str) -> str:
        if name in self.wrong:
            if name in self.code and self.counterexample is not None:
                bad = sum(1 for e in self.entries if e.variable == name)
                return (f"WRONG ({bad} of {self.sizes.get(name, bad)} entries differ at the "
                        "counterexample)")
            return "WRONG"
        if self.status == STATUS_KINK:
            return "not differentiable at the point asked"
        if self.status not in (STATUS_OK, STATUS_WRONG):
            return "not judged"
        if name in self.code:
            return f"verified (checked numerically at {self.points} points)"
        how = self.how.get(name) or ("proven by SymPy" if self.proven.get(name)
                                     else "equal numerically")
        return f"verified ({how}, {self.points} points)"

    def _head(self) -> str:
        head = {STATUS_OK: "OK", STATUS_WRONG: "WRONG"}.get(self.status, self.status.upper())
        return f"verify {self.title}: {head}" if self.title else \
            f"verify f = {self.function}: {head}"

    def _symdiff(self, name: str) -> str:
        return self.truth_texts.get(name) or formula(self.truth[name])

    def __str__(self) -> str:
        lines = [self._head()]
        for name in self.claims:
            lines += [f"{name}: {self._verdict(name)}",
                      f"  claim            {short(self.texts[name])}",
                      f"  symdiff          {short(self._symdiff(name))}"]
            if name not in self.code:
                diff = self.difference.get(name)
                lines.append(f"  claim - symdiff  "
                             f"{'(not formed)' if diff is None else short(str(diff), 300)}")
        if self.counterexample is not None:
            lines.append(f"counterexample: {point_text(self.counterexample)}")
            rows = [("entry", "claim", "symdiff", "|claim - symdiff|")]
            for e in self.entries[:MAX_ROWS]:
                rows.append((e.label, num(e.claim), num(e.truth), _error(e.error)))
            lines += columns(rows)
            if len(self.entries) > MAX_ROWS:
                lines.append(f"... and {len(self.entries) - MAX_ROWS} more entries")
            if self.fd_error is not None:
                lines.append("symdiff's gradient agrees with finite differences there "
                             f"(max |symdiff - fd| = {self.fd_error:.1e})")
        elif self.code and self.fd_error is not None:
            lines.append("symdiff's gradient agrees with finite differences at a point "
                         f"compared (max |symdiff - fd| = {self.fd_error:.1e})")
        if self.at is not None and not (self.code and self.counterexample is not None and
                                        _same(self.at, self.counterexample)):
            lines.append(f"at {point_text(self.at)}")
        for name, (left, right) in self.one_sided.items():
            lines.append(f"  one-sided slopes of f: {slopes_text(name, left, right)}")
        if self.held:
            lines.append(f"held at their values in at: {', '.join(self.held)}")
        if self.tolerance:
            lines.append(f"tolerance: {self.tolerance}")
        for p in self.problems:
            lines.append(f"! {p}")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        head = self._head()
        diffs = {n: "(code)" if n in self.code else short(str(self.difference.get(n)), 300)
                 for n in self.claims}
        rows = "".join(
            f"<tr><td>{e(n)}</td><td><code>{e(short(self.texts[n]))}</code></td>"
            f"<td><code>{e(short(self._symdiff(n)))}</code></td>"
            f"<td><code>{e(diffs[n])}</code></td><td>{e(self._verdict(n))}</td></tr>"
            for n in self.claims)
        out = [f"<p><b>{e(head)}</b></p>",
               "<table><tr><th>variable</th><th>claim</th><th>symdiff</th>"
               f"<th>claim - symdiff</th><th>verdict</th></tr>{rows}</table>"]
        if self.counterexample is not None:
            cells = "".join(f"<tr><td>{e(m.label)}</td><td>{e(num(m.claim))}</td>"
                            f"<td>{e(num(m.truth))}</td><td>{_error(m.error)}</td></tr>"
                            for m in self.entries[:50])
            out.append(f"<p>counterexample: <code>{e(point_text(self.counterexample))}"
                       "</code></p><table><tr><th>entry</th><th>claim</th><th>symdiff</th>"
                       f"<th>|claim - symdiff|</th></tr>{cells}</table>")
        extra = [f"! {p}" for p in self.problems] + [f"note: {n}" for n in self.notes]
        extra += [f"one-sided slopes of f: {slopes_text(n, lo, hi)}"
                  for n, (lo, hi) in self.one_sided.items()]
        if self.held:
            extra.append(f"held at their values in at: {', '.join(self.held)}")
        if self.tolerance:
            extra.append(f"tolerance: {self.tolerance}")
        if extra:
            out.append("<pre>" + e("\n".join(extra)) + "</pre>")
        return "\n".join(out)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _error(err: float) -> str:
    return "nan" if np.isnan(err) else f"{err:.3g}"
