"""``node.sympy()``: the SymPy closed form of a graph.

Three forms, chosen by the shapes in the graph:

* scalar graphs give a plain SymPy expression (``x**2 + 3``);
* array graphs give a matrix expression (``MatrixSymbol``, ``MatMul``, ``HadamardProduct``,
  elementwise functions) when one exists; 1-D arrays are column vectors;
* ``explicit=True`` gives a SymPy ``Array`` of element expressions over ``W[i, j]``
  (``IndexedBase`` elements), for small concrete shapes.

This module chooses the form, builds the scalar and explicit ones, and validates the
matrix one (built in ``symdiff.symbolic.matrix_form``) against the numeric evaluator.
Elementwise ops use each row's formula from the table; structural ops have a builder
each. Walks are iterative, so deep graphs do not hit the recursion limit here (SymPy's own
printing and simplification of very deep expressions still may).

May import: numpy, sympy, ``numeric``, ``symdiff.errors``, ``symdiff.graph``,
``symdiff.lowering`` (to validate) and ``symdiff.symbolic``.

>>> import symdiff as sd
>>> W, x = sd.var("W", (2, 3)), sd.var("x", (3,))
>>> (W @ x).sympy()
W*x
>>> sd.sum(x * x).sympy(explicit=True)
x[0]**2 + x[1]**2 + x[2]**2
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import sympy

from numeric import PRIMITIVES

from symdiff.errors import ClosedFormError
from symdiff.graph.walks import GraphLimitExceeded, topological
from symdiff.graph.node import Node
from symdiff.symbolic.bounded import within
from symdiff.symbolic.constants import check_number, check_numbers, refuse_non_finite
from symdiff.symbolic.functions import template, to_sympy_number
from symdiff.symbolic.matrix_form import const_form, leaf_symbol, matrix_expression
from symdiff.symbolic.readable import readable

MAX_EXPLICIT_ELEMENTS = 10_000
"""Largest array (in elements) that ``explicit=True`` will expand."""

MAX_NODES = 50_000
"""Largest graph (in nodes) whose closed form ``.sympy()`` builds; past it, a
``ClosedFormError`` says so at once (SymPy's own recursion would fail, or take minutes)."""

MAX_TREE_SIZE = 5_000_000
"""Largest closed form, counted written out as a tree (a SymPy expression is one: a
subexpression the graph shares is repeated in it), that ``.sympy()`` builds. A graph such
as sin(f)*exp(f) nested 40 deep has 121 nodes but 2**41 terms written out; printing or
substituting into such an expression would not finish, so it is refused at once."""

READABLE_NODES = 2_000
"""Largest graph whose closed form is rewritten for reading (``symbolic.readable``); a
larger one is shown as built, since rebuilding every subexpression costs SymPy time."""

UNEVALUATED_TREE_SIZE = 2_000
"""Functions (sin, exp, ...) whose expression, written out as a tree, is larger than this
are applied without SymPy's automatic simplification, which walks trees and is
exponential on shared subexpressions."""


def to_sympy(node: Node, explicit: bool = False, seconds: Optional[float] = None) -> Any:
    """The closed form of ``node`` (see the module docstring for the three forms), built
    within ``seconds`` (None: ``symdiff.budget.SYMPY_SECONDS``). Past the budget, or when
    SymPy fails on it, a ``ClosedFormError`` says so: never a hang or an exception from
    inside SymPy. This is ``node.sympy(explicit, sympy_seconds=seconds)``.

    >>> import symdiff as sd
    >>> to_sympy(sd.var("x") * 2)
    2*x
    """
    return within(seconds, f"the closed form of {node._describe()}", build, node, explicit)


def build(node: Node, explicit: bool = False) -> Any:
    """``to_sympy`` without a budget of its own, for work already under one (``sd.formula``,
    ``sd.check``): the size limits, the numbers SymPy is never asked to compute
    (``symdiff.symbolic.constants``), then the form.

    >>> import symdiff as sd
    >>> build(sd.var("x") ** 2, explicit=True)
    x**2
    """
    try:
        order = topological([node], limit=MAX_NODES)
    except GraphLimitExceeded:
        raise ClosedFormError(
            f"the graph has more than {MAX_NODES:,} nodes: its closed form would be too large "
            "for SymPy (symdiff.symbolic.closed_form.MAX_NODES). Evaluate it numerically (f.eval, "
            "sd.value_and_grad, sd.check) instead") from None
    size = tree_size(order)
    if size > MAX_TREE_SIZE:
        raise ClosedFormError(
            f"the closed form would have more than {MAX_TREE_SIZE:,} terms written out (the "
            f"graph has {len(order):,} nodes, but shares subexpressions that a SymPy "
            "expression repeats; symdiff.symbolic.closed_form.MAX_TREE_SIZE). Evaluate it "
            "numerically (f.eval, sd.value_and_grad, sd.check) instead")
    refuse_non_finite(order)
    try:
        return _closed_form(order, node, explicit)
    except RecursionError:
        raise ClosedFormError(
            "SymPy ran out of Python's recursion depth on this closed form (the expression "
            "is nested too deeply for it); evaluate the graph numerically instead") from None


def tree_size(order: list[Node]) -> int:
    """Size of the last node's expression written out as a tree (capped just past
    ``MAX_TREE_SIZE``, so shared subexpressions do not make huge integers).

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> f = sd.sin(x) * sd.exp(x)  # x appears twice written out
    >>> tree_size(f.nodes())
    5
    """
    size: dict[int, int] = {}
    for n in order:
        size[id(n)] = min(1 + sum(size[id(a)] for a in n.args), MAX_TREE_SIZE + 1)
    return size[id(order[-1])]


def _closed_form(order: list[Node], node: Node, explicit: bool) -> Any:
    if explicit:
        return _explicit(order, node)
    if all(n.shape == () for n in order):
        expr = _scalar(order, node)
        return readable(expr, scalar=True) if len(order) <= READABLE_NODES else expr
    cached = node._cache.get("matrix_form")
    if cached is None:
        literal = matrix_expression(order, node)
        # -- issue 15: sum(p) is 1 for a variable assumed a probability vector
        # a probability vector's entries sum to 1 (a matrix's rows do: not its whole sum)
        simplex = [n.name for n in order if n.op == "var" and len(n.shape) == 1
                   and n._cache.get("assume") == "probability"]
        cached = readable(literal, simplex=simplex) if len(order) <= READABLE_NODES else literal
        try:
            validate(node, cached, order)
        except ClosedFormError:
            # a rewrite SymPy or the evaluator could not follow: the literal form, which
            # must then pass the same check
            cached = literal
            validate(node, cached, order)
        node._cache["matrix_form"] = cached
    return cached


def _draw(kind: int, rng: np.random.Generator, shape: tuple) -> np.ndarray:
    if kind == 1 and len(shape) == 2 and shape[0] == shape[1]:
        # invertible with a positive determinant: the table's draw for inv and logdet
        return PRIMITIVES["inv"].domain.draw(rng, shape)
    if kind == 2:
        return rng.standard_normal(shape)
    return rng.uniform(0.5, 1.5, size=shape)


def validate(node: Node, expr: Any, order: list[Node] | None = None) -> None:
    """Raise ``ClosedFormError`` unless the matrix expression ``expr`` of ``node`` has the
    graph's value (from the numeric evaluator) at random points: a formula symdiff
    prints is never silently wrong.

    >>> import symdiff as sd
    >>> W = sd.var("W", (2, 2))
    >>> validate(W.T, W.T.sympy())
    """
    from symdiff.graph.assumptions import project_leaf
    from symdiff.lowering.lower import evaluate as evaluate_graph
    from symdiff.symbolic.matrix_eval import evaluate as evaluate_formula

    order = topological([node]) if order is None else order
    leaves = {n.name: n for n in order if n.op in ("var", "tensor")}
    rng = np.random.default_rng(0)
    compared = 0
    for kind in (0, 1, 2):
        # values that satisfy each variable's assumption (a symmetric S, a probability t)
        point = {name: project_leaf(n, _draw(kind, rng, n.shape))
                 for name, n in leaves.items()}
        env = {leaf_symbol(n): point[name].reshape(leaf_symbol(n).shape) if n.shape
               else float(point[name]) for name, n in leaves.items()}
        with np.errstate(all="ignore"):
            want = np.asarray(evaluate_graph(node, point), dtype=float).reshape(-1)
            try:
                got = np.asarray(evaluate_formula(expr, env), dtype=float).reshape(-1)
            except Exception as e:  # noqa: BLE001 - any failure means: not validated
                raise ClosedFormError(
                    f"the matrix formula of {node._describe()} could not be checked numerically "
                    f"({type(e).__name__}: {e}); use .sympy(explicit=True)") from None
        ok = np.isfinite(want)
        if not ok.any():
            continue
        if got.shape != want.shape or not np.allclose(got[ok], want[ok], rtol=1e-7, atol=1e-9):
            raise ClosedFormError(
                f"internal error: the matrix formula {expr} disagrees with the graph's value "
                f"at a random point; please report it. Use .sympy(explicit=True) meanwhile")
        compared += 1
    if not compared:
        raise ClosedFormError(f"the matrix formula of {node._describe()} could not be checked: "
                              "the graph's value was not finite at any test point")


# ---------------------------------------------------------------------------
# scalar graphs
# ---------------------------------------------------------------------------

def _scalar(order: list[Node], root: Node) -> Any:
    val: dict[int, Any] = {}
    tree: dict[int, int] = {}  # size of each node's expression written out as a tree
    # a chain of additions (x1 + x2 + ... + x10000, a left fold) becomes one n-ary Add:
    # adding one term at a time re-flattens the whole sum each time, quadratic in its length
    uses: dict[int, int] = {}
    feeds_sum: dict[int, bool] = {}
    for n in order:
        for k, a in enumerate(n.args):
            uses[id(a)] = uses.get(id(a), 0) + 1
            feeds_sum[id(a)] = n.op == "add" or (n.op == "sub" and k == 0)
    terms: dict[int, list] = {}
    for n in order:
        tree[id(n)] = size = 1 + sum(tree[id(a)] for a in n.args)
        if n.op in ("add", "sub") and n.shape == ():
            parts = []
            for k, a in enumerate(n.args):
                t = terms.pop(id(a), None) or [val[id(a)]]
                parts.extend(t if k == 0 or n.op == "add" else [-e for e in t])
            if n is not root and uses.get(id(n)) == 1 and feeds_sum.get(id(n)):
                terms[id(n)] = parts  # its consumer continues the sum
            else:
                val[id(n)] = sympy.Add(*parts)
        elif n.op in ("var", "tensor"):
            val[id(n)] = sympy.Symbol(n.name)
        elif n.op == "const":
            val[id(n)] = const_form(n)
        elif PRIMITIVES[n.op].kind == "elementwise":
            args = [val[id(a)] for a in n.args]
            if size > UNEVALUATED_TREE_SIZE and isinstance(template(n.op).expr,
                                                           sympy.Function):
                # a function's automatic simplification (sin(-x) -> -sin(x), is_zero
                # queries, exp's logcombine) walks its argument as a tree: on a graph
                # that shares subexpressions that is exponential (sin(f)*exp(f) nested 20
                # deep: 15 s). Past this size the function is applied as written (sums
                # and products are still flattened, or SymPy would nest them too deep).
                with sympy.evaluate(False):
                    val[id(n)] = template(n.op).instantiate(args, n.params)
            else:
                val[id(n)] = template(n.op).instantiate(args, n.params)
        elif n.op == "scatter":
            # 0-d to 0-d: x added len(pos) times (no position: 0)
            val[id(n)] = len(n.params["pos"]) * val[id(n.args[0])]
        else:
            # reductions/reshapes of 0-d arrays are identities
            val[id(n)] = val[id(n.args[0])]
        e = val.get(id(n))
        if e is not None and e.is_Number:
            check_number(e, n._describe())
    return val[id(root)]


# ---------------------------------------------------------------------------
# explicit element arrays
# ---------------------------------------------------------------------------

def _explicit(order: list[Node], root: Node) -> Any:
    for n in order:
        if n.size > MAX_EXPLICIT_ELEMENTS:
            raise ClosedFormError(
                f"explicit=True expands every element; {n._describe()} has {n.size} elements "
                f"(limit {MAX_EXPLICIT_ELEMENTS})")
    val: dict[int, np.ndarray] = {}
    for n in order:
        if n.op in ("var", "tensor"):
            val[id(n)] = element_symbols(n)
        elif n.op == "const":
            v = np.asarray(n._value)
            conv = (lambda e: sympy.true if e else sympy.false) if n.dtype == "bool" \
                else to_sympy_number
            val[id(n)] = np.vectorize(conv, otypes=[object])(v) if v.ndim else \
                np.array(const_form(n) if n.dtype != "bool" else conv(v), dtype=object)
        else:
            val[id(n)] = _explicit_op(n, [val[id(a)] for a in n.args])
            check_numbers(val[id(n)], n._describe())
    out = val[id(root)]
    return out.item() if out.ndim == 0 else sympy.ImmutableDenseNDimArray(out.tolist(), out.shape)


def element_symbols(n: Node) -> np.ndarray:
    """Object array of a leaf's element symbols: ``x`` for scalars, ``W[i, j]`` for arrays."""
    if n.shape == ():
        return np.array(sympy.Symbol(n.name), dtype=object)
    base = sympy.IndexedBase(n.name)
    out = np.empty(n.shape, dtype=object)
    symmetric = n.op == "var" and n._cache.get("assume") == "symmetric"   # -- issue 15
    for idx in np.ndindex(*n.shape):
        out[idx] = base[tuple(sorted(idx))] if symmetric else base[idx]
    return out


def _inverse(m: Any) -> np.ndarray:
    # adjugate / determinant, both division-free (Berkowitz): SymPy's m.inv() first proves
    # the determinant nonzero by simplifying it, 47 s for a 4x4 of symbols (this: 0.4 s)
    d = m.det(method="berkowitz")
    if d == 0:
        raise ClosedFormError("inv of a singular matrix has no closed form")
    return np.array((m.adjugate(method="berkowitz") / d).tolist(), dtype=object)


_EXPLICIT_LINALG: dict[str, Callable[[Any], Any]] = {
    "det": lambda m: m.det(method="berkowitz"),
    "logdet": lambda m: sympy.log(m.det(method="berkowitz")),
    "inv": _inverse,
}


# -- reductions and shapes: max/min, diag ---------------------------------------------

def _explicit_extremum(n: Node, x: np.ndarray) -> np.ndarray:
    """``Max(...)``/``Min(...)`` of each reduced group (numpy's max compares, which SymPy
    refuses for symbols)."""
    from numeric.primitives import normalize_axis
    fn = sympy.Max if n.op == "amax" else sympy.Min
    axes = normalize_axis(n.params.get("axis"), x.ndim, n.op)
    rest = [k for k in range(x.ndim) if k not in axes]
    size = int(np.prod([x.shape[k] for k in axes], dtype=np.int64))
    y = np.transpose(x, rest + list(axes)).reshape(tuple(x.shape[k] for k in rest) + (size,))
    out = np.empty(y.shape[:-1], dtype=object)
    for idx in np.ndindex(*out.shape):
        out[idx] = fn(*y[idx])
    return out.reshape(n.shape)


def _explicit_diag(n: Node, x: np.ndarray) -> np.ndarray:
    out = np.full(n.shape, sympy.Integer(0), dtype=object)
    nd, offset = n.ndim, n.params["offset"]
    view = np.moveaxis(out, (n.params["axis1"] % nd, n.params["axis2"] % nd), (-2, -1))
    i = np.arange(x.shape[-1])
    view[..., i + max(-offset, 0), i + max(offset, 0)] = x
    return out


_EXPLICIT_SHAPES: dict[str, Callable[[Node, np.ndarray], np.ndarray]] = {
    "amax": _explicit_extremum, "amin": _explicit_extremum, "diag": _explicit_diag,
}


# -- p14 linear algebra, contraction, indexing: explicit elements (einsum and gather run
# their numpy forward on object arrays, below)

def _explicit_norm(n: Node, xs: list) -> np.ndarray:
    from numeric.primitives import normalize_axis
    x = xs[0]
    order = n.params.get("ord", 2.0)
    axes = normalize_axis(n.params.get("axis"), x.ndim, "norm")
    kept = [k for k in range(x.ndim) if k not in axes]
    rows = np.transpose(x, kept + list(axes)).reshape(
        [x.shape[k] for k in kept] + [-1])

    def one(es: Any) -> Any:
        if order == 2:
            return sympy.sqrt(sympy.Add(*[e * e for e in es]))
        parts = [sympy.Abs(e) for e in es]
        return sympy.Add(*parts) if order == 1 else \
            sympy.Max(*parts) if order > 0 else sympy.Min(*parts)

    out = np.empty(rows.shape[:-1], dtype=object)
    for idx in np.ndindex(*out.shape):
        out[idx] = one(list(rows[idx]))
    return out.reshape(n.shape)


def _explicit_cholesky(n: Node, xs: list) -> np.ndarray:
    m = sympy.Matrix(xs[0].tolist())
    try:
        low = ((m + m.T) / 2).cholesky(hermitian=False)
    except (ValueError, sympy.matrices.exceptions.NonSquareMatrixError) as e:
        raise ClosedFormError(f"cholesky has no explicit closed form here ({e})") from None
    return np.array(low.tolist(), dtype=object)


_EXPLICIT_P14: dict[str, Callable[[Node, list], np.ndarray]] = {
    "solve": lambda n, xs: np.dot(_inverse(sympy.Matrix(xs[0].tolist())), xs[1]),
    "logabsdet": lambda n, xs: np.array(
        sympy.log(sympy.Abs(sympy.Matrix(xs[0].tolist()).det(method="berkowitz"))),
        dtype=object),
    "cholesky": _explicit_cholesky,
    "norm": _explicit_norm,
}


def _explicit_op(n: Node, xs: list[np.ndarray]) -> np.ndarray:
    row = PRIMITIVES[n.op]
    if n.op in _EXPLICIT_SHAPES:
        return _EXPLICIT_SHAPES[n.op](n, xs[0])
    if n.op in _EXPLICIT_P14:
        return np.asarray(_EXPLICIT_P14[n.op](n, xs), dtype=object)
    if row.kind == "elementwise":
        t = template(n.op)
        xs = np.broadcast_arrays(*xs)
        out = np.empty(n.shape, dtype=object)
        for idx in np.ndindex(*n.shape):
            out[idx] = t.instantiate([x[idx] for x in xs], n.params)
        return out
    if n.op == "unindex":
        out = np.full(n.params["shape"], sympy.Integer(0), dtype=object)
        from numeric.primitives import index_key
        # a 0-d object array would be stored as an object inside the slot: unwrap it
        out[index_key(n.params["key"])] = xs[0].item() if xs[0].ndim == 0 else xs[0]
        return out
    if n.op == "scatter":
        # out.flat[pos[k]] += x.flat[src[k]], element by element
        flat = xs[0].reshape(-1)
        out = np.full(n.size, sympy.Integer(0), dtype=object)
        for s, p in zip(*(np.asarray(n.params[k]).tolist() for k in ("src", "pos"))):
            out[p] = out[p] + flat[s]
        return out.reshape(n.shape)
    if n.op == "mean":
        count = max(xs[0].size, 1) // max(int(np.prod(n.shape, dtype=np.int64)), 1)
        s = np.asarray(PRIMITIVES["sum"].forward(xs[0], **n.params), dtype=object)
        return np.vectorize(lambda e: e / count, otypes=[object])(s) if s.ndim else \
            np.array(s.item() / count, dtype=object)
    if n.op == "cofactor":   # det's gradient, of a matrix or of each in a stack
        out = np.empty(xs[0].shape, dtype=object)
        for idx in np.ndindex(*xs[0].shape[:-2]):
            out[idx] = sympy.Matrix(xs[0][idx].tolist()).adjugate(method="berkowitz").T.tolist()
        return out
    if n.op in _EXPLICIT_LINALG:
        return np.array(_EXPLICIT_LINALG[n.op](sympy.Matrix(xs[0].tolist())), dtype=object)
    if n.op == "logsumexp":
        e = np.vectorize(sympy.exp, otypes=[object])(xs[0])
        s = np.asarray(PRIMITIVES["sum"].forward(e, **n.params), dtype=object)
        return np.vectorize(sympy.log, otypes=[object])(s)
    if n.op == "trace":
        return np.array(sympy.Add(*np.diagonal(xs[0])), dtype=object)
    if n.op == "sum" and xs[0].size == 0:
        return np.full(n.shape, sympy.Integer(0), dtype=object)
    # sums, matmul, transposes, reshapes, indexing and broadcasts work on object arrays
    out = np.asarray(row.forward(*xs, **n.params), dtype=object)
    return out
