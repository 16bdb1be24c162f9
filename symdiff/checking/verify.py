"""``sd.verify``: a hand-derived gradient against symdiff's own, symbolically and numerically.

``sd.verify(f, {"x": "2*x"})`` takes claimed derivatives df/dvar and says whether they
are right. Two judges:

* **SymPy**: the difference claim - truth, simplified (element by element from the
  explicit forms at small shapes, else as a matrix expression). ``0`` proves the claim.
* **Numbers**: claim and truth compared at structured points (0, ±1, 2, integers, small
  and large magnitudes) and random ones, all *inside the domain* of ``f`` and the claim:
  a point is used only if every op of ``f``, of the claim and of the truth is defined
  there (``Domain.valid`` of its row in ``numeric.PRIMITIVES``) and not at or near a kink
  (``Domain.kink``: relu or abs at 0, a tie of maximum, the boundary of a ``where``
  condition). Inputs of log, sqrt, det, inv... are drawn with their rows' ``Domain.sample``
  and ``Domain.draw`` among the other draws. The first point where they differ, preferring
  simple ones, is the ``counterexample``.

The truth is ``sd.grad(f, ...)``, and before a counterexample is reported the truth is
cross-checked there against central finite differences, so a counterexample is never a
symdiff bug; if the truth disagrees with finite differences, the report says so loudly
instead (status ``"symdiff disagrees with finite differences"``).

Claims are text (read in matrix notation by the safe parser, never executed: see
``symdiff.parse.parse_claim``), SymPy expressions (scalar, matrix expressions, or explicit
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
import sympy

from numeric import PRIMITIVES
from numeric.finite_diff import one_sided, step_sweep

from symdiff.errors import ClosedFormError, ParseError, ShapeError, SymdiffError, VariableError
from symdiff.lowering.lower import bind, graph_leaves, lower
from symdiff.graph.node import Node, apply, const, topological
from symdiff.budget import SYMPY_SECONDS, OutOfTime, run_within

__all__ = ["verify", "VerifyReport", "Mismatch"]

POINTS = 40
"""Valid points the search compares claim and truth at (structured ones first)."""
RTOL = 1e-7
ATOL = 1e-9
KINK_GRID = 0.01
"""Points whose op inputs, rounded to this grid, hit a kink are not used (margin 0.005)."""
MAX_SYMBOLIC = 400
"""Largest claim + truth graph (nodes x elements) expanded into SymPy element formulas."""
FD_STEPS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
FD_ATOL, FD_RTOL = 1e-5, 1e-3
MAX_FD_ENTRIES = 50
_ROUNDING = 64 * np.finfo(float).eps
_STRUCTURED = ("ones", "twos", "minus_ones", "positive_ints", "ints", "halves", "zeros",
               "small", "large")
_SIMPLE = 7   # the first structured kinds make readable counterexamples
_RANDOM = ("domain", "uniform", "normal", "domain", "positive", "wide")

STATUS_OK = "verified"
STATUS_WRONG = "wrong"
STATUS_KINK = "not differentiable here"
STATUS_TRUTH = "symdiff disagrees with finite differences"
STATUS_NO_POINT = "no valid point"
STATUS_DOMAIN = "outside the domain"


@dataclass
class Mismatch:
    """One entry where the claim and symdiff's gradient differ at the counterexample."""

    variable: str
    index: tuple
    claim: float
    truth: float

    @property
    def label(self) -> str:
        return self.variable + (str(list(self.index)) if self.index else "")

    @property
    def error(self) -> float:
        return abs(self.claim - self.truth)


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

    def __bool__(self) -> bool:
        return self.ok

    def _verdict(self, name: str) -> str:
        if name in self.wrong:
            return "WRONG"
        if self.status == STATUS_KINK:
            return "not differentiable at the point asked"
        if self.status not in (STATUS_OK, STATUS_WRONG):
            return "not judged"
        how = "proven by SymPy" if self.proven.get(name) else "equal numerically"
        return f"verified ({how}, {self.points} points)"

    def __str__(self) -> str:
        head = {STATUS_OK: "OK", STATUS_WRONG: "WRONG"}.get(self.status, self.status.upper())
        lines = [f"verify f = {self.function}: {head}"]
        for name in self.claims:
            diff = self.difference.get(name)
            lines += [f"{name}: {self._verdict(name)}",
                      f"  claim            {_short(self.texts[name])}",
                      f"  symdiff          {_short(_formula(self.truth[name]))}",
                      f"  claim - symdiff  "
                      f"{'(not formed)' if diff is None else _short(str(diff), 300)}"]
        if self.counterexample is not None:
            lines.append(f"counterexample: {_point_text(self.counterexample)}")
            rows = [("entry", "claim", "symdiff", "|claim - symdiff|")]
            for e in self.entries[:20]:
                rows.append((e.label, _num(e.claim), _num(e.truth), f"{e.error:.3g}"))
            lines += _columns(rows)
            if len(self.entries) > 20:
                lines.append(f"... and {len(self.entries) - 20} more entries")
            if self.fd_error is not None:
                lines.append("symdiff's gradient agrees with finite differences there "
                             f"(max |symdiff - fd| = {self.fd_error:.1e})")
        if self.at is not None:
            lines.append(f"at {_point_text(self.at)}")
        for name, (left, right) in self.one_sided.items():
            lines.append(f"  one-sided slopes of f: {_slopes(name, left, right)}")
        for p in self.problems:
            lines.append(f"! {p}")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        head = {STATUS_OK: "OK", STATUS_WRONG: "WRONG"}.get(self.status, self.status)
        rows = "".join(
            f"<tr><td>{e(n)}</td><td><code>{e(_short(self.texts[n]))}</code></td>"
            f"<td><code>{e(_short(_formula(self.truth[n])))}</code></td>"
            f"<td><code>{e(_short(str(self.difference.get(n)), 300))}</code></td>"
            f"<td>{e(self._verdict(n))}</td></tr>" for n in self.claims)
        out = [f"<p><b>verify</b> f = <code>{e(self.function)}</code>: <b>{e(head)}</b></p>",
               "<table><tr><th>variable</th><th>claim</th><th>symdiff</th>"
               f"<th>claim - symdiff</th><th>verdict</th></tr>{rows}</table>"]
        if self.counterexample is not None:
            cells = "".join(f"<tr><td>{e(m.label)}</td><td>{e(_num(m.claim))}</td>"
                            f"<td>{e(_num(m.truth))}</td><td>{m.error:.3g}</td></tr>"
                            for m in self.entries[:50])
            out.append(f"<p>counterexample: <code>{e(_point_text(self.counterexample))}"
                       "</code></p><table><tr><th>entry</th><th>claim</th><th>symdiff</th>"
                       f"<th>|claim - symdiff|</th></tr>{cells}</table>")
        extra = [f"! {p}" for p in self.problems] + [f"note: {n}" for n in self.notes]
        extra += [f"one-sided slopes of f: {_slopes(n, lo, hi)}"
                  for n, (lo, hi) in self.one_sided.items()]
        if extra:
            out.append("<pre>" + e("\n".join(extra)) + "</pre>")
        return "\n".join(out)


# ---------------------------------------------------------------------------
# the entry point
# ---------------------------------------------------------------------------

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
    f = _function(f)
    F = f if f.shape == () else apply("sum", f, axis=None, keepdims=False)
    order = topological([F])
    leaves = graph_leaves(order)
    wrt, claim_nodes, texts = _read_claims(claims, leaves)
    from symdiff.derivatives.reverse import grad
    truths = grad(F, wrt)
    names = [w.name for w in wrt]
    lowered = lower(F, retain=[*claim_nodes, *truths])
    ev = _Evaluator(F, lowered, claim_nodes, truths, wrt, atol, rtol)
    notes: list[str] = []
    problems: list[str] = []
    if any(n._cache.get("ones_read") for n in claim_nodes):
        notes.append("a literal 1 multiplied with a matrix is read as a matrix of ones, as "
                     "symdiff prints it (write A or -A, not 1*A or -1*A, to mean A or -A)")

    # the point asked for
    at_point, one_sided_slopes, kink_here, outside = None, {}, False, False
    found: list[tuple] = []       # (score, structured, point, result)
    compared = 0
    if at is not None:
        if not isinstance(at, Mapping):
            raise SymdiffError(f"at must be a mapping of variable (name or node) to value, "
                               f"got {type(at).__name__}")
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
    rng = np.random.default_rng(seed)
    tries, searched = 0, 0
    free = ev.free_leaves(wrt)
    while searched < points and tries < 10 * points + 40:
        structured = tries < len(_STRUCTURED)
        kind = _STRUCTURED[tries] if structured else _RANDOM[tries % len(_RANDOM)]
        tries += 1
        point = {leaf.name: _draw(kind, leaf, ev.hints.get(leaf.name, []), rng)
                 for leaf in free}
        args = bind(lowered, point, {})
        result = ev.compare(args, exact=False)
        if not result.valid:
            continue
        searched += 1
        if result.mismatch:
            found.append((tries - 1 if tries - 1 < _SIMPLE else _SIMPLE, result, args))
    compared += searched

    wrong = sorted({n for _, r, _ in found for n in r.wrong_names}, key=names.index)
    counterexample, entries, fd_error = None, [], None
    status = STATUS_OK
    if found:
        status = STATUS_WRONG
        # the point asked for, then clearly wrong simple points, then the clearest
        ranked = sorted(found, key=lambda t: (t[0] if t[1].relative > 1e-3 else _SIMPLE + 1,
                                              -t[1].score))
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

    difference, proven = {}, {}
    for w, c, t in zip(wrt, claim_nodes, truths):
        try:
            d, p, note = run_within(sympy_seconds, _difference, c, t, w.name not in wrong)
        except OutOfTime:
            d, p, note = None, None, (f"SymPy did not finish forming claim - symdiff within "
                                      f"{sympy_seconds:g} s (sympy_seconds=)")
        difference[w.name], proven[w.name] = d, p
        if note:
            notes.append(f"{w.name}: {note}")
        if p is False and w.name not in wrong and status == STATUS_OK:
            notes.append(f"{w.name}: SymPy did not reduce claim - symdiff to 0, but they "
                         f"agree at all {compared} points")
    ok = status == STATUS_OK
    return VerifyReport(ok, status, difference, counterexample, entries, wrong,
                        dict(zip(names, claim_nodes)), dict(zip(names, truths)), texts,
                        proven, compared, _formula(f, 200), at_point, one_sided_slopes,
                        fd_error, problems, notes)


# ---------------------------------------------------------------------------
# reading f and the claims
# ---------------------------------------------------------------------------

def _function(f: Any) -> Node:
    if isinstance(f, str):
        from symdiff.graph.parse import parse
        f = parse(f)
    if not isinstance(f, Node):
        raise SymdiffError(f"verify() needs a symdiff Node (or formula text), "
                           f"got {type(f).__name__}")
    if f.size != 1:
        raise ShapeError(f"verify() checks gradients of a scalar f; this f has shape "
                         f"{f.shape} ({f.size} elements): reduce it first, e.g. "
                         "sd.sum(f), or check one element f[i]")
    return f


def _read_claims(claims: Any, leaves: dict) -> tuple[list, list, dict]:
    if not isinstance(claims, Mapping) or not claims:
        raise SymdiffError("claims must be a non-empty mapping: variable (name or node) -> "
                           "claimed derivative (text, SymPy expression or Node)")
    wrt: list[Node] = []
    for key in claims:
        if isinstance(key, Node):
            if key.op not in ("var", "tensor"):
                raise VariableError(f"a claim is keyed by {key._describe()}; keys are "
                                    "variables (or their names)")
            seen = leaves.get(key.name)
            if seen is not None and seen is not key and not (
                    seen.op == key.op == "var" and seen.shape == key.shape):
                raise VariableError(f"the claim's variable '{key.name}' ({key.op} of shape "
                                    f"{key.shape}) is not f's '{key.name}' ({seen.op} of "
                                    f"shape {seen.shape})")
            w = seen if seen is not None else key
        else:
            name = str(key)
            w = leaves.get(name)
            if w is None:
                known = ", ".join(sorted(leaves)) or "none"
                raise VariableError(f"f has no variable '{name}' (its variables: {known}); "
                                    "to claim a derivative with respect to a variable f does "
                                    "not use, key the claim by the variable node")
        if any(v is w for v in wrt):
            raise VariableError(f"two claims for '{w.name}'")
        wrt.append(w)
    variables = dict(leaves)
    for w in wrt:
        variables.setdefault(w.name, w)
    nodes, texts = [], {}
    for w, value in zip(wrt, claims.values()):
        node, texts[w.name] = _claim_node(value, w, variables)
        nodes.append(node)
    return wrt, nodes, texts


def _claim_node(value: Any, w: Node, variables: dict) -> tuple[Node, str]:
    from symdiff.graph.claims import parse_claim
    if isinstance(value, str):
        try:
            node = parse_claim(value, variables, wrt=w)
        except ParseError as e:
            raise ParseError(f"claim for '{w.name}': {e.message}", e.text, e.position) \
                from None
        text = value.strip()
    elif isinstance(value, Node):
        node, text = value, _formula(value)
        stray = sorted({n.name for n in topological([node]) if n.op in ("var", "tensor")
                        and n.name not in variables})
        if stray:
            raise VariableError(f"the claim for '{w.name}' uses {', '.join(stray)}, which "
                                "f does not have")
    elif isinstance(value, (sympy.Basic, sympy.MatrixBase, sympy.NDimArray)):
        node, text = _from_sympy(value, w, variables), str(value)
    elif isinstance(value, (int, float, np.ndarray, list, tuple, np.number)):
        node, text = const(value), np.array2string(np.asarray(value), separator=", ")
    else:
        raise SymdiffError(f"the claim for '{w.name}' is a {type(value).__name__}; give "
                           "text, a SymPy expression, a Node or a number")
    if node.shape != w.shape:
        if node.shape == ():
            node = apply("broadcast_to", node, shape=w.shape)
        else:
            raise ShapeError(f"the claim for '{w.name}' has shape {node.shape}, but "
                             f"'{w.name}' has shape {w.shape}")
    if node.is_leaf:   # keep the variable's own node untouched (its cache is shared)
        node = apply("mul", node, 1.0)
    node._cache["context"] = frozenset(variables) | node._cache.get("context", frozenset())
    return node, text


def _from_sympy(expr: Any, w: Node, variables: dict) -> Node:
    """A claim given as a SymPy object -> Node."""
    from symdiff.symbolic.from_sympy import from_sympy
    from symdiff.graph.claims import parse_claim
    if isinstance(expr, (sympy.MatrixBase, sympy.NDimArray)):
        arr = np.array(expr.tolist(), dtype=object)
        shape = w.shape
        if arr.shape != shape and arr.size == int(np.prod(shape, dtype=np.int64)) and \
                len(shape) == 1 and arr.shape in ((shape[0], 1), (1, shape[0])):
            arr = arr.reshape(shape)
        if arr.shape != shape:
            raise ShapeError(f"the claim for '{w.name}' has shape {arr.shape}, but "
                             f"'{w.name}' has shape {shape}")
        total: Optional[Node] = None
        for idx in np.ndindex(*shape):
            entry = _scalar_sympy(arr[idx], variables, from_sympy)
            piece = apply("unindex", entry, key=tuple(int(i) for i in idx), shape=shape)
            total = piece if total is None else apply("add", total, piece)
        return total if total is not None else const(np.zeros(shape))
    expr = sympy.sympify(expr)
    if getattr(expr, "is_Matrix", False) or expr.atoms(sympy.MatrixSymbol):
        return parse_claim(str(expr), variables, wrt=w)
    return _scalar_sympy(expr, variables, from_sympy)


def _scalar_sympy(expr: Any, variables: dict, from_sympy: Any) -> Node:
    expr = sympy.sympify(expr)
    env: dict = {}
    labels = {e.base.label for e in expr.atoms(sympy.Indexed)}
    for s in expr.free_symbols:
        if isinstance(s, sympy.Indexed) or s in labels:
            continue
        node = variables.get(s.name)
        if node is None:
            raise VariableError(f"the claim uses the symbol '{s}', which names no variable "
                                f"of f (its variables: {', '.join(sorted(variables))})")
        if node.shape != ():
            raise VariableError(f"the claim uses '{s}' as a number, but '{s}' has shape "
                                f"{node.shape}: write its entries {s}[i] or use matrix "
                                "notation in text")
        env[s] = node
    for e in expr.atoms(sympy.Indexed):
        name = str(e.base.label)
        node = variables.get(name)
        if node is None:
            raise VariableError(f"the claim uses '{e}', but f has no variable '{name}'")
        idx = tuple(int(i) for i in e.indices)
        if node.ndim == 1 and len(idx) == 2 and idx[1] == 0:
            idx = idx[:1]
        env[e] = node[idx]
    return from_sympy(expr, env)


# ---------------------------------------------------------------------------
# numbers: points, domains, comparisons
# ---------------------------------------------------------------------------

class _Result:
    """Claim vs truth at one point."""

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


class _Evaluator:
    """One lowered program for f, the claims and the truths; domain checks and
    comparisons at points."""

    def __init__(self, F: Node, lowered: Any, claims: list, truths: list, wrt: list,
                 atol: float, rtol: float):
        self.F, self.lowered, self.wrt = F, lowered, wrt
        self.claims, self.truths = claims, truths
        self.atol, self.rtol = atol, rtol
        self.slots = lowered.slots
        self.nodes = [n for n in topological([F, *claims, *truths]) if not n.is_leaf]
        self.side = {id(n) for n in topological([*claims, *truths])}
        self.last_valid: Optional[list] = None
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

    def compare(self, args: list, exact: bool) -> _Result:
        res = _Result()
        vals = self.lowered.program.values(*args)
        for n in self.nodes:
            dom = PRIMITIVES[n.op].domain
            xs = [vals[self.slots[id(a)]] for a in n.args]
            with np.errstate(all="ignore"):
                if dom.valid is not None and not np.all(dom.valid(*xs, **n.params)):
                    res.invalid = True
                    res.why.append(f"{n.op} is outside its domain ({dom.note}) at "
                                   f"{self._where(n, xs)}")
                    return res
                if dom.kink is not None and _at_kink(dom, xs, n.params, exact):
                    res.kink = True
                    res.why.append(f"{n.op} is not differentiable here ({dom.note}) at "
                                   f"{self._where(n, xs)}")
                    return res
        value = np.asarray(vals[self.slots[id(self.F)]])
        res.claims = [np.asarray(vals[self.slots[id(c)]], dtype=float) for c in self.claims]
        res.truths = [np.asarray(vals[self.slots[id(t)]], dtype=float) for t in self.truths]
        if not np.all(np.isfinite(value)) or not all(
                np.all(np.isfinite(a)) for a in res.claims + res.truths):
            res.invalid = True
            res.why.append("a value of f, of a claim or of the gradient is not finite there")
            return res
        res.valid = True
        self.last_valid = args
        # rounding: errors of order eps times the largest value the claim and truth use
        big = max([float(np.max(np.abs(vals[self.slots[id(n)]]), initial=0.0))
                   for n in self.nodes if id(n) in self.side
                   and PRIMITIVES[n.op].dtype == "float64"] + [0.0])
        floor = self.atol + _ROUNDING * big
        for w, c, t in zip(self.wrt, res.claims, res.truths):
            tol = floor + self.rtol * np.maximum(np.abs(c), np.abs(t))
            bad = np.abs(c - t) > tol
            if np.any(bad):
                res.mismatch = True
                res.wrong_names.append(w.name)
                gap = np.abs(c - t)[bad]
                res.score = max(res.score, float(np.max(gap / tol[bad])))
                res.relative = max(res.relative, float(np.max(
                    gap / np.maximum(np.maximum(np.abs(c), np.abs(t))[bad], 1e-300))))
                for idx in zip(*np.nonzero(bad)) if c.ndim else [()]:
                    res.entries.append(Mismatch(w.name, tuple(int(i) for i in idx),
                                                float(c[idx]), float(t[idx])))
        return res

    def _where(self, n: Node, xs: list) -> str:
        parts = []
        for a, x in zip(n.args, xs):
            label = a.name if a.name else a.op
            parts.append(f"{label} = {_value_text(x)}")
        return ", ".join(parts)

    def truth_vs_fd(self, args: list, result: Optional[_Result]) -> tuple[bool, float, str]:
        """Central differences of f against the truth at ``args``: for the mismatching
        entries (or a sample of all); the best of a few steps counts."""
        forward = self.lowered.program.forward
        worst, detail = 0.0, ""
        vals = self.lowered.program.values(*args)
        for w, t in zip(self.wrt, self.truths):
            if w.name not in self.pos:
                continue
            truth = np.asarray(vals[self.slots[id(t)]], dtype=float)
            k = self.pos[w.name]
            idxs = [e.index for e in result.entries if e.variable == w.name] if result \
                else list(np.ndindex(*w.shape))
            for idx in idxs[:MAX_FD_ENTRIES]:
                fd = step_sweep(forward, args, k, idx, FD_STEPS)
                tv = float(truth[idx])
                err = float(np.nanmin(np.abs(fd - tv))) if np.any(np.isfinite(fd)) else np.inf
                best = float(fd[int(np.nanargmin(np.abs(fd - tv)))]) if np.isfinite(err) \
                    else float("nan")
                if not err <= FD_ATOL + FD_RTOL * max(abs(best), abs(tv)):
                    label = w.name + (str(list(idx)) if idx else "")
                    return False, err, (f"at {_point_text(self.point_of(args))}: d f/d "
                                        f"{label} is {_num(tv)} by symdiff but {_num(best)} "
                                        "by finite differences")
                worst = max(worst, err)
        return True, worst, detail

    def one_sided(self, args: list, w: Node) -> tuple:
        if w.name not in self.pos:
            return (0.0, 0.0)
        k = self.pos[w.name]
        left, right = np.zeros(w.shape), np.zeros(w.shape)
        for idx in np.ndindex(*w.shape):
            left[idx], right[idx] = one_sided(self.lowered.program.forward, args, k, idx)
        return (float(left), float(right)) if not w.shape else (left, right)


def _at_kink(dom: Any, xs: list, params: dict, exact: bool) -> bool:
    if np.any(dom.kink(*xs, **params)):
        return True
    if exact:
        return False
    for offset in (0.0, KINK_GRID / 2):
        rounded = [x if np.asarray(x).dtype == np.bool_ else
                   np.round((np.asarray(x, dtype=float) + offset) / KINK_GRID) * KINK_GRID
                   for x in xs]
        if np.any(dom.kink(*rounded, **params)):
            return True
    return False


def _draw(kind: str, leaf: Node, hints: list, rng: np.random.Generator) -> Any:
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
    return rng.uniform(-3.0, 3.0, size=shape)


# ---------------------------------------------------------------------------
# SymPy: the symbolic difference
# ---------------------------------------------------------------------------

_HEAVY = ("inv", "det", "logdet")


def _difference(claim: Node, truth: Node, equal: bool) -> tuple[Any, Optional[bool], str]:
    """(claim - truth reduced, proven zero?, note). ``equal``: the numbers agreed, so try
    hard to prove 0; otherwise only tidy the difference for display."""
    order = topological([claim, truth])
    work = sum(max(n.size, 1) for n in order)
    heavy = any(n.op in _HEAVY and n.args[0].shape[-1] > 2 for n in order)
    if claim.shape != () and not equal:
        # a wrong array claim: the matrix difference (-A.T*(A*x - b)) reads best
        try:
            return _matrix_difference(claim, truth, equal)
        except (ClosedFormError, TypeError, ValueError, NotImplementedError, AttributeError,
                ArithmeticError, RecursionError):
            pass
    try:
        if work <= MAX_SYMBOLIC and not heavy:
            c, t = claim.sympy(explicit=True), truth.sympy(explicit=True)
            if claim.shape == ():
                d = _reduce(sympy.sympify(c) - sympy.sympify(t), equal)
                return d, d == 0, ""
            cs, ts = np.array(c.tolist(), dtype=object), np.array(t.tolist(), dtype=object)
            ds = np.empty(cs.shape, dtype=object)
            for idx in np.ndindex(*cs.shape):
                ds[idx] = _reduce(sympy.sympify(cs[idx]) - sympy.sympify(ts[idx]), equal)
            if all(e == 0 for e in ds.flat):
                return sympy.S.Zero, True, ""
            return sympy.ImmutableDenseNDimArray(ds.tolist(), ds.shape), False, ""
        return _matrix_difference(claim, truth, equal)
    except (ClosedFormError, TypeError, ValueError, NotImplementedError, AttributeError,
            ArithmeticError, RecursionError) as e:
        return None, None, f"SymPy could not form claim - symdiff ({type(e).__name__})"


def _matrix_difference(claim: Node, truth: Node, equal: bool) -> tuple[Any, bool, str]:
    """claim - truth from the matrix forms: 0 only when they are the same expression."""
    c, t = _canonical(claim.sympy()), _canonical(truth.sympy())
    if c == t or str(c) == str(t):
        return sympy.S.Zero, True, ""
    d = c - t
    try:
        d = d.doit()
    except Exception:  # noqa: BLE001 - keep the undone difference
        pass
    if d == 0 or isinstance(d, sympy.ZeroMatrix) or \
            (isinstance(d, sympy.MatrixBase) and all(e == 0 for e in d)):
        return sympy.S.Zero, True, ""
    if not getattr(d, "is_Matrix", False):
        d = _reduce(d, equal)
        return d, d == 0, ""
    return d, False, ""


_PIECEWISE = (sympy.Heaviside, sympy.Max, sympy.Min, sympy.Abs, sympy.sign, sympy.Piecewise)


def _canonical(expr: Any) -> Any:
    """The same dummy for the same name (tanh.(X) carries Lambda(_t, tanh(_t)) with a
    fresh dummy each time), so equal matrix expressions compare equal."""
    dummies = expr.atoms(sympy.Dummy)
    return expr.xreplace({d: sympy.Symbol(f"_{d.name}") for d in dummies}) if dummies else expr


def _reduce(d: Any, equal: bool) -> Any:
    """``d`` reduced with bounded steps (SymPy's ``simplify`` can run for minutes on
    hyperbolic functions): 0 when they prove it; for a difference the numbers say is not
    0 (``equal`` False), only tidied for display."""
    d = _rationalize(d)
    if d == 0:
        return sympy.S.Zero
    ops = sympy.count_ops(d)
    if ops > 2000:
        return d
    e = sympy.expand(d)
    if e == 0 or d.is_polynomial():
        return e   # polynomials are decided by expanding
    if not equal:
        return sympy.factor_terms(e)
    if sympy.cancel(sympy.together(e)) == 0:
        return sympy.S.Zero
    if ops <= 300 and e.has(sympy.exp, sympy.sin, sympy.cos, sympy.tan, sympy.tanh,
                            sympy.sinh, sympy.cosh):
        from symdiff.symbolic.functions import sigmoid
        r = sympy.expand(e.rewrite(sigmoid, sympy.exp).rewrite(sympy.exp))
        if r == 0 or sympy.cancel(sympy.together(r)) == 0:
            return sympy.S.Zero
    from symdiff.symbolic.functions import relu
    if ops <= 300 and d.has(relu, *_PIECEWISE):
        # relu(x) - x*Heaviside(x, 0) is 0 as a piecewise function
        p = sympy.piecewise_fold(d.rewrite(sympy.Max).rewrite(sympy.Piecewise))
        if sympy.expand(p) == 0 or sympy.cancel(sympy.together(sympy.expand(p))) == 0:
            return sympy.S.Zero
    return d


def _rationalize(d: Any) -> Any:
    """Floats that are simple fractions as printed (0.166666666666667) -> the fraction."""
    swap = {}
    for f in d.atoms(sympy.Float):
        r = sympy.Rational(float(f)).limit_denominator(10**6)
        if abs(float(r) - float(f)) <= 1e-13 * max(1.0, abs(float(f))):
            swap[f] = r
    return d.xreplace(swap) if swap else d


# ---------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------

def _formula(node: Node, limit: int = 200) -> str:
    try:
        text = str(node.sympy())
    except Exception:  # noqa: BLE001 - a report must not fail on printing
        try:
            text = str(node.sympy(explicit=True)) if node.size <= 16 else ""
        except Exception:  # noqa: BLE001
            text = ""
        text = text or f"<graph of {len(topological([node]))} nodes>"
    return _short(text, limit)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _num(v: float) -> str:
    return f"{v + 0.0:.10g}"


def _value_text(v: Any) -> str:
    """A number or a nested list on one line: ``[[1, 2], [3, 4.5]]``."""
    arr = np.asarray(v)
    if arr.ndim == 0:
        return str(bool(arr)) if arr.dtype == np.bool_ else f"{float(arr) + 0.0:.7g}"
    return "[" + ", ".join(_value_text(a) for a in arr) + "]"


def _point_text(point: dict, limit: int = 12) -> str:
    """Each value in full, or for arrays of more than ``limit`` entries the first few."""
    parts = []
    for k, v in point.items():
        arr = np.asarray(v)
        if arr.size > limit:
            head = ", ".join(f"{float(e) + 0.0:.7g}" for e in arr.reshape(-1)[:6])
            parts.append(f"{k} = <{'×'.join(map(str, arr.shape))} array: {head}, ...>")
        else:
            parts.append(f"{k} = {_value_text(arr)}")
    return ", ".join(parts)


def _slopes(name: str, left: Any, right: Any) -> str:
    left, right = np.asarray(left), np.asarray(right)
    parts = []
    for idx in np.ndindex(*left.shape):
        label = name + (str(list(idx)) if idx else "")
        parts.append(f"{label}: left {round(float(left[idx]), 6) + 0.0:.6g}, "
                     f"right {round(float(right[idx]), 6) + 0.0:.6g}")
    return "; ".join(parts[:10]) + ("; ..." if len(parts) > 10 else "")


def _columns(rows: list) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
