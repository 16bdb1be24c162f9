"""Size-generic numpy code from a gradient's matrix form (``sd.formula(..., lang="python")``).

The matrix form of the gradient of a Gaussian negative log-likelihood with respect to S is
``0.5*S.T**(-1) - S.T**(-1)*((x - m)*(x - m).T)*S.T**(-1)/2``: printed as it stands, numpy
code for any n. Three things make it so:

* ``Inverse(A)*B`` becomes ``Solve(A, B)`` (``numpy.linalg.solve``), and ``B*Inverse(A)``
  ``Solve(A.T, B.T).T``; an inverse standing alone stays ``numpy.linalg.inv``;
* the outer products written as Hadamard products of ones-broadcasts become ``u @ v.T``
  (``symbolic.outer``);
* every size in the text (a ones matrix, an identity, a vector as a column) is read from
  an argument's shape (``numpy.shape(S)[0]``), never the number the graph was built with.

Common subexpressions become one temporary each (the caller's ``sympy.cse``). A size
that no argument has (a reshape to a new length) cannot be made generic: then
``GenericUnavailable`` is raised and the caller falls back to fixed-size code.

May import numpy, SymPy, ``symdiff.errors``, ``symdiff.graph``, ``symdiff.symbolic`` and
``symdiff.derivatives.printers``.

>>> import sympy
>>> S, B = sympy.MatrixSymbol("S", 3, 3), sympy.MatrixSymbol("B", 3, 2)
>>> p = GenericPrinter({3: "numpy.shape(S)[0]"})
>>> p.doprint(solves(S.inverse() * B))
'numpy.linalg.solve(S, B)'
>>> p.doprint(sympy.Identity(3) + S)
'numpy.eye(numpy.shape(S)[0]) + S'
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import sympy

from symdiff.derivatives.printers import PYTHON_GLOBALS, FormulaNumPyPrinter
from symdiff.errors import SymdiffError
from symdiff.graph.walks import topological
from symdiff.symbolic.closed_form import build
from symdiff.symbolic.display import short_text
from symdiff.symbolic.outer import outer_products


class GenericUnavailable(Exception):
    """The matrix form has a size no argument's shape gives."""


class Solve(sympy.MatrixExpr):
    """``A**(-1) * B`` as ``numpy.linalg.solve(A, B)`` prints it (never formed: only printed)."""

    def __new__(cls, a: Any, b: Any) -> "Solve":
        return sympy.Basic.__new__(cls, a, b)

    @property
    def shape(self) -> tuple:
        return self.args[1].shape


def _inverse_of(f: Any) -> Any:
    if isinstance(f, sympy.Inverse):
        return f.arg
    if isinstance(f, sympy.MatPow) and f.exp == -1:
        return f.base
    return None


def solves(expr: Any) -> Any:
    """``expr`` with each matrix inverse inside a product written as a ``Solve``."""
    if not isinstance(expr, sympy.Basic) or not expr.has(sympy.Inverse, sympy.MatPow):
        return expr
    return expr.replace(lambda n: isinstance(n, sympy.MatMul), _solve_product)


def _solve_product(m: Any) -> Any:
    coeff, mats = m.as_coeff_matrices()
    out = _solve_factors(list(mats))
    return out if coeff == 1 else sympy.MatMul(coeff, out)


def _solve_factors(mats: list) -> Any:
    for i, f in enumerate(mats):
        a = _inverse_of(f)
        if a is None:
            continue
        prefix = mats[:i]
        if i < len(mats) - 1:
            rest = _solve_factors(mats[i + 1:])
            node = Solve(a, rest)
            return sympy.MatMul(*prefix, node) if prefix else node
        if prefix:   # B*A**(-1) = (A.T**(-1)*B.T).T
            left = sympy.MatMul(*prefix) if len(prefix) > 1 else prefix[0]
            return sympy.Transpose(Solve(a.T, left.T))
        return f
    return sympy.MatMul(*mats) if len(mats) > 1 else mats[0]


def prepared(expr: Any) -> Any:
    """The matrix form as generic code prints it: outer products, then solves."""
    return solves(outer_products(expr))


class GenericPrinter(FormulaNumPyPrinter):
    """``FormulaNumPyPrinter`` with every size read from ``sizes`` (number -> text) and
    ``Solve`` printed as ``numpy.linalg.solve``; products print with ``@``."""

    def __init__(self, sizes: Mapping[int, str]) -> None:
        super().__init__()
        self.sizes = dict(sizes)

    def _size(self, n: Any) -> str:
        n = int(n)
        if n == 1:
            return "1"
        text = self.sizes.get(n)
        if text is None:
            raise GenericUnavailable(f"no argument has a dimension of size {n}")
        return text

    def _shape(self, expr: Any) -> str:
        return f"({self._size(expr.shape[0])}, {self._size(expr.shape[1])})"

    def _print_Solve(self, expr: Any) -> str:
        return (f"{self._module_format('numpy.linalg.solve')}({self._print(expr.args[0])}, "
                f"{self._print(expr.args[1])})")

    def _print_DiagMatrix(self, expr: Any) -> str:
        # diag(u) of a column u (a Hessian or Jacobian of entrywise functions)
        return f"{self._module_format('numpy.diagflat')}({self._print(expr.args[0])})"

    def _print_DiagonalMatrix(self, expr: Any) -> str:
        # symdiff's DiagonalMatrix (notation.py) shares its name with a SymPy class the
        # numpy printer knows, and is a DiagMatrix
        if isinstance(expr, sympy.matrices.expressions.diagonal.DiagMatrix):
            return self._print_DiagMatrix(expr)
        return super()._print_DiagonalMatrix(expr)

    def _print_OneMatrix(self, expr: Any) -> str:
        return f"{self._module_format('numpy.ones')}({self._shape(expr)})"

    def _print_ZeroMatrix(self, expr: Any) -> str:
        return f"{self._module_format('numpy.zeros')}({self._shape(expr)})"

    def _print_Identity(self, expr: Any) -> str:
        return f"{self._module_format('numpy.eye')}({self._size(expr.shape[0])})"

    def _print_named(self, expr: Any) -> str:
        # symdiff.symbolic.named's functions (softmax, logsumexp, norm, sum) spelled out in
        # SymPy's own classes, which the printer knows
        return self._print(expr.doit(deep=False))

    _print_Softmax = _print_LogSumExp = _print_Norm = _print_Total = _print_named

    def _print_MatMul(self, expr: Any) -> str:
        coeff, mats = expr.as_coeff_matrices()
        text = " @ ".join(self.parenthesize(m, 60) for m in mats)
        if coeff == 1:
            return text
        if coeff == -1:
            return f"-({text})" if len(mats) > 1 else f"-{text}"
        return f"{self.parenthesize(coeff, 60)}*{text}" if len(mats) == 1 else \
            f"{self.parenthesize(coeff, 60)}*({text})"


class Target:
    """How generated code spells its array library: numpy here; JAX and PyTorch in
    ``symdiff.derivatives.array_code``. Each text is a format with ``{a}`` an argument,
    ``{k}`` an axis, ``{t}`` an expression and ``{s}`` a shape."""
    lang = "python"
    imports = ("numpy",)
    printer: Any = None                 # the class: GenericPrinter or a subclass
    convert = "numpy.asarray({a}, dtype=numpy.float64)"
    column = "numpy.reshape({t}, (-1, 1))"
    size = "numpy.shape({a})[{k}]"
    scalar_out = "float(numpy.reshape({t}, ()))"
    array_out = "numpy.array(numpy.broadcast_to({t}, {s}), dtype=numpy.float64)"
    globals_used = PYTHON_GLOBALS

    def modules(self, used: Mapping[str, Any]) -> list:
        """The modules to import, given the printer's ``module_imports``."""
        return sorted(set(self.imports) | {m.split(".")[0] for m in used})

    def preamble(self, job: Any) -> list:
        """Lines after the arguments' conversion (PyTorch's dtype)."""
        return []


def size_names(args: list, target: Optional[Target] = None) -> dict[int, str]:
    """Number -> the text of an argument's dimension of that size (the first found), for
    arguments that are arrays (1-D ones are columns: their length)."""
    size = (target or Target()).size
    sizes: dict[int, str] = {}
    for a in args:
        for k, n in enumerate(a.shape):
            sizes.setdefault(int(n), size.format(a=a.name, k=k))
    return sizes


def _mean_guards(job: Any, p: GenericPrinter) -> list:
    """Lines that refuse sizes a mean was not taken over: the closed form holds its 1/n as
    a number (``-0.25*A.T*...``), which would be silently wrong for another n."""
    sizes: set = set()
    for n in topological([job.f] + list(job.grads)):
        if n.op != "mean":
            continue
        shape = n.args[0].shape
        axis = n.params.get("axis")
        axes = range(len(shape)) if axis is None else \
            [axis] if isinstance(axis, int) else list(axis)
        sizes |= {int(shape[a]) for a in axes if shape[a] != 1}
    lines = []
    for n in sorted(sizes):
        text = p._size(n)   # GenericUnavailable when no argument has it
        lines += [f"if {text} != {n}:   # a mean's 1/{n} is a number in this formula",
                  f"    raise ValueError('{job.function}() was generated for a mean over {n} "
                  "entries: generate it again for this size')"]
    return lines


def python_generic(job: Any, cse: Callable[..., tuple], safe: Callable[[str, str], str],
                   returns: Callable[[Any, list], list], target: Optional[Target] = None
                   ) -> str:
    """The module text of ``sd.formula(lang="python")`` for ``job``
    (``formula_job.Job``) as numpy code for arrays of any size (JAX or PyTorch code with
    ``target``); ``cse``, ``safe`` and ``returns`` are formula's common subexpressions,
    docstring guard and return lines."""
    target = target or Target()
    arg_names = [a.name for a in job.args]
    forms = [prepared(build(g)) for g in job.grads]
    reps, reduced = cse(forms, set(arg_names))
    p = (target.printer or GenericPrinter)(size_names(job.args, target))
    body = []
    for a in job.args:
        if a.shape == ():
            continue
        conv = target.convert.format(a=a.name)
        if len(a.shape) == 1:   # the matrix form's columns, of whatever length is given
            conv = target.column.format(t=conv)
        body.append(f"{a.name} = {conv}")
    guards = _mean_guards(job, p)
    body += guards
    body += target.preamble(job)
    body += [f"{s} = {p.doprint(v)}" for s, v in reps]
    outs = []
    for o, e in zip(job.outs, reduced):
        text = p.doprint(e)
        if o.shape == ():
            outs.append(target.scalar_out.format(t=text))
            continue
        if len(o.shape) > 2:
            raise GenericUnavailable(f"an output of {len(o.shape)} dimensions")
        # every size of the output read from the arguments (a Jacobian's rows are f's)
        shape = ", ".join(p._size(n) for n in o.shape)
        mshape = f"({shape}, 1)" if len(o.shape) == 1 else f"({shape})"
        out = target.array_out.format(t=text, s=mshape)
        outs.append(out + ".reshape(-1)" if len(o.shape) == 1 else out)
    modules = target.modules(p.module_imports)
    roots = {m.split(".")[0] for m in modules}
    clash = sorted(set(arg_names) & (roots | target.globals_used))
    if clash:
        raise SymdiffError(f"formula(lang={target.lang!r}): variable name(s) "
                           f"{', '.join(clash)} would shadow a name the generated code "
                           "uses; rename them")
    doc = (f"{job.about()}, for arrays of any size (the sizes are read from the "
           "arguments)")
    lines = [f'"""{job.what} of {job.name} = {safe(short_text(job.f), chr(34) * 3)}, '
             f'generated by symdiff.formula."""']
    lines += [f"import {m}" for m in modules]
    lines += ["", "", f"def {job.function}({', '.join(arg_names)}):", f'    """{doc}"""']
    lines += [f"    {line}" for line in body + returns(job, outs)]
    return "\n".join(lines) + "\n"
