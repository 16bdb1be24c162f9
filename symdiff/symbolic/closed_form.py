"""``node.sympy()``: the SymPy closed form of a graph.

Three forms, chosen by the shapes in the graph:

* scalar graphs give a plain SymPy expression (``x**2 + 3``);
* array graphs give a matrix expression (``MatrixSymbol``, ``MatMul``, ``HadamardProduct``,
  elementwise functions) when one exists; 1-D arrays are column vectors;
* ``explicit=True`` gives a SymPy ``Array`` of element expressions over ``W[i, j]``
  (``IndexedBase`` elements), for small concrete shapes.

Elementwise ops use each row's formula from the table; structural ops have a builder
here. Walks are iterative, so deep graphs do not hit the recursion limit here (SymPy's own
printing and simplification of very deep expressions still may).

>>> import symdiff as sd
>>> W, x = sd.var("W", (2, 3)), sd.var("x", (3,))
>>> (W @ x).sympy()
W*x
>>> sd.sum(x * x).sympy(explicit=True)
x[0]**2 + x[1]**2 + x[2]**2
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import sympy
from sympy import (HadamardPower, HadamardProduct, Identity, ImmutableMatrix, Lambda,
                   MatrixSymbol, ZeroMatrix)

from numeric import PRIMITIVES

from symdiff.errors import ClosedFormError
from symdiff.symbolic.notation import Elementwise, Entry, Ones, scalar_times_ones
from symdiff.graph.node import GraphLimitExceeded, Node, topological
from symdiff.symbolic.functions import template, to_sympy_number

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

UNEVALUATED_TREE_SIZE = 2_000
"""Functions (sin, exp, ...) whose expression, written out as a tree, is larger than this
are applied without SymPy's automatic simplification, which walks trees and is
exponential on shared subexpressions."""


def to_sympy(node: Node, explicit: bool = False) -> Any:
    """The closed form of ``node``; see the module docstring for the three forms.

    >>> import symdiff as sd
    >>> to_sympy(sd.var("x") * 2)
    2*x
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
        return _scalar(order, node)
    cached = node._cache.get("matrix_form")
    if cached is None:
        cached = _matrix(order, node)
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
    from symdiff.lowering.lower import evaluate as evaluate_graph
    from symdiff.symbolic.matrix_eval import evaluate as evaluate_formula

    order = topological([node]) if order is None else order
    leaves = {n.name: n for n in order if n.op in ("var", "tensor")}
    rng = np.random.default_rng(0)
    compared = 0
    for kind in (0, 1, 2):
        point = {name: _draw(kind, rng, n.shape) for name, n in leaves.items()}
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


def describe(node: Node, limit: int = 60) -> str:
    """A short text for ``repr``: the formula of small graphs, a node count otherwise.

    >>> import symdiff as sd
    >>> describe(sd.sin(sd.var("x")))
    'sin(x)'
    """
    order = topological([node])
    if len(order) > limit:
        return f"<{len(order)} nodes>"
    try:
        return str(to_sympy(node))
    except Exception:  # a repr must never raise
        return f"<{len(order)} nodes>"


def leaf_symbol(n: Node) -> Any:
    """The SymPy symbol of a variable or tensor leaf (a MatrixSymbol for arrays)."""
    if n.shape == ():
        return sympy.Symbol(n.name)
    rows, cols = _as_matrix_shape(n.shape, n)
    return MatrixSymbol(n.name, rows, cols)


def _const(n: Node) -> Any:
    v = np.asarray(n._value)
    if n.dtype == "bool":
        if v.ndim:
            raise ClosedFormError("a boolean constant array has no matrix form; use explicit=True")
        return sympy.true if bool(v) else sympy.false
    if v.ndim == 0:
        return to_sympy_number(v)
    rows, cols = _as_matrix_shape(v.shape, n)
    # the constants derivatives produce (I from a trace, broadcast ones) by their names
    flat = v.reshape(-1)
    if v.size and np.all(flat == flat[0]):
        return ZeroMatrix(rows, cols) if flat[0] == 0 else Ones(rows, cols) if flat[0] == 1 \
            else to_sympy_number(flat[0]) * Ones(rows, cols)
    if rows == cols and rows > 1 and np.array_equal(v.reshape(rows, cols), np.eye(rows)):
        return Identity(rows)
    return ImmutableMatrix(rows, cols, [to_sympy_number(e) for e in flat])


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
            val[id(n)] = _const(n)
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
                np.array(conv(v), dtype=object)
        else:
            val[id(n)] = _explicit_op(n, [val[id(a)] for a in n.args])
    out = val[id(root)]
    return out.item() if out.ndim == 0 else sympy.ImmutableDenseNDimArray(out.tolist(), out.shape)


def element_symbols(n: Node) -> np.ndarray:
    """Object array of a leaf's element symbols: ``x`` for scalars, ``W[i, j]`` for arrays."""
    if n.shape == ():
        return np.array(sympy.Symbol(n.name), dtype=object)
    base = sympy.IndexedBase(n.name)
    out = np.empty(n.shape, dtype=object)
    for idx in np.ndindex(*n.shape):
        out[idx] = base[idx]
    return out


_EXPLICIT_LINALG: dict[str, Callable[[Any], Any]] = {
    "det": lambda m: m.det(method="berkowitz"),
    "logdet": lambda m: sympy.log(m.det(method="berkowitz")),
    "inv": lambda m: np.array(m.inv().tolist(), dtype=object),
}


def _explicit_op(n: Node, xs: list[np.ndarray]) -> np.ndarray:
    row = PRIMITIVES[n.op]
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
    if n.op in _EXPLICIT_LINALG:
        return np.array(_EXPLICIT_LINALG[n.op](sympy.Matrix(xs[0].tolist())), dtype=object)
    if n.op == "logsumexp":
        e = np.vectorize(sympy.exp, otypes=[object])(xs[0])
        s = np.asarray(PRIMITIVES["sum"].forward(e, **n.params), dtype=object)
        return np.vectorize(sympy.log, otypes=[object])(s)
    if n.op == "norm":
        return np.array(sympy.sqrt(np.sum(xs[0] * xs[0])), dtype=object)
    if n.op == "trace":
        return np.array(sympy.Add(*np.diagonal(xs[0])), dtype=object)
    if n.op == "sum" and xs[0].size == 0:
        return np.full(n.shape, sympy.Integer(0), dtype=object)
    # sums, matmul, transposes, reshapes, indexing and broadcasts work on object arrays
    out = np.asarray(row.forward(*xs, **n.params), dtype=object)
    return out


# ---------------------------------------------------------------------------
# matrix expressions
# ---------------------------------------------------------------------------

def _as_matrix_shape(shape: tuple, n: Node) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], 1
    if len(shape) == 2:
        return shape
    raise ClosedFormError(
        f"{n._describe()} has {len(shape)} dimensions; matrix expressions cover scalars, "
        "vectors and matrices: use .sympy(explicit=True) for small arrays")


def _unsupported(n: Node, why: str = "") -> ClosedFormError:
    shapes = ", ".join(str(a.shape) for a in n.args)
    return ClosedFormError(
        f"{n.op} on shapes {shapes} has no matrix expression{': ' + why if why else ''}; "
        "use .sympy(explicit=True) for small concrete shapes")


def _mat(expr: Any) -> Any:
    """SymPy folds 1x1 products to scalars; put them back in a 1x1 matrix."""
    return expr if getattr(expr, "is_Matrix", False) else ImmutableMatrix([[expr]])


def _mul(*factors: Any) -> Any:
    """A matrix product (scalars allowed) that keeps ``2*X.T*(X*W - y)`` factored:
    SymPy's ``*`` calls ``doit``, which distributes the scalar into the sum."""
    mats = [f for f in factors if getattr(f, "is_Matrix", False)]
    if not mats:
        return sympy.Mul(*factors)
    if len(mats) == 1:
        c = sympy.Mul(*[f for f in factors if not getattr(f, "is_Matrix", False)])
        return mats[0] if c == 1 else sympy.MatMul(c, mats[0])
    return sympy.MatMul(*factors, evaluate=True)


def _add(a: Any, b: Any) -> Any:
    if getattr(a, "is_Matrix", False) and getattr(b, "is_Matrix", False):
        return sympy.MatAdd(a, b, evaluate=True)
    return a + b


def _entry(expr: Any) -> Any:
    """The scalar in a 1x1 matrix expression, without expanding a product into elements."""
    if isinstance(expr, sympy.MatrixBase):
        return expr[0, 0]
    return Entry(expr)


def _bcast(expr: Any, shape: tuple, target: tuple, n: Node) -> Any:
    """A matrix expression for ``expr`` of numpy shape ``shape`` broadcast to ``target``."""
    if shape == target:
        return expr
    tr, tc = _as_matrix_shape(target, n)
    if isinstance(expr, sympy.MatrixBase) and expr.shape == (1, 1):
        expr, shape = expr[0, 0], ()
    if shape == ():
        return _mul(expr, Ones(tr, tc))
    if len(target) == 1:                    # (1,) -> (n,)
        return _mul(Ones(tr, 1), _mat(expr))
    # align with numpy: a 1-D (m,) is a row of the target; ours is a column, so transpose
    e, (rs, cs) = (_mat(expr).T, (1, shape[0])) if len(shape) == 1 else (_mat(expr), shape)
    if rs == 1 and tr > 1:
        e = _mul(Ones(tr, 1), e)
    if cs == 1 and tc > 1:
        e = _mul(e, Ones(1, tc))
    return e


def _elementwise_matrix(n: Node, xs: list[Any]) -> Any:
    shapes = [a.shape for a in n.args]
    if n.shape == ():
        return template(n.op).instantiate(xs, n.params)
    if n.op in ("add", "sub"):
        a, b = (_bcast(x, s, n.shape, n) for x, s in zip(xs, shapes))
        return _add(a, b) if n.op == "add" else _add(a, _mul(-1, b))
    if n.op in ("mul", "div"):
        a, b = xs
        if shapes[1] == ():
            return _mul(a, b) if n.op == "mul" else _mul(1 / b, a)
        if shapes[0] == () and n.op == "mul":
            return _mul(a, b)
        a, b = (_bcast(x, s, n.shape, n) for x, s in zip(xs, shapes))
        ca, cb = scalar_times_ones(a), scalar_times_ones(b)
        if cb is not None:          # a broadcast scalar: an ordinary scalar factor
            return _mul(cb, a) if n.op == "mul" else _mul(1 / cb, a)
        if ca is not None and n.op == "mul":
            return _mul(ca, b)
        if n.op == "div":
            b = HadamardPower(b, -1)
        return HadamardProduct(a, b)
    if n.op == "neg":
        return _mul(-1, xs[0])
    if n.op == "pow":
        return HadamardPower(xs[0], to_sympy_number(n.params["p"], exact=True))
    if n.op == "pow_tensor":
        # x**y = exp(y log x) on pow_tensor's domain x > 0
        a, b = (_bcast(x, s, n.shape, n) for x, s in zip(xs, shapes))
        return _apply(sympy.exp, HadamardProduct(_apply(sympy.log, a), b))
    if len(xs) == 1:
        # any other one-input row maps each element through the row's formula
        t = sympy.Dummy("t", real=True)
        body = template(n.op).instantiate([t], n.params)
        return _elementwise(Lambda(t, body), xs[0])
    raise _unsupported(n)


def _sum_matrix(n: Node, x: Any) -> Any:
    shape = n.args[0].shape
    axis = n.params.get("axis")
    axes = tuple(range(len(shape))) if axis is None else \
        tuple(sorted(a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)))
    if n.params.get("keepdims") and len(shape) == 2 and axes == (0,):
        # numpy keeps a (1, m) row here, where the plain sum is an (m,) column
        total = _mul(Ones(1, shape[0]), x)
        return total / (shape[0] if n.op == "mean" else 1)
    if len(shape) == 1:
        total = _entry(_mul(Ones(1, shape[0]), x))
    elif axes == (0, 1):
        total = _entry(_mul(Ones(1, shape[0]), x, Ones(shape[1], 1)))
    elif axes == (0,):
        total = _mul(x.T, Ones(shape[0], 1))
    else:
        total = _mul(x, Ones(shape[1], 1))
    if n.op == "mean":
        count = int(np.prod([shape[a] for a in axes], dtype=np.int64)) or 1
        total = total / count
    if n.shape == (1,) or n.shape == (1, 1):
        return ImmutableMatrix([[total]])
    return total


def _matmul_matrix(n: Node, a: Any, b: Any) -> Any:
    sa, sb = (x.shape for x in n.args)
    if len(sa) > 2 or len(sb) > 2:
        raise _unsupported(n, "batched matmul")
    if len(sa) == 1 and len(sb) == 1:
        return _entry(_mul(a.T, b))
    if len(sa) == 1:
        return _mul(b.T, a)      # x @ W  ->  (x^T W)^T = W^T x as a column
    return _mul(a, b)


def _index_matrix(n: Node, x: Any) -> Any:
    from numeric.primitives import index_key
    key = index_key(n.params["key"])
    shape = n.args[0].shape
    if any(k is None or k is Ellipsis for k in key) or len(key) > len(shape):
        raise _unsupported(n, "None/Ellipsis indexing")
    key = key + (slice(None),) * (len(shape) - len(key))
    if len(shape) == 1:
        k = key[0]
        return x[k % shape[0], 0] if isinstance(k, int) else _slice_col(x, k, shape[0])
    i, j = key
    if isinstance(i, int) and isinstance(j, int):
        return x[i % shape[0], j % shape[1]]
    rows = range(shape[0])[i] if isinstance(i, slice) else [i % shape[0]]
    cols = range(shape[1])[j] if isinstance(j, slice) else [j % shape[1]]
    if (isinstance(i, slice) and i.step not in (None, 1)) or \
            (isinstance(j, slice) and j.step not in (None, 1)):
        raise _unsupported(n, "strided slices")
    block = x[rows.start if isinstance(rows, range) else rows[0]:
              (rows.stop if isinstance(rows, range) else rows[0] + 1),
              cols.start if isinstance(cols, range) else cols[0]:
              (cols.stop if isinstance(cols, range) else cols[0] + 1)]
    if isinstance(i, int):
        return block.T        # a row comes out as a numpy 1-D array: our column
    return block


def _unindex_matrix(n: Node, x: Any) -> Any:
    """Zeros with ``x`` written at a basic-index key, as a block matrix."""
    from numeric.primitives import index_key
    shape = n.shape
    if len(shape) not in (1, 2):
        raise _unsupported(n, f"{len(shape)}-D result")
    key = index_key(n.params["key"])
    if any(k is None or k is Ellipsis for k in key):
        raise _unsupported(n, "None/Ellipsis indexing")
    key = key + (slice(None),) * (len(shape) - len(key))
    spans = []
    for k, d in zip(key, shape):
        if isinstance(k, slice):
            r = range(d)[k]
            if k.step not in (None, 1) or not len(r):
                raise _unsupported(n, "strided or empty slices")
            spans.append((r.start, r.stop))
        else:
            spans.append((k % d, k % d + 1))
    if len(shape) == 1:
        spans.append((0, 1))
        shape = shape + (1,)
    (r0, r1), (c0, c1) = spans
    block = _mat(x)
    if tuple(block.shape) != (r1 - r0, c1 - c0):
        block = block.T       # a row of a matrix is a 1-D array: our column
    rows = [(0, r0), (r0, r1), (r1, shape[0])]
    cols = [(0, c0), (c0, c1), (c1, shape[1])]
    grid = []
    for i, (a, b) in enumerate(rows):
        if b == a:
            continue
        line = [block if (i, j) == (1, 1) else ZeroMatrix(b - a, d - c)
                for j, (c, d) in enumerate(cols) if d != c]
        grid.append(line)
    if len(grid) == 1 and len(grid[0]) == 1:
        return grid[0][0]
    return sympy.BlockMatrix(grid)


def _slice_col(x: Any, k: slice, n: int) -> Any:
    r = range(n)[k]
    if k.step not in (None, 1):
        raise ClosedFormError("strided slices have no matrix expression; use explicit=True")
    return x[r.start:r.stop, 0]


def _reshape_matrix(n: Node, x: Any) -> Any:
    src, dst = n.args[0].shape, n.shape
    if len(src) <= 2 and len(dst) <= 2:
        rs, cs = _as_matrix_shape(src, n) if src else (1, 1)
        rd, cd = _as_matrix_shape(dst, n) if dst else (1, 1)
        if (rs, cs) == (rd, cd):
            return x
        if (rs, cs) == (cd, rd) and 1 in (rs, cs):
            return x.T
        if dst == ():
            return _entry(x)
    raise _unsupported(n, f"reshape {src} -> {dst}")


def _norm_matrix(n: Node, x: Any) -> Any:
    if n.args[0].ndim > 2:
        raise _unsupported(n, "norm of a 3-D array")
    if n.args[0].ndim == 1:
        return sympy.sqrt(_entry(_mul(x.T, x)))
    return sympy.sqrt(sympy.Trace(_mul(x.T, x)))


def _elementwise(fn: Any, x: Any) -> Any:
    # an explicit matrix (a constant, a 1x1 holding a scalar) is mapped element by element
    return x.applyfunc(fn) if isinstance(x, sympy.MatrixBase) else Elementwise(fn, x)


def _apply(fn: Any, x: Any) -> Any:
    t = sympy.Dummy("t", real=True)
    return _elementwise(Lambda(t, fn(t)), x)


def _logsumexp_matrix(n: Node, x: Any) -> Any:
    s = _sum_matrix(n, _apply(sympy.exp, x))
    return _apply(sympy.log, s) if getattr(s, "is_Matrix", False) else sympy.log(s)


_STRUCTURAL: dict[str, Callable[..., Any]] = {
    "logsumexp": _logsumexp_matrix,
    "norm": _norm_matrix,
    "trace": lambda n, x: sympy.Trace(x),
    "det": lambda n, x: sympy.Determinant(x),
    "logdet": lambda n, x: sympy.log(sympy.Determinant(x)),
    "inv": lambda n, x: sympy.Inverse(x),
    "sum": _sum_matrix,
    "mean": _sum_matrix,
    "matmul": _matmul_matrix,
    "transpose": lambda n, x: x.T if len(n.shape) == 2 and n.params.get("axes") in
    (None, (1, 0), (-1, 0), (1, -2), (-1, -2)) else x,
    "reshape": _reshape_matrix,
    "index": _index_matrix,
    "unindex": _unindex_matrix,
    "broadcast_to": lambda n, x: _bcast(x, n.args[0].shape, n.shape, n),
}


def _matrix(order: list[Node], root: Node) -> Any:
    val: dict[int, Any] = {}
    for n in order:
        if n.op in ("var", "tensor"):
            val[id(n)] = leaf_symbol(n)
            continue
        if n.op == "const":
            val[id(n)] = _const(n)
            continue
        xs = [_mat(val[id(a)]) if a.shape in ((1,), (1, 1)) else val[id(a)] for a in n.args]
        row = PRIMITIVES[n.op]
        if row.kind != "elementwise" and n.op not in _STRUCTURAL:
            raise _unsupported(n)
        try:
            val[id(n)] = _elementwise_matrix(n, xs) if row.kind == "elementwise" \
                else _STRUCTURAL[n.op](n, *xs)
        except ClosedFormError:
            raise
        except Exception as e:  # SymPy's matrix algebra refusing a combination
            raise _unsupported(n, f"SymPy: {type(e).__name__}: {e}") from None
    return val[id(root)]
