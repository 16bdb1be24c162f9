"""Structural sparsity of Jacobians, and the row colouring that compresses them.

``jacobian_pattern(f, x)`` says which entries of the Jacobian of ``f`` with respect to the
variable ``x`` can be nonzero: entry ``(i, j)`` is in the pattern when ``f.flat[i]``
depends on ``x.flat[j]`` through a chain of ops that carry a derivative. It walks the
graph once, inputs first (iteratively), and gives each node the set of entries of ``x``
each of its entries depends on, by the ``sparsity`` kind of its row in the table:

* ``elementwise``: entry i depends on what entry i of each (broadcast) input depends on;
* ``reduction``: an entry depends on the union over the entries reduced into it (all of
  them for rows without an ``axis`` param);
* ``selection``: a linear op that moves or copies entries (transpose, reshape, index,
  unindex, broadcast_to, scatter, concatenate, diagonal, diag): the row's numpy forward
  on an array of entry ids is the map from output entries to input entries (the inputs
  of concatenate numbered one after the other);
* ``dense``: every entry depends on every entry of every input (matmul, det, inv, ...).

Constants, other variables and inputs whose VJP is ``None`` (comparisons, the condition of
``where``, sign, step: derivative 0 almost everywhere, and reverse mode sends nothing
through them) contribute nothing. The pattern is structural: it never looks at values,
so a relu that is 0 at some point is still in it. It may over-approximate (a product
with a zero constant, the entries of a dense op that happen not to matter), which is
safe; it never leaves out an entry reverse mode can make nonzero. When a node has too
many entries or the pattern gets too dense, the walk gives up (``PatternLimitExceeded``)
and callers use the dense path.

``colour_rows(pattern)`` groups rows that share no column (greedy colouring): one reverse
sweep seeded with a group's indicator computes all rows of the group at once, because no
two of them overlap. ``sd.hessian`` uses both (see ``symdiff.derivatives.jacobian``).

>>> import symdiff as sd
>>> x = sd.var("x", (5,))
>>> p = jacobian_pattern(x[1:] * x[:-1] + sd.relu(x[1:]), x)
>>> p.to_dense().astype(int)
array([[1, 1, 0, 0, 0],
       [0, 1, 1, 0, 0],
       [0, 0, 1, 1, 0],
       [0, 0, 0, 1, 1]])
>>> colour_rows(p).tolist()       # rows 0 and 2 share no column, nor do rows 1 and 3
[0, 1, 0, 1]
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from numeric import PRIMITIVES
from numeric.primitives import normalize_axis

from symdiff.errors import SymdiffError
from symdiff.graph.node import Node
from symdiff.graph.walks import topological

MAX_ENTRIES = 10_000_000
"""A node with more entries than this stops the walk (its id arrays would be too large)."""
MIN_MAX_NNZ = 100_000
"""The smallest default budget of (entry, variable entry) pairs per node."""


class PatternLimitExceeded(SymdiffError):
    """The sparsity walk gave up (a node too large, or its pattern too dense); ``reason``
    says where."""


@dataclass(frozen=True, eq=False)
class Pattern:
    """The structural nonzeros of a Jacobian ``d f / d x``, as flat entry indices.

    out_shape, in_shape  shapes of ``f`` and ``x``; the Jacobian is
                         ``(f.size, x.size)`` when flattened.
    rows, cols           int64 arrays of equal length: entry ``(rows[k], cols[k])`` may be
                         nonzero; sorted by row, then column, without repeats.
    """

    out_shape: tuple
    in_shape: tuple
    rows: np.ndarray
    cols: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """``(f.size, x.size)``: the flattened Jacobian's shape."""
        return (int(np.prod(self.out_shape, dtype=np.int64)),
                int(np.prod(self.in_shape, dtype=np.int64)))

    @property
    def nnz(self) -> int:
        """Number of structural nonzeros."""
        return int(self.rows.size)

    def to_dense(self) -> np.ndarray:
        """The pattern as a boolean ``(f.size, x.size)`` array (for small shapes)."""
        out = np.zeros(self.shape, dtype=bool)
        out[self.rows, self.cols] = True
        return out

    def __repr__(self) -> str:
        m, n = self.shape
        return f"Pattern({m}x{n}, {self.nnz} structural nonzeros)"


# ---------------------------------------------------------------------------
# per-node patterns: CSR (indptr, indices) over the variable's entries; None = no entry
# depends on the variable
# ---------------------------------------------------------------------------

class _CSR:
    __slots__ = ("indptr", "indices")

    def __init__(self, indptr: np.ndarray, indices: np.ndarray):
        self.indptr = indptr
        self.indices = indices


def _identity(n: int) -> _CSR:
    return _CSR(np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64))


class _Walk:
    def __init__(self, ncols: int, max_nnz: int):
        self.ncols = ncols
        self.max_nnz = max_nnz

    def check(self, count: int, n: Node, what: str = "pairs", limit: int = 0) -> None:
        limit = limit or self.max_nnz
        if count > limit:
            raise PatternLimitExceeded(
                f"the sparsity pattern of {n._describe()} ({n.op}) would hold {count} "
                f"{what}, more than the budget of {limit}")

    def rows_of(self, p: _CSR, sources: np.ndarray, n: Node) -> tuple[np.ndarray, np.ndarray]:
        """For each k, the columns of row ``sources[k]`` of ``p``: (k repeated per column,
        the columns), checked against the budget before anything is allocated."""
        starts = p.indptr[sources]
        lengths = p.indptr[sources + 1] - starts
        total = int(lengths.sum())
        self.check(total, n, "pairs before merging", 4 * self.max_nnz)
        k = np.repeat(np.arange(sources.size, dtype=np.int64), lengths)
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths,
                                                               lengths)
        return k, p.indices[np.repeat(starts, lengths) + offsets]

    def build(self, rows: np.ndarray, cols: np.ndarray, size: int, n: Node,
              ordered: bool = False) -> _CSR:
        """A CSR from (row, column) pairs: in any order with repeats, or already in order
        without repeats (``ordered``)."""
        self.check(rows.size, n, "pairs before merging", 4 * self.max_nnz)
        key = rows * self.ncols + cols
        if not ordered:
            key = np.unique(key)   # sorted
        self.check(key.size, n)
        rows, cols = np.divmod(key, self.ncols)
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=size), out=indptr[1:])
        return _CSR(indptr, cols)

    # -- the four kinds ----------------------------------------------------------
    def elementwise(self, n: Node, ins: list) -> _CSR:
        parts = []
        for a, p in ins:
            if a.shape == n.shape:
                parts.append((p, None))
            else:
                ids = np.arange(a.size, dtype=np.int64).reshape(a.shape)
                parts.append((p, np.broadcast_to(ids, n.shape).reshape(-1)))
        if all(m is None and p is parts[0][0] for p, m in parts):
            return parts[0][0]  # same-shape inputs with one pattern (x * x, sin(x)): reuse
        rows, cols = [], []
        for p, m in parts:
            sources = np.arange(n.size, dtype=np.int64) if m is None else m
            k, c = self.rows_of(p, sources, n)
            rows.append(k)
            cols.append(c)
        return self.build(np.concatenate(rows), np.concatenate(cols), n.size, n)

    def reduction(self, n: Node, ins: list) -> _CSR:
        a, p = ins[0]
        row = PRIMITIVES[n.op]
        if "axis" not in row.params or len(ins) != 1:
            return self.dense(n, ins)
        axes = normalize_axis(n.params.get("axis"), a.ndim, n.op)
        kept = tuple(1 if k in axes else d for k, d in enumerate(a.shape))
        target = np.broadcast_to(np.arange(n.size, dtype=np.int64).reshape(kept),
                                 a.shape).reshape(-1)
        k, c = self.rows_of(p, np.arange(a.size, dtype=np.int64), n)
        return self.build(target[k], c, n.size, n)

    def selection(self, n: Node, ins: list) -> _CSR:
        if len(n.args) != 1:
            return self.joined(n, ins)
        if len(ins) != 1:
            return self.dense(n, ins)
        a, p = ins[0]
        if n.op == "scatter":
            # the params are the map; repeated targets are unions
            targets = np.asarray(n.params["pos"], dtype=np.int64).reshape(-1)
            sources = np.asarray(n.params["src"], dtype=np.int64).reshape(-1)
            k, c = self.rows_of(p, sources, n)
            return self.build(targets[k], c, n.size, n)
        # the forward of entry ids (from 1) gives each output entry's source; of ones, how
        # many sources it has; of squared ids, a check that it copies (2*x, x[a] - x[b]
        # and other mislabelled linear rows go to the dense rule)
        forward = PRIMITIVES[n.op].forward
        ids = np.arange(1, a.size + 1, dtype=np.float64).reshape(a.shape)
        with np.errstate(all="ignore"):
            probes = [np.asarray(forward(v, **n.params), dtype=np.float64).reshape(-1)
                      for v in (ids, ids * ids, np.ones(a.shape))]
        got, squares, count = probes
        if got.size != n.size:
            return self.dense(n, ins)
        one, none = count == 1, count == 0
        src = got[one]
        if not (np.all(squares[one] == src * src) and np.all(src == np.round(src)) and
                np.all((src >= 1) & (src <= a.size)) and not np.any(got[none]) and
                np.all((count == np.round(count)) & (count >= 0))):
            return self.dense(n, ins)  # not a plain copy: be safe
        targets = np.flatnonzero(one)
        k, c = self.rows_of(p, src.astype(np.int64) - 1, n)
        several = np.flatnonzero(count > 1)
        if not several.size:
            return self.build(targets[k], c, n.size, n, ordered=True)
        # an entry that adds several input entries: all of the input's, to be safe
        every = np.unique(p.indices)
        self.check(several.size * every.size, n)
        return self.build(np.concatenate([targets[k], np.repeat(several, every.size)]),
                          np.concatenate([c, np.tile(every, several.size)]), n.size, n)

    def joined(self, n: Node, ins: list) -> _CSR:
        """A selection row of several inputs (concatenate): numbered one after the other,
        the inputs' entry ids through the forward give each output entry's input and
        entry, checked as ``selection`` checks one input."""
        forward = PRIMITIVES[n.op].forward
        starts = np.cumsum([0] + [a.size for a in n.args])
        ids = [np.arange(s + 1, s + a.size + 1, dtype=np.float64).reshape(a.shape)
               for s, a in zip(starts, n.args)]
        with np.errstate(all="ignore"):
            got, squares, count = (
                np.asarray(forward(*vs, **n.params), dtype=np.float64).reshape(-1)
                for vs in (ids, [v * v for v in ids], [np.ones(a.shape) for a in n.args]))
        one = count == 1
        src = got[one]
        if got.size != n.size or not (
                np.all(squares[one] == src * src) and np.all(src == np.round(src)) and
                np.all((src >= 1) & (src <= starts[-1])) and not np.any(got[count == 0]) and
                np.all(count <= 1)):
            return self.dense(n, ins)
        targets = np.flatnonzero(one)
        src = src.astype(np.int64) - 1
        which = np.searchsorted(starts, src, side="right") - 1
        patterns = {id(a): p for a, p in ins}
        rows, cols = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for k, a in enumerate(n.args):
            p = patterns.get(id(a))
            if p is None or not PRIMITIVES[n.op].vjp[k]:
                continue
            mine = which == k
            kk, c = self.rows_of(p, src[mine] - starts[k], n)
            rows.append(targets[mine][kk])
            cols.append(c)
        return self.build(np.concatenate(rows), np.concatenate(cols), n.size, n)

    def dense(self, n: Node, ins: list) -> _CSR:
        every = np.unique(np.concatenate([p.indices for _, p in ins]))
        self.check(n.size * every.size, n, "pairs (every entry on every input entry)")
        return _CSR(np.arange(n.size + 1, dtype=np.int64) * every.size, np.tile(every, n.size))


def _default_budget(f: Node, x: Node) -> int:
    return max(MIN_MAX_NNZ, 32 * (f.size + x.size))


def jacobian_pattern(f: Node, x: Node, max_nnz: Optional[int] = None) -> Pattern:
    """The structural nonzeros of the Jacobian of ``f`` (any shape) with respect to the
    variable ``x``, as a ``Pattern`` over the flattened ``(f.size, x.size)`` Jacobian.

    Raises ``PatternLimitExceeded`` when a node has more than ``MAX_ENTRIES`` entries or
    a node's pattern would hold more than ``max_nnz`` pairs (default: the larger of
    ``MIN_MAX_NNZ`` and ``32 * (f.size + x.size)``).

    >>> import symdiff as sd
    >>> x = sd.var("x", (3,))
    >>> jacobian_pattern(sd.sum(x * x, axis=0, keepdims=True) + sd.exp(x), x).to_dense()
    array([[ True,  True,  True],
           [ True,  True,  True],
           [ True,  True,  True]])
    >>> jacobian_pattern(x[::-1] * 2.0, x).to_dense().astype(int)
    array([[0, 0, 1],
           [0, 1, 0],
           [1, 0, 0]])
    """
    if not isinstance(f, Node) or not isinstance(x, Node) or x.op not in ("var", "tensor"):
        raise SymdiffError("jacobian_pattern(f, x): f must be a Node and x a variable or tensor")
    walk = _Walk(max(x.size, 1), _default_budget(f, x) if max_nnz is None else int(max_nnz))
    order = topological([f])
    uses: dict[int, int] = {}
    for n in order:
        for a in n.args:
            uses[id(a)] = uses.get(id(a), 0) + 1
    rules = {name: getattr(walk, row.sparsity, walk.dense) for name, row in PRIMITIVES.items()}
    pat: dict[int, Optional[_CSR]] = {}
    for n in order:
        op = n.op
        if op in ("var", "tensor"):
            p = _identity(x.size) if n.name == x.name else None
        elif op == "const":
            p = None
        else:
            row = PRIMITIVES[op]
            ins = [(a, pat[id(a)]) for a, vjp in zip(n.args, row.vjp)
                   if vjp is not None and pat[id(a)] is not None]
            if not ins or row.dtype == "bool":
                p = None
            elif len(ins) == 1 and row.sparsity == "elementwise" and ins[0][0].shape == n.shape:
                p = ins[0][1]   # sin(x), x * 2.0: each entry depends on what its input does
            elif math.prod(n.shape) > MAX_ENTRIES:
                raise PatternLimitExceeded(f"{n._describe()} ({op}) has "
                                           f"{math.prod(n.shape)} entries, more than {MAX_ENTRIES}")
            else:
                p = rules[op](n, ins)
        pat[id(n)] = p
        for a in n.args:   # forget patterns nobody will read again
            k = id(a)
            uses[k] -= 1
            if not uses[k] and a is not f:
                pat.pop(k, None)
    p = pat[id(f)]
    if p is None:
        empty = np.zeros(0, dtype=np.int64)
        return Pattern(f.shape, x.shape, empty, empty.copy())
    rows = np.repeat(np.arange(f.size, dtype=np.int64), np.diff(p.indptr))
    return Pattern(f.shape, x.shape, rows, p.indices)


# ---------------------------------------------------------------------------
# compression
# ---------------------------------------------------------------------------

MAX_COLOURING_WORK = 20_000_000
"""Greedy colouring visits sum over columns of (rows in the column)**2 pairs; above this,
``colour_rows`` gives up (returns None)."""


def colour_rows(pattern: Pattern, max_colours: Optional[int] = None) -> Optional[np.ndarray]:
    """Greedy colouring of the pattern's rows: rows that share a column get different
    colours. Returns each row's colour (0, 1, ...), or None when more than ``max_colours``
    colours would be needed (or the colouring would cost too much: ``MAX_COLOURING_WORK``).

    Rows of one colour are structurally orthogonal, so a reverse sweep seeded with the
    sum of their unit vectors gives each of their nonzeros unmixed. A tridiagonal pattern
    needs 3 colours whatever its size.

    >>> import symdiff as sd
    >>> x = sd.var("x", (6,))
    >>> H = jacobian_pattern(sd.grad(sd.sum((x[1:] - x[:-1]) ** 2), [x])[0], x)
    >>> colour_rows(H).tolist(), colour_rows(H, max_colours=2)
    ([0, 1, 2, 0, 1, 2], None)
    """
    m, n = pattern.shape
    colours = np.full(m, -1, dtype=np.int64)
    if pattern.nnz == 0:
        return np.zeros(m, dtype=np.int64)
    per_col = np.bincount(pattern.cols, minlength=n)
    # the rows of one column all need different colours: a lower bound
    if max_colours is not None and int(per_col.max()) > max_colours:
        return None
    if int(np.sum(per_col.astype(np.float64) ** 2)) > MAX_COLOURING_WORK:
        return None
    by_col = np.argsort(pattern.cols, kind="stable")
    col_rows = np.split(pattern.rows[by_col], np.cumsum(per_col)[:-1])
    col_rows = [c.tolist() for c in col_rows]
    starts = np.searchsorted(pattern.rows, np.arange(m + 1)).tolist()
    cols = pattern.cols.tolist()
    colour = colours.tolist()
    used = 0
    for i in range(m):
        taken = {colour[r] for j in cols[starts[i]:starts[i + 1]] for r in col_rows[j]}
        c = 0
        while c in taken:
            c += 1
        colour[i] = c
        if c >= used:
            used = c + 1
            if max_colours is not None and used > max_colours:
                return None
    return np.array(colour, dtype=np.int64)
