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

Claims may also be **code**: ``sd.verify(loss, grad_loss, at=..., wrt=["w"])`` with f a
Python function (traced at the shapes of ``at``; the inputs outside ``wrt`` held at their
values there) and the claim a function called with the same arguments, or functions in
the dict form, ``sd.verify(f, {"w": grad_loss})``. Code has no symbolic form: it is run
and compared at the point given and at points of the same shapes and signs near it and
beyond (``checking.code``), within a tolerance that scales with the values, which the
report states.

With ``at=point`` the claim is also compared at that point; if ``f`` has a kink there
the report says "not differentiable here" and gives the one-sided slopes (left and right
difference quotients along each coordinate) instead of a mismatch.

The steps live in modules of their own: ``claims`` reads f and the claims into Nodes
(``code_claims`` and ``code`` read functions), ``points`` draws points and compares claim
and truth there, ``judge`` gives the numeric verdict, ``difference`` forms the symbolic
difference, ``verify_report`` prints. This module puts them together (``verify``). May import numpy, SymPy, ``numeric`` and symdiff's layers
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

from typing import Any, Mapping, Optional

import numpy as np
import sympy

from symdiff.budget import SYMPY_SECONDS, OutOfMemory, OutOfTime, run_within
from symdiff.checking.assumption_hints import assumption_hints
from symdiff.graph.assumptions import assumption, condition, with_assumptions
from symdiff.checking.claims import check_notation, read_claims, read_function
from symdiff.checking.code import (CODE_ATOL, CODE_KINDS, CODE_RTOL, CODE_SCALE, Code, CodeClaim,
                                   drawer, signs_note, signs_of,
                                   tolerance_text)
from symdiff.checking.code_claims import (Inputs, has_code, is_function, read_node_claims,
                                          read_traced)
from symdiff.checking.difference import DIGITS, Difference
from symdiff.checking.difference import difference as symbolic_difference
from symdiff.checking.exact import exact_judge
from symdiff.checking.proofs import FAST_SECONDS, fast_proof
from symdiff.checking.judge import (STATUS_DOMAIN, STATUS_KINK, STATUS_NO_POINT,  # noqa: F401
                                    STATUS_OK, STATUS_TRUTH, STATUS_WRONG, Findings, compare_at,
                                    in_order, verdict, worst_first)
from symdiff.checking.points import RANDOM, SIMPLE, Evaluator, Mismatch, draw, search
from symdiff.checking.report import formula, num, point_text
from symdiff.checking.verify_report import VerifyReport
from symdiff.errors import ArgumentError
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


def verify(f: Any, claims: Any = None, at: Optional[Mapping[Any, Any]] = None,
           wrt: Any = None, seed: int = 0, points: int = POINTS,
           atol: Optional[float] = None, rtol: Optional[float] = None,
           sympy_seconds: float = SYMPY_SECONDS, notation: str = "auto",
           assume: Optional[Mapping[Any, Any]] = None) -> VerifyReport:
    """Check claimed derivatives of a scalar ``f`` against symdiff's; see the module
    docstring for how.

    ``claims`` maps a variable (its name or its node) to the claimed df/dvar: text in the
    matrix notation symdiff prints (``"2*A.T*(A*x - b)"``; 1-D variables are columns,
    ``*`` of two matrices is the matrix product), a SymPy expression, a Node, a number, or
    a function computing it (gradient code, called with f's arguments). ``claims`` may
    also be one function returning the gradients of ``wrt`` (one array, a tuple in the
    order of ``wrt``, or a dict by name). ``f`` may be a Python function written for
    numpy arrays: it is traced with a variable for each ``wrt`` input (default: every
    float or float array in ``at``) at the shape of its value in ``at``; its other
    arguments are held at their values in ``at``.

    ``at``: a point (name or node -> value) to compare at first, where a kink is reported
    with one-sided slopes. ``points``: valid points the search compares at (0: only
    ``at``). A claim and the truth agree at an entry when
    ``|claim - truth| <= atol + rtol * max(|claim|, |truth|)`` (plus the rounding error
    of the values they are computed from; defaults 1e-9 and 1e-7); for code, plus
    ``1e-8 * max|truth|`` over the input, with rtol 1e-6 by default. The symbolic
    difference claim - symdiff is given ``sympy_seconds`` per variable; past it, the
    report notes that SymPy did not finish and the verdict rests on the numbers, as it
    does whenever SymPy cannot decide.

    ``notation``: how claim text is read: ``"matrix"`` (as symdiff prints), ``"numpy"``
    (as ``sd.parse`` and numpy code: ``@`` the matrix product, ``*`` elementwise), or
    ``"auto"`` (the default; see ``checking.claims.NOTATIONS``).

    ``assume``: what variables are assumed to be, by name: ``"symmetric"``,
    ``"probability"`` or ``"labels(-1, 1)"`` (``symdiff.graph.assumptions``), for an f
    given as text, SymPy or code, whose variables no ``sd.var(..., symmetric=True)``
    declared; random points and proofs respect them, and the report states them.

    >>> import numpy as np
    >>> import symdiff as sd
    >>> A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
    >>> f = sd.sum((A @ x - b) ** 2)
    >>> verify(f, {x: "2*A.T*(A*x - b)"}).ok
    True
    >>> r = verify(f, {x: "A.T*(A*x - b)"})
    >>> r.status, r.wrong, r.counterexample["x"]
    ('wrong', ['x'], array([1., 1.]))
    >>> def loss(w, X):
    ...     return ((X @ w) ** 2).sum()
    >>> def grad_loss(w, X):
    ...     return 2 * X.T @ (X @ w)
    >>> verify(loss, grad_loss, at={"w": np.ones(2), "X": np.eye(2)}, wrt=["w"]).ok
    True
    """
    at, seed = as_point(at, "sd.verify"), as_seed(seed, "sd.verify")
    points = as_int(points, "sd.verify", "points", minimum=0)
    given_atol, given_rtol = (None if v is None else as_real(v, "sd.verify", k, 0.0)
                              for k, v in (("atol", atol), ("rtol", rtol)))
    sympy_seconds = as_real(sympy_seconds, "sd.verify", "sympy_seconds", 0.0)
    notation = check_notation(notation, "sd.verify")
    if claims is None:
        raise ArgumentError("sd.verify: give the claims: a dict variable -> claimed "
                            "derivative, or a function computing the gradient")
    inputs = _read(f, claims, at, wrt, notation)
    if assume:
        k = len(inputs.wrt)
        new = with_assumptions([inputs.f, *inputs.wrt, *inputs.claims], assume, "sd.verify")
        inputs.f, inputs.wrt, inputs.claims = new[0], new[1:1 + k], new[1 + k:]
    f = inputs.f
    atol = ATOL if given_atol is None else given_atol
    rtol = RTOL if given_rtol is None else given_rtol
    F = f if f.shape == () else apply("sum", f, axis=None, keepdims=False)
    wrt_nodes, claim_nodes = inputs.wrt, inputs.claims
    from symdiff.derivatives.reverse import grad
    truths = grad(F, wrt_nodes)
    names = [w.name for w in wrt_nodes]
    lowered = lower(F, retain=[*[c for c in claim_nodes if isinstance(c, Node)], *truths])
    code = None
    kinds, draw_point = RANDOM, draw
    if inputs.code_names:
        graph_at = inputs.at_graph or {}
        signs = signs_of(graph_at, [n for n in names if n in graph_at and n in lowered.index])
        held = dict(inputs.held)
        for w in wrt_nodes:   # a variable f does not read: its value in at, else zeros
            if w.name not in lowered.index:
                held.setdefault(w.name, graph_at.get(w.name, np.zeros(w.shape)))
        code = Code(lowered, inputs.code_names, inputs.calls, held, signs,
                    CODE_ATOL if given_atol is None else given_atol,
                    CODE_RTOL if given_rtol is None else given_rtol, CODE_SCALE)
        kinds, draw_point = CODE_KINDS, drawer(graph_at, signs)
    ev = Evaluator(F, lowered, claim_nodes, truths, wrt_nodes, atol, rtol, code)
    findings = Findings()
    numpy_read = [w.name for w, n in zip(wrt_nodes, claim_nodes)
                  if isinstance(n, Node) and n._cache.get("notation") == "numpy"]
    if numpy_read and notation == "auto":
        findings.notes.append(f"{', '.join(numpy_read)}: claim read in numpy notation (@ "
                              "the matrix product, * elementwise)")
    findings.notes += [f"assuming {condition(n)}" for n in lowered.leaves
                       if assumption(n) is not None]
    if any(isinstance(n, Node) and n._cache.get("ones_read") for n in claim_nodes):
        findings.notes.append(
            "a literal 1 multiplied with a matrix is read as a matrix of ones, as symdiff "
            "prints it (write A or -A, not 1*A or -1*A, to mean A or -A)")

    # the point asked for, then the search: structured points first, then random ones
    if at is not None:
        given = at if code is None else inputs.at_graph
        unused = set(names) - set(lowered.index)   # claimed, but in no graph: no value needed
        args = bind(lowered, {k: v for k, v in given.items()
                              if (k.name if isinstance(k, Node) else str(k)) not in unused}, {})
        compare_at(ev, args, findings)
    mismatches, searched, findings.tries = search(ev, lowered, wrt_nodes, points, seed,
                                                  draw_point, kinds)
    findings.found += mismatches
    findings.compared += searched
    difference, proven, how = _symbolic(ev, findings, sympy_seconds)

    out = verdict(ev, findings, points)
    if out.status == STATUS_WRONG and code is None:   # would an assumption make it right?
        findings.notes += assumption_hints(ev, lowered, wrt_nodes, seed)
    if code is not None:
        out.entries = worst_first(out.entries)
        out.counterexample = in_order(out.counterexample, inputs.order)
        findings.at_point = in_order(findings.at_point, inputs.order)
        for n in inputs.code_names:
            difference[n], proven[n] = None, False
            how[n] = "code: compared numerically"
            if n in code.dtypes:
                findings.notes.append(f"{n}: the code returned {code.dtypes[n]}; compared "
                                      f"within its precision (rtol {code.tolerance(n)[1]:g})")
        if code.signs:
            findings.notes.append(signs_note(code.signs))
    elif not inputs.truth_texts:
        for t in truths:   # the report's formulas, once, within the display budget
            formula(t)
    return VerifyReport(
        out.status == STATUS_OK, out.status, difference, out.counterexample, out.entries,
        out.wrong, dict(zip(names, claim_nodes)), dict(zip(names, truths)), inputs.texts,
        proven, findings.compared, inputs.title or formula(f, 200), findings.at_point,
        findings.one_sided, out.fd_error, findings.problems, findings.notes, how,
        code=list(inputs.code_names), held=list(inputs.held_names) if code else [],
        tolerance=tolerance_text(code.atol, code.rtol, code.scale) if code else "",
        title=inputs.title, truth_texts=dict(inputs.truth_texts),
        sizes={w.name: w.size for w in wrt_nodes})


def _read(f: Any, claims: Any, at: Optional[Mapping], wrt: Any, notation: str) -> Inputs:
    """f and the claims: a traced Python function, or a Node with claims as formulas
    (and functions)."""
    if is_function(f):
        return read_traced(f, claims, at, wrt, "sd.verify", notation)
    f = read_function(f, context=[claims, at])
    if has_code(claims):
        return read_node_claims(f, claims, at, wrt, "sd.verify", notation)
    if wrt is not None:
        raise ArgumentError("sd.verify: wrt= goes with claims given as a function; the dict "
                            "of claims names the variables already")
    order = topological([f])
    wrt_nodes, nodes, texts = read_claims(claims, graph_leaves(order), notation)
    return Inputs(f, wrt_nodes, nodes, texts, at_graph=None if at is None else dict(at))


def _symbolic(ev: Evaluator, findings: Findings, sympy_seconds: float
              ) -> tuple[dict, dict, dict]:
    """The symbolic judge of the claims given as formulas: claim - truth, given
    ``sympy_seconds`` per variable; a difference SymPy cannot reduce is evaluated exactly
    (``exact_judge``), and one that is not 0 adds a mismatch to ``findings``."""
    names = [w.name for w in ev.wrt]
    notes = findings.notes
    difference, proven, how = {}, {}, {}
    _fast(ev, findings, sympy_seconds, difference, proven, how)
    wrong = sorted({n for _, r, _ in findings.found for n in r.wrong_names}, key=names.index)
    for w, c, t in zip(ev.wrt, ev.claims, ev.truths):
        if isinstance(c, CodeClaim) or w.name in proven:
            continue
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
            how[w.name] = "equal to rounding" if d.rounded else "proven by SymPy: entries expanded"
            if d.rounded:
                notes.append(f"{w.name}: claim - symdiff is 0 only once the claim's float "
                             "constants are read as the simple numbers they round to")
        elif d.expr is None:
            how[w.name] = "equal numerically"
        else:
            verdict_ = exact_judge(ev, w, d.expr, sympy_seconds)
            if verdict_.nonzero is not None:
                args, value = verdict_.nonzero
                findings.found.append((SIMPLE + 1, ev.forced_mismatch(args, w), args))
                notes.append(f"{w.name}: claim - symdiff = {num(value)} at "
                             f"{point_text(ev.point_of(args))} in {DIGITS}-digit arithmetic: "
                             "within the float tolerance there, but not 0")
            elif verdict_.zero:
                how[w.name] = f"zero to {DIGITS} digits at {verdict_.zero} points"
                notes.append(f"{w.name}: SymPy did not reduce claim - symdiff to 0; it is 0 "
                             f"to {DIGITS} digits at {verdict_.zero} points, on both sides of "
                             "every branch boundary found")
            else:
                how[w.name] = "equal numerically"
                notes.append(f"{w.name}: SymPy did not reduce claim - symdiff to 0, and it "
                             "could not be evaluated exactly; they agree at all "
                             f"{findings.compared} points, on both sides of every branch "
                             "boundary found")
    return difference, proven, how


def _fast(ev: Evaluator, findings: Findings, sympy_seconds: float, difference: dict,
          proven: dict, how: dict) -> None:
    """The cheap exact steps (``checking.proofs``) on each claim given as a formula: most
    small claims are proven here. A claim refuted only at points that are not simple
    (large or ill-conditioned values, where claim and truth round differently) is tried
    too: proven the same expression, its float mismatches are rounding and are dropped."""
    refuted: dict[str, bool] = {}
    for rank, r, _ in findings.found:
        for n in r.wrong_names:
            refuted[n] = refuted.get(n, False) or rank < SIMPLE
    for w, c, t in zip(ev.wrt, ev.claims, ev.truths):
        if isinstance(c, CodeClaim) or refuted.get(w.name):
            continue
        step = fast_proof(c, t, min(FAST_SECONDS, sympy_seconds))
        if step is None:
            continue
        difference[w.name], proven[w.name] = sympy.S.Zero, True
        how[w.name] = f"proven by SymPy: {step}"
        if w.name in refuted:
            dropped = [f for f in findings.found if f[1].wrong_names == [w.name]]
            gone = {id(f) for f in dropped}
            findings.found = [f for f in findings.found if id(f) not in gone]
            for f in findings.found:   # a point where another claim is wrong too
                f[1].wrong_names = [n for n in f[1].wrong_names if n != w.name]
                f[1].entries = [e for e in f[1].entries if e.variable != w.name]
            findings.notes.append(
                f"{w.name}: claim and symdiff differ in floating point at {len(dropped)} "
                "point(s) with large or ill-conditioned values; SymPy proves them the same "
                "expression, so the differences are rounding")
