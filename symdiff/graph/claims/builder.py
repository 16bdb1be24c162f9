"""``MatrixBuilder``: the reader's builder for matrix notation, terms first, then Nodes.

The reader (``symdiff.text.reader``) calls it for every number, name, operator and call
of a claim; it makes ``Term``s (``symdiff.graph.claims.terms``), inferring the sizes the
text leaves open (``sizes``), and ``finish`` turns the result into a Node
(``nodes``) in the shape of the variable the claim is for. Imports symdiff.errors,
symdiff.text, symdiff.graph.node and the other claims modules.

>>> import symdiff as sd
>>> from symdiff.graph.claims.reading import parse_matrix
>>> b = MatrixBuilder({"x": sd.var("x", (3,))})
>>> b.finish(parse_matrix("x.T*x", b)).shape
(1, 1)
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional

from symdiff.errors import ParseError, ShapeError
from symdiff.graph.claims.functions import matrix_functions
from symdiff.graph.claims.nodes import materialize
from symdiff.graph.claims.reading import PRIME
from symdiff.graph.claims.sizes import Dim, check_index, sum_rule, unify
from symdiff.graph.claims.terms import Term, Terms
from symdiff.graph.node import apply
from symdiff.graph.leaves import var
from symdiff.text.allowlist import MAX_NODES
from symdiff.text.builder import OperatorBuilder
from symdiff.text.hygiene import clip_text
from symdiff.text.numbers import constant_power

_MAX_MATRIX_POWER = 64
_MAX_MATRIX_LITERALS = 200    # Matrix([...]) in one text: their sizes are solved together
_MAX_MATRIX_ENTRIES = 5_000   # entries of those, in all
_COMPARISONS = {"<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal"}
_NOT_READ = "give the claim as a SymPy expression or a symdiff Node instead"


class MatrixBuilder(Terms, OperatorBuilder):
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

    With ``strict``, a name that is not one of ``variables`` is refused; else it becomes a
    scalar variable (``sd.parse(..., matrix=True)``).
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
        super().__init__()
        self.variables = dict(variables)
        self.strict = strict
        self.parameters: set[str] = set()
        self.ones_in_products = 0        # literal 1s next to a matrix in a product
        self._literal_terms: list[Term] = []   # Matrix([...]) terms: their block sizes
        self._open_literals: list[Term] = []   # ... those whose sizes are not all known
        self._literal_entries = 0
        self._literal_positions: dict[int, Optional[int]] = {}  # in the text read
        self.original_positions: Optional[list[int]] = None  # that text's in the user's
        self._leaves: dict[str, Term] = {}
        self.functions = matrix_functions(self)

    # -- builder interface
    def declare_parameter(self, name: str) -> None:
        self.parameters.add(name)

    def number(self, value: int | float) -> Term:
        if type(value) is int and value == 1:
            return self.one_term(None)
        return self.number_term(float(value))

    def name(self, identifier: str, position: int) -> Term:
        if identifier in self.parameters:
            return self.term("s", "param", (), identifier)
        if identifier in self.variables:
            return self._leaf(identifier)
        if identifier in self.functions:
            shown = identifier.replace(PRIME, "'")
            raise ParseError(f"function '{shown}' must be called, e.g. {shown}.(X) or "
                             f"{shown}(x)")
        if identifier == "I":
            n = Dim()
            return self.term("m", "eye", (), None, n, n)
        if identifier in ("pi", "E"):
            return self.number_term(math.pi if identifier == "pi" else math.e)
        if self.strict:
            known = ", ".join(sorted(self.variables)) or "none"
            shown = clip_text(identifier.replace(PRIME, "'"))
            what = "a derivative mark ' follows a function name, as in relu'.(X)" \
                if PRIME in identifier else f"the variables are: {known}"
            raise ParseError(f"unknown name '{shown}' ({what})")
        self.variables[identifier] = var(identifier, ())
        return self._leaf(identifier)

    def _leaf(self, name: str) -> Term:
        t = self._leaves.get(name)
        if t is None:
            node = self.variables[name]
            shape = tuple(node.shape)
            if len(shape) > 2:
                raise ParseError(f"'{name}' has shape {shape}: matrix notation covers numbers, "
                                 f"vectors and matrices ({_NOT_READ})")
            if not shape:
                t = self.term("s", "leaf", (), node)
            else:
                rows, cols = (shape[0], 1) if len(shape) == 1 else shape
                t = self.term("m", "leaf", (), node, Dim(rows), Dim(cols))
            self._leaves[name] = t
        return t

    def binop(self, op: str, a: Term, b: Term) -> Term:
        if op in ("+", "-"):
            return self.elementwise("add" if op == "+" else "sub", a, b)
        if op == "*":
            return self._times(a, b)
        if op == "@":
            for t in (a, b):
                if t.kind == "s":
                    raise ParseError("'@' multiplies two matrices; use '*' to scale by a "
                                     "number")
            return self.matmul(self.as_matrix(a), self.as_matrix(b), "@")
        if op == "/":
            if b.kind == "m":
                raise ParseError("cannot divide by a matrix: write Inverse(B) for its "
                                 "inverse, HadamardPower(B, -1) for elementwise reciprocals")
            return self.elementwise("div", a, b)
        return self._power(a, b)

    def _times(self, a: Term, b: Term) -> Term:
        ka, kb = a.kind, b.kind
        if ka == "m" and kb == "m":
            return self.matmul(a, b)
        if ka == "1" and kb == "m":
            self.ones_in_products += 1
            return self.matmul(self.as_matrix(a), b)
        if ka == "m" and kb == "1":
            self.ones_in_products += 1
            return self.matmul(a, self.as_matrix(b))
        if ka == "1" or kb == "1":
            # a number times a literal 1: still undecided (2*1*A is 2 times ones times A)
            coefs = [c for t in (a, b) for c in (t.args if t.kind == "1" else (t,))]
            coef = coefs[0] if len(coefs) == 1 else \
                self.elementwise("mul", *coefs) if coefs else None
            return self.one_term(coef)
        return self.elementwise("mul", a, b)

    def _power(self, a: Term, b: Term) -> Term:
        if b.kind == "m":
            raise ParseError("an exponent must be a number, not a matrix")
        k = self.constant_value(b)
        if a.kind == "m":
            if k is None or not float(k).is_integer():
                raise ParseError("a matrix power needs an integer exponent (A**2, A**(-1)); "
                                 "for elementwise powers write HadamardPower(A, p)")
            if abs(k) > _MAX_MATRIX_POWER:
                raise ParseError(f"matrix powers are limited to |k| <= {_MAX_MATRIX_POWER}")
            if not unify(a.rows, a.cols):
                raise ParseError(f"a power of {a.shape_text()}: it must be square")
            return self.term("m", "matpow", (a,), int(k), a.rows, a.cols)
        if k is None:
            return self.elementwise("pow_tensor", a, b)
        folded = constant_power(self.constant_value(a), k)
        if folded is not None:
            return self.number_term(folded)
        return self.elementwise("pow", a,
                                p=int(k) if float(k).is_integer() and abs(k) < 2**53 else k)

    def unary(self, op: str, a: Term) -> Term:
        if op == "+":
            return a
        if a.op == "num":
            return self.number_term(-a.params)
        if a.kind == "1":
            return self.one_term(self.elementwise("neg", a.args[0]) if a.args
                                 else self.number_term(-1.0))
        return self.elementwise("neg", a)

    def compare(self, op: str, a: Term, b: Term) -> Term:
        return self.elementwise(_COMPARISONS[op], a, b, boolean=True)

    def attribute(self, a: Term, attr: str) -> Term:
        if a.kind == "s":
            return a  # a number is its own transpose
        a = self.as_matrix(a)
        return self.term("m", "T", (a,), None, a.cols, a.rows)

    def subscript(self, a: Term, key: tuple) -> Term:
        if a.kind != "m":
            raise ParseError("only a matrix can be indexed")
        if any(k is None or k is Ellipsis for k in key):
            raise ParseError("None and ... are not matrix indices: write A[i, j]")
        if len(key) == 1:
            if isinstance(key[0], slice):
                raise ParseError("index a matrix with two indices: A[i0:i1, j0:j1]")
            r, c = a.rows.get(), a.cols.get()
            check_index(key[0], None if r is None or c is None else r * c, "entry")
            return self.term("s", "linear", (a,), key[0])
        if len(key) != 2:
            raise ParseError(f"a matrix takes two indices, A[i, j], not {len(key)}")
        if not any(isinstance(k, slice) for k in key):
            for k, d, what in zip(key, (a.rows, a.cols), ("row", "column")):
                check_index(k, d.get(), what)
            return self.term("s", "entry", (a,), key)
        spans = []
        for k, d, what in zip(key, (a.rows, a.cols), ("row", "column")):
            n = d.get()
            if n is None:
                raise ParseError("cannot slice a matrix whose size is not known here")
            if isinstance(k, slice):
                spans.append(k)
            else:
                check_index(k, n, what)
                spans.append(slice(k % n, k % n + 1))
        sizes = [len(range(n)[k]) for k, n in zip(spans, (a.rows.get(), a.cols.get()))]
        if 0 in sizes:
            raise ParseError("an empty slice")
        return self.term("m", "slice", (a,), tuple(spans), Dim(sizes[0]), Dim(sizes[1]))

    def call(self, fname: str, args: list, kwargs: dict, position: int) -> Term:
        if any(isinstance(a, tuple) for a in args):
            raise ParseError(f"'{fname}' takes no tuple argument in matrix notation")
        return self.functions[fname](*args)

    def apply_lambda(self, param: str, body: Term, arg: Term, position: int) -> Term:
        if body.kind == "m":
            raise ParseError("the body of a Lambda must be a scalar expression in its "
                             "parameter")
        arg = self.as_scalar(arg)
        return self.term(arg.kind, "lambda", (arg,), (param, self.as_scalar(body)),
                         arg.rows, arg.cols)

    def literal(self, nrows: int, ncols: int, entries: list,
                position: Optional[int] = None) -> Term:
        """``Matrix([[...], ...])``: numbers, or blocks (SymPy prints a block matrix so,
        with ``0`` for a zero block of the size its row and column give it)."""
        grid = [entries[i * ncols:(i + 1) * ncols] for i in range(nrows)]
        if all(e.kind != "m" for e in entries):
            grid = [[self._as_block(e, Dim(1), Dim(1)) for e in row] for row in grid]
        else:
            grid = [[self._as_block(e, Dim(), Dim()) if e.kind != "m" else e for e in row]
                    for row in grid]
        for i, row in enumerate(grid):
            for j, block in enumerate(row):
                if not (unify(block.rows, row[0].rows) and unify(block.cols, grid[0][j].cols)):
                    raise ParseError(f"Matrix: block ({i}, {j}) is {block.shape_text()}, which "
                                     "does not fit its block row and column")
        if len(self._literal_terms) >= _MAX_MATRIX_LITERALS:
            raise ParseError(f"Matrix: at most {_MAX_MATRIX_LITERALS} explicit matrices in one "
                             "text")
        self._literal_entries += len(entries)
        if self._literal_entries > _MAX_MATRIX_ENTRIES:
            raise ParseError(f"Matrix: at most {_MAX_MATRIX_ENTRIES} entries in the explicit "
                             "matrices of one text (each entry is three graph nodes)")
        t = self.term("m", "literal", tuple(b for row in grid for b in row), (nrows, ncols),
                      Dim(), Dim())
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
                changed |= sum_rule(heights, t.rows) | sum_rule(widths, t.cols)
                if t.rows.get() is None or t.cols.get() is None or \
                        any(d.get() is None for d in heights) or \
                        any(d.get() is None for d in widths):
                    still_open.append(t)
            self._open_literals = still_open

    def _as_block(self, t: Term, rows: Dim, cols: Dim) -> Term:
        """0 as a zero block of any size, another number as a 1×1 block."""
        t = self.as_scalar(t)
        if t.op == "num" and t.params == 0.0:
            return self.term("m", "zeros", (), None, rows, cols)
        return self.term("m", "block", (t,), None, Dim(1), Dim(1))

    # -- the end: sizes, then nodes
    def finish(self, result: Term, like: Any = None, text: str = "") -> Any:
        """The Node of ``result``; with ``like`` (a variable), in ``like``'s shape."""
        t = self.as_scalar(result)
        if like is not None and t.kind == "m":
            shape = tuple(like.shape)
            want = {0: (1, 1), 1: (shape[0], 1) if shape else None,
                    2: shape}.get(len(shape))
            if want is None or not (unify(t.rows, Dim(want[0])) and
                                    unify(t.cols, Dim(want[1]))):
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
                if pos is not None and self.original_positions:
                    pos = self.original_positions[min(pos, len(self.original_positions) - 1)]
                raise ParseError("Matrix: the sizes of its zero blocks cannot be told from "
                                 "the blocks around them (SymPy prints every zero block as "
                                 "0, so a block matrix with two zero blocks in one column or "
                                 f"row can be ambiguous): {_NOT_READ}", text,
                                 0 if pos is None else min(pos, len(text)))
        try:
            node = materialize(t, {})
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
            return apply("broadcast_to", node, shape=shape)
        if shape == ():
            return node[0, 0]
        return apply("reshape", node, shape=shape)
