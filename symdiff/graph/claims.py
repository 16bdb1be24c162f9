"""Matrix notation: claims, and SymPy's printed matrix formulas read back into Nodes."""
from __future__ import annotations

import itertools
import math
import re
from typing import Any, Callable, Mapping, Optional

import numpy as np

from symdiff.budget import gc_paused
from symdiff.errors import ParseError
from symdiff.text.numbers import constant_power
from symdiff.text.reader import MAX_LENGTH, MAX_NODES, OperatorBuilder, Translator
from symdiff.text.hygiene import clip_text

# ---------------------------------------------------------------------------
# matrix notation: claims, and SymPy's printed matrix formulas read back
# ---------------------------------------------------------------------------

_PRIME = "\u02b9"
"""MODIFIER LETTER PRIME, a letter in Python names: ``relu'`` is read as the name ``reluʹ``."""
_MATRIX_REWRITES = re.compile(
    r"(?P<one>(?<![\w.])1\.T(?!\w))"          # 1.T: a row of ones (Python reads "1." first)
    r"|(?P<prime>(?<=\w)'(?=\.?\s*\())"         # relu'.(: a derivative (Python: a string)
    r"|(?P<dot>(?<=[\w)'\u02b9])\.(?=\s*\())"  # tanh.(X): elementwise application
)
_MAX_MATRIX_POWER = 64
_MAX_MATRIX_LITERALS = 200    # Matrix([...]) in one text: their sizes are solved together
_MAX_MATRIX_ENTRIES = 5_000   # entries of those, in all


def _matrix_text(text: str) -> tuple[str, list[int]]:
    """Rewrite the three spellings Python cannot parse; ``where[i]`` is the position in
    ``text`` of character ``i`` of the result (for error positions)."""
    out: list[str] = []
    where: list[int] = []
    last = 0
    for m in _MATRIX_REWRITES.finditer(text):
        out.append(text[last:m.start()])
        where.extend(range(last, m.start()))
        i = m.start()
        if m.group("one"):
            out.append("1 .T")
            where.extend((i, i + 1, i + 1, i + 2))
        else:
            out.append(_PRIME if m.group("prime") else " ")
            where.append(i)
        last = m.end()
    out.append(text[last:])
    where.extend(range(last, len(text) + 1))
    return "".join(out), where


def parse_matrix(text: str, builder: "MatrixBuilder") -> Any:
    if not isinstance(text, str):
        raise TypeError(f"expected the formula as a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"expression is too long ({len(text)} characters; "
                         f"the limit is {MAX_LENGTH})", text, MAX_LENGTH)
    body, where = _matrix_text(text)
    builder._back = where
    try:   # the rewrite may lengthen the text (1.T -> 1 .T): its length was checked above
        return Translator(body, builder, length_checked=True).run()
    except ParseError as e:
        pos = None if e.position is None else where[min(e.position, len(where) - 1)]
        raise ParseError(e.message.replace(_PRIME, "'"), text, pos) from None


def parse_claim(text: str, variables: Any, wrt: Any = None) -> "Node":  # noqa: F821
    """Parse a claimed derivative written in matrix notation into a graph ``Node``.

    ``variables``: the names the text may use, as a mapping name -> Node, a list of
    variable nodes, or a function Node (its variables and tensors). Any other name is a
    ``ParseError``. With ``wrt`` (the variable the claim is the derivative for), the
    result has ``wrt``'s shape: a matrix claim must have ``wrt``'s matrix shape (a vector
    of shape (n,) is an n×1 column), a number is broadcast to it. See ``MatrixBuilder``
    for the notation.

    >>> import symdiff as sd
    >>> A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
    >>> g = parse_claim("2*A.T*(A*x - b)", [A, x, b], wrt=x)
    >>> g.shape, g.sympy()
    ((2,), 2*A.T*(A*x - b))
    """
    from symdiff.graph.node import Node, topological
    if isinstance(variables, Node):
        variables = {n.name: n for n in topological([variables]) if n.op in ("var", "tensor")}
    elif isinstance(variables, Mapping):
        variables = dict(variables)
    else:
        variables = {n.name: n for n in variables}
    if wrt is not None and wrt.name not in variables:
        variables[wrt.name] = wrt
    builder = MatrixBuilder(variables, strict=True)
    with gc_paused(len(text) if isinstance(text, str) else 0):
        return builder.finish(parse_matrix(text, builder), wrt, text)


class _Dim:
    """A matrix dimension, known or still to be inferred (union-find)."""

    __slots__ = ("up", "size")

    def __init__(self, size: Optional[int] = None):
        self.up: Optional[_Dim] = None
        self.size = size

    def root(self) -> "_Dim":
        d = self
        while d.up is not None:
            d = d.up
        n = self   # path compression: later lookups are one step
        while n.up is not None and n.up is not d:
            n.up, n = d, n.up
        return d

    def get(self) -> Optional[int]:
        return self.root().size


def _unify(a: _Dim, b: _Dim) -> bool:
    ra, rb = a.root(), b.root()
    if ra is rb:
        return True
    if ra.size is not None and rb.size is not None:
        return ra.size == rb.size
    if ra.size is None:
        ra.up = rb
    else:
        rb.up = ra
    return True


class _Term:
    """A piece of a claim before its sizes are all known: kind "s" (a number), "m" (a
    matrix with ``rows`` x ``cols``) or "1" (a literal 1, times ``args[0]`` if present:
    the number 1 or a matrix of ones, decided by what it meets)."""

    __slots__ = ("kind", "op", "args", "params", "rows", "cols", "index", "boolean")

    def shape_text(self) -> str:
        if self.kind != "m":
            return "a number"
        r, c = self.rows.get(), self.cols.get()
        return f"a {'?' if r is None else r}×{'?' if c is None else c} matrix"


_ELEMENTWISE = ("exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs",
                "sign")
_SQUARE = {"Trace": "trace", "trace": "trace", "Determinant": "det", "det": "det",
           "logdet": "logdet", "Inverse": "inv", "inv": "inv"}
_REDUCE = {"sum": "sum", "mean": "mean", "logsumexp": "logsumexp", "norm": "norm"}
_COMPARISONS = {"<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal"}
_OP_TEXT = {"add": "'+'", "sub": "'-'", "mul": "HadamardProduct", "div": "'/'",
            "less": "'<'", "less_equal": "'<='", "greater": "'>'", "greater_equal": "'>='"}
_NOT_READ = "give the claim as a SymPy expression or a symdiff Node instead"


class MatrixBuilder(OperatorBuilder):
    """Reads matrix notation, the way symdiff prints matrix formulas (SymPy's), into Nodes.

    The rules:

    * a 1-D variable of shape (n,) is an n×1 column; ``x.T`` is its row;
    * ``*`` between two matrices is the matrix product, as ``@``; a number times a matrix
      scales it; ``x.T*x`` is a 1×1 matrix and ``(x.T*x)[0, 0]`` its number;
    * ``+``, ``-`` and comparisons are elementwise (a number is added to every entry);
      ``/`` divides by a number only (``Inverse(B)``, ``HadamardPower(B, -1)`` otherwise);
    * ``A**k`` is a matrix power (k an integer; ``A**(-1)`` the inverse);
      ``HadamardProduct(A, B)``, ``HadamardPower(A, p)`` are elementwise;
    * functions apply elementwise: ``tanh.(A)``, ``tanh(A)``, ``relu'.(A)`` (the
      derivative: relu' is the step with relu'(0) = 0; also exp' log' sin' cos' tan' tanh'
      sigmoid' sqrt' abs'), ``Lambda(t, sqrt(t)).(A)``; ``Trace``, ``Determinant``,
      ``Inverse``, ``logdet``, ``sum``, ``mean``, ``norm``, ``logsumexp`` take a matrix;
    * ``I`` is the identity and ``1`` next to a matrix in a product (``1*b.T``,
      ``A*1``) or transposed (``1.T``) is a matrix of ones, their sizes inferred from
      what they meet (a size nothing fixes is 1); elsewhere ``1`` is the number;
    * ``A[i, j]`` is an entry, ``A[i0:i1, j]`` a block, ``A[k]`` the k-th entry in row
      order (SymPy's indexing);
    * ``Matrix([[a, b], [c, d]])`` is an explicit matrix, ``Matrix([a, b])`` a column, and
      with matrices as entries a block matrix, ``0`` standing for a zero block whose size
      the blocks beside it and the claim's shape decide (as SymPy prints block matrices).
    """

    lambdas = True
    max_nodes = MAX_NODES
    literals = ("Matrix", "ImmutableMatrix")
    keywords: dict = {}
    hints = {
        "BlockMatrix": "write a block matrix as Matrix([[A, B], [C, D]])",
        "Piecewise": "Piecewise is not supported: write where(x > 0, a, b)",
        "Lambda": "a Lambda must be applied elementwise, e.g. Lambda(t, sqrt(t)).(X)",
        "Identity": "write I for the identity (its size is inferred)",
        "OneMatrix": "write 1 for a column (or matrix) of ones and 1.T for a row",
        "ZeroMatrix": "write 0 for a zero matrix",
    }

    def __init__(self, variables: Mapping[str, Any], strict: bool = True):
        from symdiff.graph.node import apply, const, var
        self._apply, self._const, self._var = apply, const, var
        self.variables = dict(variables)
        self.strict = strict
        self.parameters: set[str] = set()
        self.ones: list[_Term] = []      # literal 1s read as matrices of ones
        self.ones_in_products = 0        # ... of them next to a matrix in a product
        self._literal_terms: list[_Term] = []   # Matrix([...]) terms: their block sizes
        self._open_literals: list[_Term] = []   # ... those whose sizes are not all known
        self._literal_entries = 0
        self._literal_positions: dict[int, Optional[int]] = {}  # in the text read
        self._back: Optional[list[int]] = None   # that text's positions in the user's text
        self._count = 0
        self._leaves: dict[str, _Term] = {}
        fns: dict[str, Callable[..., _Term]] = {}
        for name in _ELEMENTWISE:
            fns[name] = self._elementwise_fn(name)
            fns[name + _PRIME] = self._derivative_fn(name)
        fns["Abs"], fns["Abs" + _PRIME] = fns["abs"], fns["abs" + _PRIME]
        for name, op in _SQUARE.items():
            fns[name] = self._square_fn(op)
        for name, op in _REDUCE.items():
            fns[name] = self._reduce_fn(op)
        fns.update({"Transpose": self._transpose_fn, "transpose": self._transpose_fn,
                    "HadamardProduct": self._hadamard, "HadamardPower": self._hadamard_power,
                    "maximum": self._extremum("maximum"), "Max": self._extremum("maximum"),
                    "minimum": self._extremum("minimum"), "Min": self._extremum("minimum"),
                    "where": self._where, "step": self._step, "Heaviside": self._step})
        self.functions = fns

    # -- terms
    def _new(self, kind: str, op: str, args: tuple = (), params: Any = None,
             rows: Optional[_Dim] = None, cols: Optional[_Dim] = None,
             boolean: bool = False) -> _Term:
        t = _Term()
        t.kind, t.op, t.args, t.params, t.rows, t.cols = kind, op, args, params, rows, cols
        t.index, t.boolean = self._count, boolean
        self._count += 1
        return t

    def _num(self, value: float) -> _Term:
        return self._new("s", "num", (), float(value))

    def _one(self, coef: Optional[_Term]) -> _Term:
        return self._new("1", "one", () if coef is None else (coef,))

    def _scalar(self, t: _Term) -> _Term:
        if t.kind == "1":
            return t.args[0] if t.args else self._num(1.0)
        return t

    def _matrix(self, t: _Term) -> _Term:
        if t.kind != "1":
            return t
        ones = self._new("m", "ones", (), None, _Dim(), _Dim())
        self.ones.append(ones)
        return self._ew("mul", t.args[0], ones) if t.args else ones

    def _constant(self, t: _Term) -> Optional[float]:
        if t.op == "num":
            return t.params
        if t.kind == "1":
            return self._constant(t.args[0]) if t.args else 1.0
        return None

    def _ew(self, op: str, *terms: _Term, boolean: bool = False, **params: Any) -> _Term:
        ts = [self._scalar(t) for t in terms]
        mats = [t for t in ts if t.kind == "m"]
        for m in mats[1:]:
            first = mats[0]
            if not (_unify(first.rows, m.rows) and _unify(first.cols, m.cols)):
                what = _OP_TEXT.get(op, op)
                raise ParseError(f"{what}: {first.shape_text()} and {m.shape_text()} do not "
                                 "have the same shape (elementwise ops need equal shapes)")
        if not mats and all(t.op == "num" for t in ts) and not boolean:
            folded = _fold(op, [t.params for t in ts], params)
            if folded is not None:
                return self._num(folded)
        first = mats[0] if mats else None
        return self._new("m" if mats else "s", "ew", tuple(ts), (op, params),
                         first.rows if first else None, first.cols if first else None,
                         boolean)

    def _matmul(self, a: _Term, b: _Term, how: str = "*") -> _Term:
        if not _unify(a.cols, b.rows):
            hint = ""
            if (a.rows.get(), a.cols.get()) == (1, 1) or (b.rows.get(), b.cols.get()) == (1, 1):
                hint = "; a 1×1 product such as x.T*x is a matrix: (x.T*x)[0, 0] is its number"
            elif a.cols.get() == b.cols.get() == 1:
                hint = ("; for the elementwise product of two columns write "
                        "HadamardProduct(x, y), for their dot product x.T*y")
            raise ParseError(f"'{how}' multiplies {a.shape_text()} by {b.shape_text()}: the "
                             f"inner sizes differ (1-D variables are columns){hint}")
        return self._new("m", "matmul", (a, b), None, a.rows, b.cols)

    # -- builder interface
    def declare_parameter(self, name: str) -> None:
        self.parameters.add(name)

    def number(self, value: int | float) -> _Term:
        if type(value) is int and value == 1:
            return self._one(None)
        return self._num(float(value))

    def name(self, identifier: str, position: int) -> _Term:
        if identifier in self.parameters:
            return self._new("s", "param", (), identifier)
        if identifier in self.variables:
            return self._leaf(identifier)
        if identifier in self.functions:
            shown = identifier.replace(_PRIME, "'")
            raise ParseError(f"function '{shown}' must be called, e.g. {shown}.(X) or "
                             f"{shown}(x)")
        if identifier == "I":
            n = _Dim()
            return self._new("m", "eye", (), None, n, n)
        if identifier in ("pi", "E"):
            return self._num(math.pi if identifier == "pi" else math.e)
        if self.strict:
            known = ", ".join(sorted(self.variables)) or "none"
            shown = clip_text(identifier.replace(_PRIME, "'"))
            what = "a derivative mark ' follows a function name, as in relu'.(X)" \
                if _PRIME in identifier else f"the variables are: {known}"
            raise ParseError(f"unknown name '{shown}' ({what})")
        self.variables[identifier] = self._var(identifier, ())
        return self._leaf(identifier)

    def _leaf(self, name: str) -> _Term:
        t = self._leaves.get(name)
        if t is None:
            node = self.variables[name]
            shape = tuple(node.shape)
            if len(shape) > 2:
                raise ParseError(f"'{name}' has shape {shape}: matrix notation covers numbers, "
                                 f"vectors and matrices ({_NOT_READ})")
            if not shape:
                t = self._new("s", "leaf", (), node)
            else:
                rows, cols = (shape[0], 1) if len(shape) == 1 else shape
                t = self._new("m", "leaf", (), node, _Dim(rows), _Dim(cols))
            self._leaves[name] = t
        return t

    def binop(self, op: str, a: _Term, b: _Term) -> _Term:
        if op in ("+", "-"):
            return self._ew("add" if op == "+" else "sub", a, b)
        if op == "*":
            return self._times(a, b)
        if op == "@":
            for t in (a, b):
                if t.kind == "s":
                    raise ParseError("'@' multiplies two matrices; use '*' to scale by a "
                                     "number")
            return self._matmul(self._matrix(a), self._matrix(b), "@")
        if op == "/":
            if b.kind == "m":
                raise ParseError("cannot divide by a matrix: write Inverse(B) for its "
                                 "inverse, HadamardPower(B, -1) for elementwise reciprocals")
            return self._ew("div", a, b)
        return self._power(a, b)

    def _times(self, a: _Term, b: _Term) -> _Term:
        ka, kb = a.kind, b.kind
        if ka == "m" and kb == "m":
            return self._matmul(a, b)
        if ka == "1" and kb == "m":
            self.ones_in_products += 1
            return self._matmul(self._matrix(a), b)
        if ka == "m" and kb == "1":
            self.ones_in_products += 1
            return self._matmul(a, self._matrix(b))
        if ka == "1" or kb == "1":
            # a number times a literal 1: still undecided (2*1*A is 2 times ones times A)
            coefs = [c for t in (a, b) for c in (t.args if t.kind == "1" else (t,))]
            coef = coefs[0] if len(coefs) == 1 else \
                self._ew("mul", *coefs) if coefs else None
            return self._one(coef)
        return self._ew("mul", a, b)

    def _power(self, a: _Term, b: _Term) -> _Term:
        if b.kind == "m":
            raise ParseError("an exponent must be a number, not a matrix")
        k = self._constant(b)
        if a.kind == "m":
            if k is None or not float(k).is_integer():
                raise ParseError("a matrix power needs an integer exponent (A**2, A**(-1)); "
                                 "for elementwise powers write HadamardPower(A, p)")
            if abs(k) > _MAX_MATRIX_POWER:
                raise ParseError(f"matrix powers are limited to |k| <= {_MAX_MATRIX_POWER}")
            if not _unify(a.rows, a.cols):
                raise ParseError(f"a power of {a.shape_text()}: it must be square")
            return self._new("m", "matpow", (a,), int(k), a.rows, a.cols)
        if k is None:
            return self._ew("pow_tensor", a, b)
        folded = constant_power(self._constant(a), k)
        if folded is not None:
            return self._num(folded)
        return self._ew("pow", a, p=int(k) if float(k).is_integer() and abs(k) < 2**53 else k)

    def unary(self, op: str, a: _Term) -> _Term:
        if op == "+":
            return a
        if a.op == "num":
            return self._num(-a.params)
        if a.kind == "1":
            return self._one(self._ew("neg", a.args[0]) if a.args else self._num(-1.0))
        return self._ew("neg", a)

    def compare(self, op: str, a: _Term, b: _Term) -> _Term:
        return self._ew(_COMPARISONS[op], a, b, boolean=True)

    def attribute(self, a: _Term, attr: str) -> _Term:
        if a.kind == "s":
            return a  # a number is its own transpose
        a = self._matrix(a)
        return self._new("m", "T", (a,), None, a.cols, a.rows)

    def subscript(self, a: _Term, key: tuple) -> _Term:
        if a.kind != "m":
            raise ParseError("only a matrix can be indexed")
        if any(k is None or k is Ellipsis for k in key):
            raise ParseError("None and ... are not matrix indices: write A[i, j]")
        if len(key) == 1:
            if isinstance(key[0], slice):
                raise ParseError("index a matrix with two indices: A[i0:i1, j0:j1]")
            r, c = a.rows.get(), a.cols.get()
            _check_index(key[0], None if r is None or c is None else r * c, "entry")
            return self._new("s", "linear", (a,), key[0])
        if len(key) != 2:
            raise ParseError(f"a matrix takes two indices, A[i, j], not {len(key)}")
        if not any(isinstance(k, slice) for k in key):
            for k, d, what in zip(key, (a.rows, a.cols), ("row", "column")):
                _check_index(k, d.get(), what)
            return self._new("s", "entry", (a,), key)
        spans = []
        for k, d, what in zip(key, (a.rows, a.cols), ("row", "column")):
            n = d.get()
            if n is None:
                raise ParseError("cannot slice a matrix whose size is not known here")
            if isinstance(k, slice):
                spans.append(k)
            else:
                _check_index(k, n, what)
                spans.append(slice(k % n, k % n + 1))
        sizes = [len(range(n)[k]) for k, n in zip(spans, (a.rows.get(), a.cols.get()))]
        if 0 in sizes:
            raise ParseError("an empty slice")
        return self._new("m", "slice", (a,), tuple(spans), _Dim(sizes[0]), _Dim(sizes[1]))

    def call(self, fname: str, args: list, kwargs: dict, position: int) -> _Term:
        if any(isinstance(a, tuple) for a in args):
            raise ParseError(f"'{fname}' takes no tuple argument in matrix notation")
        return self.functions[fname](*args)

    def apply_lambda(self, param: str, body: _Term, arg: _Term, position: int) -> _Term:
        if body.kind == "m":
            raise ParseError("the body of a Lambda must be a scalar expression in its "
                             "parameter")
        arg = self._scalar(arg)
        return self._new(arg.kind, "lambda", (arg,), (param, self._scalar(body)),
                         arg.rows, arg.cols)

    def literal(self, nrows: int, ncols: int, entries: list,
                position: Optional[int] = None) -> _Term:
        """``Matrix([[...], ...])``: numbers, or blocks (SymPy prints a block matrix so,
        with ``0`` for a zero block of the size its row and column give it)."""
        grid = [entries[i * ncols:(i + 1) * ncols] for i in range(nrows)]
        if all(e.kind != "m" for e in entries):
            grid = [[self._as_block(e, _Dim(1), _Dim(1)) for e in row] for row in grid]
        else:
            grid = [[self._as_block(e, _Dim(), _Dim()) if e.kind != "m" else e for e in row]
                    for row in grid]
        for i, row in enumerate(grid):
            for j, block in enumerate(row):
                if not (_unify(block.rows, row[0].rows) and _unify(block.cols, grid[0][j].cols)):
                    raise ParseError(f"Matrix: block ({i}, {j}) is {block.shape_text()}, which "
                                     "does not fit its block row and column")
        if len(self._literal_terms) >= _MAX_MATRIX_LITERALS:
            raise ParseError(f"Matrix: at most {_MAX_MATRIX_LITERALS} explicit matrices in one "
                             "text")
        self._literal_entries += len(entries)
        if self._literal_entries > _MAX_MATRIX_ENTRIES:
            raise ParseError(f"Matrix: at most {_MAX_MATRIX_ENTRIES} entries in the explicit "
                             "matrices of one text (each entry is three graph nodes)")
        t = self._new("m", "literal", tuple(b for row in grid for b in row), (nrows, ncols),
                      _Dim(), _Dim())
        self._literal_terms.append(t)
        self._open_literals.append(t)
        self._literal_positions[id(t)] = position
        self._resolve_literals()
        return t

    def _resolve_literals(self) -> None:
        """Block sizes add up to the matrix's size: fill in what that decides (zero blocks
        are at least 1×1), until nothing changes.  A literal whose sizes are all known
        has nothing left to decide and leaves the open list (else every Matrix([...]) of
        a text would be visited again for each later one)."""
        changed = True
        while changed:
            changed = False
            still_open = []
            for t in self._open_literals:
                nrows, ncols = t.params
                heights = [t.args[i * ncols].rows for i in range(nrows)]
                widths = [t.args[j].cols for j in range(ncols)]
                changed |= _sum_rule(heights, t.rows) | _sum_rule(widths, t.cols)
                if t.rows.get() is None or t.cols.get() is None or \
                        any(d.get() is None for d in heights) or \
                        any(d.get() is None for d in widths):
                    still_open.append(t)
            self._open_literals = still_open

    def _as_block(self, t: _Term, rows: _Dim, cols: _Dim) -> _Term:
        """0 as a zero block of any size, another number as a 1×1 block."""
        t = self._scalar(t)
        if t.op == "num" and t.params == 0.0:
            return self._new("m", "zeros", (), None, rows, cols)
        return self._new("m", "block", (t,), None, _Dim(1), _Dim(1))

    # -- functions
    @staticmethod
    def _arity(name: str, args: tuple, *counts: int) -> None:
        if len(args) not in counts:
            want = " or ".join(map(str, counts))
            raise ParseError(f"'{name.replace(_PRIME, chr(39))}' takes {want} argument"
                             f"{'s' if counts != (1,) else ''}, got {len(args)}")

    def _elementwise_fn(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            self._arity(op, args, 1)
            return self._ew(op, args[0])
        return fn

    def _derivative_fn(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            self._arity(op + _PRIME, args, 1)
            x, e = args[0], self._ew
            one = self._num(1.0)
            if op == "relu":
                return e("step", x, h0=0.0)
            if op in ("abs", "sign"):
                return e("sign", x) if op == "abs" else e("mul", self._num(0.0), x)
            if op == "exp":
                return e("exp", x)
            if op == "log":
                return e("div", one, x)
            if op in ("sin", "cos"):
                return e("cos", x) if op == "sin" else e("neg", e("sin", x))
            if op in ("tan", "tanh"):
                sq = e("pow", e(op, x), p=2)
                return e("add", one, sq) if op == "tan" else e("sub", one, sq)
            if op == "sigmoid":
                s = e("sigmoid", x)
                return e("mul", s, e("sub", one, s))
            return e("div", self._num(0.5), e("sqrt", x))  # sqrt
        return fn

    def _square_fn(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            self._arity(op, args, 1)
            x = self._matrix(args[0])
            if x.kind != "m" or not _unify(x.rows, x.cols):
                raise ParseError(f"{op} needs a square matrix, got {x.shape_text()}")
            if op == "inv":
                return self._new("m", "reduce", (x,), op, x.rows, x.cols)
            return self._new("s", "reduce", (x,), op)
        return fn

    def _reduce_fn(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            self._arity(op, args, 1)
            x = self._matrix(args[0])
            if x.kind == "s":
                if op == "norm":
                    return self._ew("abs", x)
                return x
            return self._new("s", "reduce", (x,), op)
        return fn

    def _transpose_fn(self, *args: _Term) -> _Term:
        self._arity("Transpose", args, 1)
        return self.attribute(args[0], "T")

    def _hadamard(self, *args: _Term) -> _Term:
        if len(args) < 2:
            raise ParseError("HadamardProduct takes two or more arguments")
        out = args[0]
        for a in args[1:]:
            out = self._ew("mul", out, a)
        return out

    def _hadamard_power(self, *args: _Term) -> _Term:
        self._arity("HadamardPower", args, 2)
        x, p = args
        if p.kind == "m":
            raise ParseError("HadamardPower: the exponent must be a number")
        k = self._constant(p)
        if k is None:
            return self._ew("pow_tensor", x, p)
        return self._ew("pow", x, p=int(k) if float(k).is_integer() and abs(k) < 2**53 else k)

    def _extremum(self, op: str) -> Callable[..., _Term]:
        def fn(*args: _Term) -> _Term:
            if len(args) < 2:
                raise ParseError(f"{op} takes two or more arguments")
            out = args[0]
            for a in args[1:]:
                out = self._ew(op, out, a)
            return out
        return fn

    def _where(self, *args: _Term) -> _Term:
        self._arity("where", args, 3)
        if not args[0].boolean:
            raise ParseError("where: the condition must be a comparison such as x > 0")
        return self._ew("where", *args)

    def _step(self, *args: _Term) -> _Term:
        self._arity("step", args, 1, 2)
        h0 = 0.5 if len(args) == 1 else self._constant(args[1])
        if h0 is None:
            raise ParseError("step/Heaviside: the value at 0 must be a number")
        return self._ew("step", args[0], h0=float(h0))

    # -- the end: sizes, then nodes
    def finish(self, result: _Term, like: Any = None, text: str = "") -> Any:
        """The Node of ``result``; with ``like`` (a variable), in ``like``'s shape."""
        from symdiff.errors import ShapeError
        t = self._scalar(result)
        if like is not None and t.kind == "m":
            shape = tuple(like.shape)
            want = {0: (1, 1), 1: (shape[0], 1) if shape else None,
                    2: shape}.get(len(shape))
            if want is None or not (_unify(t.rows, _Dim(want[0])) and
                                    _unify(t.cols, _Dim(want[1]))):
                r, c = t.rows.get(), t.cols.get()
                hint = " (is it transposed?)" if want is not None and (c, r) == want else ""
                need = "a number" if not shape else f"a {want[0]}×{want[1]} matrix" \
                    if want else f"an array of shape {shape}"
                raise ShapeError(f"the claim {text!r} for '{like.name}' is {t.shape_text()}"
                                 f"{hint}, but it must be {need} ('{like.name}' has shape "
                                 f"{shape}; 1-D variables are columns)")
        self._resolve_literals()
        for lit in self._literal_terms:
            if any(d.get() is None for b in lit.args for d in (b.rows, b.cols)):
                pos = self._literal_positions.get(id(lit))
                if pos is not None and self._back:
                    pos = self._back[min(pos, len(self._back) - 1)]
                raise ParseError("Matrix: the sizes of its zero blocks cannot be told from "
                                 "the blocks around them (SymPy prints every zero block as "
                                 "0, so a block matrix with two zero blocks in one column or "
                                 f"row can be ambiguous): {_NOT_READ}", text,
                                 0 if pos is None else min(pos, len(text)))
        try:
            node = self._materialize(t, {})
        except ParseError as e:   # an index checked once the sizes are inferred
            if e.text:
                raise
            raise ParseError(e.message, text, 0) from None
        if self.ones_in_products and not node.is_leaf:
            node._cache["ones_read"] = True
        if like is None:
            return node
        shape = tuple(like.shape)
        if node.shape == shape:
            return node
        if node.shape == ():
            return self._apply("broadcast_to", node, shape=shape)
        if shape == ():
            return node[0, 0]
        return self._apply("reshape", node, shape=shape)

    def _materialize(self, root: _Term, env: dict) -> Any:
        seen, stack, order = {id(root)}, [root], []
        while stack:
            t = stack.pop()
            order.append(t)
            for a in t.args:
                if id(a) not in seen:
                    seen.add(id(a))
                    stack.append(a)
        order.sort(key=lambda t: t.index)  # terms are made after their arguments
        nodes: dict[int, Any] = {}
        for t in order:
            nodes[id(t)] = self._node(t, [nodes[id(a)] for a in t.args], env)
        return nodes[id(root)]

    def _node(self, t: _Term, xs: list, env: dict) -> Any:
        ap, op = self._apply, t.op
        if op == "num":
            return self._const(t.params)
        if op == "leaf":
            node = t.params
            return ap("reshape", node, shape=(node.shape[0], 1)) if node.ndim == 1 else node
        if op == "param":
            if t.params not in env:
                raise ParseError(f"'{t.params}' is used outside its Lambda")
            return env[t.params]
        if op == "ones":
            return self._const(np.ones((t.rows.get() or 1, t.cols.get() or 1)))
        if op == "eye":
            return self._const(np.eye(t.rows.get() or 1))
        if op == "ew":
            name, params = t.params
            return ap(name, *xs, **params)
        if op == "matmul":
            return ap("matmul", *xs)
        if op == "T":
            return ap("transpose", xs[0], axes=None)
        if op == "matpow":
            k, x = t.params, xs[0]
            if k == 0:
                return self._const(np.eye(x.shape[0]))
            # by repeated squaring: about 2*log2(k) products, not k - 1 (S**64*S**64*...
            # would otherwise make 63 nodes per 5 characters of text)
            power, n, out = x if k > 0 else ap("inv", x), abs(k), None
            while True:
                if n & 1:
                    out = power if out is None else ap("matmul", out, power)
                n >>= 1
                if not n:
                    return out
                power = ap("matmul", power, power)
        if op == "reduce":
            if t.params in ("sum", "mean", "logsumexp"):
                return ap(t.params, xs[0], axis=None, keepdims=False)
            return ap(t.params, xs[0])
        if op == "entry":
            i, j = t.params
            for k, n, what in zip((i, j), xs[0].shape, ("row", "column")):
                _check_index(k, n, what)
            return xs[0][i, j]
        if op == "linear":
            r, c = xs[0].shape
            _check_index(t.params, r * c, "entry")
            return xs[0][divmod(t.params % (r * c), c)]
        if op == "slice":
            return xs[0][t.params]
        if op == "lambda":
            param, body = t.params
            return self._materialize(body, {**env, param: xs[0]})
        if op == "zeros":
            return self._const(np.zeros((t.rows.get() or 1, t.cols.get() or 1)))
        if op == "block":
            if xs[0].op == "const":   # a number: a 1×1 constant, which a literal folds
                return self._const(np.reshape(xs[0]._value, (1, 1)))
            return ap("reshape", xs[0], shape=(1, 1))
        if op == "literal":
            nrows, ncols = t.params
            heights = [xs[i * ncols].shape[0] for i in range(nrows)]
            widths = [xs[j].shape[1] for j in range(ncols)]
            starts_r = list(itertools.accumulate(heights, initial=0))
            starts_c = list(itertools.accumulate(widths, initial=0))
            shape = (starts_r[-1], starts_c[-1])
            # The constant blocks go into one constant (block by block, each an add of two
            # full-size constants, n entries would cost n² time); the others are placed
            # with unindex and added to it.
            dense, pieces = None, []
            for i in range(nrows):
                r0, r1 = starts_r[i], starts_r[i + 1]
                for j in range(ncols):
                    block = xs[i * ncols + j]
                    c0, c1 = starts_c[j], starts_c[j + 1]
                    if block.op == "const":
                        if np.any(block._value):
                            if dense is None:
                                dense = np.zeros(shape)
                            dense[r0:r1, c0:c1] = block._value
                        continue
                    key = (("slice", r0, r1, None), ("slice", c0, c1, None))
                    pieces.append(ap("unindex", block, key=key, shape=shape))
            out = None if dense is None else self._const(dense)
            for piece in pieces:
                out = piece if out is None else ap("add", out, piece)
            return out if out is not None else self._const(np.zeros(shape))
        raise ParseError(f"internal error: cannot build the term {op!r}")


def _sum_rule(parts: list, total: _Dim) -> bool:
    """Sizes ``parts`` add up to ``total``: unify what that decides; True if it did."""
    known = [d.get() for d in parts]
    if None not in known:
        if total.get() is None:
            return _unify(total, _Dim(sum(known)))
        if total.get() != sum(known):
            raise ParseError(f"Matrix: blocks of sizes {known} do not add up to {total.get()}")
        return False
    if total.get() is None:
        return False
    rest = total.get() - sum(k for k in known if k is not None)
    roots: dict[int, list] = {}
    for d, k in zip(parts, known):
        if k is None:
            roots.setdefault(id(d.root()), [d.root(), 0])[1] += 1
    count = sum(m for _, m in roots.values())
    if len(roots) == 1:
        root, m = next(iter(roots.values()))
        if rest < m or rest % m:
            raise ParseError(f"Matrix: blocks cannot add up to {total.get()}")
        return _unify(root, _Dim(rest // m))
    if rest == count:              # every unknown block is 1 wide
        for root, _ in roots.values():
            _unify(root, _Dim(1))
        return True
    return False


def _check_index(k: int, n: Optional[int], what: str) -> None:
    if n is not None and not -n <= k < n:
        raise ParseError(f"{what} index {k} is out of range for size {n}")


def _fold(op: str, values: list, params: dict) -> Optional[float]:
    """Arithmetic on two literal numbers, in floats (so 9**9**9 cannot run for long)."""
    try:
        if op == "add":
            return values[0] + values[1]
        if op == "sub":
            return values[0] - values[1]
        if op == "mul":
            return values[0] * values[1]
        if op == "div":
            return values[0] / values[1]
        if op == "neg":
            return -values[0]
        if op == "pow":
            return math.pow(values[0], float(params["p"]))
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return None
