"""C from a gradient's matrix form (``sd.formula(..., lang="c")`` of inverses, determinants
and large arrays).

The element form of ``d/dS`` of a Gaussian negative log-likelihood writes S's inverse out
entry by entry: a page of cofactors at n = 4 that SymPy takes seconds to form and that
loses digits near a singular S, and no code at all at n = 50. The matrix form
``0.5*S**(-1) - 0.5*S**(-1)*(x - m)*(x - m).T*S**(-1)`` is short at any n, so C is
printed from it, for the shapes the graph was built with: each matrix operation becomes a
loop over a buffer (products, sums, Hadamard products, functions applied entrywise), and
``inv``/``solve``/``det`` call an LU factorization with partial pivoting that the file
carries (``static`` helpers, only those it uses). Common subexpressions are one buffer
each; all buffers live in one block allocated once per call. A singular matrix gives
inf/nan entries, as IEEE arithmetic does; if the block cannot be allocated, every output
is NaN.

``formula._c_text`` uses this when the gradients hold an inverse, a determinant or a
solve, or their element form is past ``MAX_ELEMENTS``; smaller gradients keep the element
form. A matrix expression this module cannot write raises ``MatrixCUnavailable`` and the
element form is used.

May import SymPy, ``symdiff.errors``, ``symdiff.symbolic`` and ``symdiff.derivatives``.

>>> import sympy
>>> A, b = sympy.MatrixSymbol("A", 2, 2), sympy.MatrixSymbol("b", 2, 1)
>>> w = Writer(FormulaCPrinter(), {"A": "A", "b": "b"}, taken=set())
>>> w.matrix(A.T * b)
'w1'
>>> print(w.lines[0])
double *const w0 = work + 0;   /* A.T (2x2) */
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import sympy
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from symdiff.derivatives.matrix_code import Solve, prepared
from symdiff.derivatives.printers import FormulaCPrinter
from symdiff.symbolic.closed_form import build
from symdiff.symbolic.display import short_text

M = sympy.matrices.expressions


def _short(e: Any, width: int = 60) -> str:
    """``e`` for a C comment: one line, at most ``width`` characters, no ``*/``."""
    text = " ".join(str(e).split()).replace("*/", "* /")
    return text if len(text) <= width else text[:width - 3] + "..."


class MatrixCUnavailable(Exception):
    """The matrix form holds an expression this module has no C for."""


HELPERS = {
    "matmul": """\
static void sd_matmul(int r, int k, int c, const double *a, const double *b, double *out)
{
    for (int i = 0; i < r; i++) {
        for (int j = 0; j < c; j++) out[i*c + j] = 0.0;
        for (int p = 0; p < k; p++) {
            const double aip = a[i*k + p];
            for (int j = 0; j < c; j++) out[i*c + j] += aip*b[p*c + j];
        }
    }
}""",
    "lu": """\
/* LU factorization with partial pivoting of the n x n matrix a, in place; piv the row
   swaps; returns the sign of the permutation. A zero pivot is left in place (the
   solves divide by it: inf/nan, as IEEE arithmetic gives for a singular matrix). */
static double sd_lu(int n, double *a, int *piv)
{
    double sign = 1.0;
    for (int k = 0; k < n; k++) {
        int p = k;
        for (int i = k + 1; i < n; i++)
            if (fabs(a[i*n + k]) > fabs(a[p*n + k])) p = i;
        piv[k] = p;
        if (p != k) {
            sign = -sign;
            for (int j = 0; j < n; j++) {
                const double t = a[k*n + j]; a[k*n + j] = a[p*n + j]; a[p*n + j] = t;
            }
        }
        for (int i = k + 1; i < n; i++) {
            const double l = a[i*n + k] / a[k*n + k];
            a[i*n + k] = l;
            for (int j = k + 1; j < n; j++) a[i*n + j] -= l*a[k*n + j];
        }
    }
    return sign;
}

/* out (n x m) = A^-1 b, with lu/piv from sd_lu */
static void sd_lu_solve(int n, int m, const double *lu, const int *piv, const double *b,
                        double *out)
{
    for (int i = 0; i < n*m; i++) out[i] = b[i];
    for (int k = 0; k < n; k++)
        if (piv[k] != k)
            for (int j = 0; j < m; j++) {
                const double t = out[k*m + j];
                out[k*m + j] = out[piv[k]*m + j]; out[piv[k]*m + j] = t;
            }
    for (int i = 0; i < n; i++)
        for (int p = 0; p < i; p++)
            for (int j = 0; j < m; j++) out[i*m + j] -= lu[i*n + p]*out[p*m + j];
    for (int i = n - 1; i >= 0; i--) {
        for (int p = i + 1; p < n; p++)
            for (int j = 0; j < m; j++) out[i*m + j] -= lu[i*n + p]*out[p*m + j];
        for (int j = 0; j < m; j++) out[i*m + j] /= lu[i*n + i];
    }
}""",
}
"""The C helpers a file may carry (``lu`` holds both the factorization and its solve)."""


class Writer:
    """Statements that compute matrix and scalar SymPy expressions into buffers of one
    ``work`` block (offsets counted in ``size``) and ``const double`` temporaries.
    ``names``: SymPy symbol name -> the C expression holding it (arguments, temporaries)."""

    def __init__(self, printer: FormulaCPrinter, names: Mapping[str, str],
                 taken: set) -> None:
        self.p = printer
        self.names = dict(names)
        self.taken = set(taken) | set(self.names.values())
        self.lines: list[str] = []
        self.size = 0
        self.pivots = 0
        self.helpers: set[str] = set()
        self._done: dict[Any, str] = {}
        self._count = 0

    # ---- buffers and temporaries ------------------------------------------------------
    def _fresh(self) -> str:
        name = f"w{self._count}"
        self._count += 1
        while name in self.taken:
            name = f"w{self._count}"
            self._count += 1
        return name

    def _buffer(self, rows: int, cols: int, what: Any) -> str:
        name = self._fresh()
        self.lines.append(f"double *const {name} = work + {self.size};   /* "
                          f"{_short(what)} ({rows}x{cols}) */")
        self.size += rows * cols
        return name

    def _loop(self, n: int, body: str) -> None:
        self.lines.append(f"for (int i = 0; i < {n}; i++) {body}")

    # ---- matrices -----------------------------------------------------------------------
    def matrix(self, e: Any) -> str:
        """The C name of a row-major buffer holding the matrix expression ``e``."""
        if e in self._done:
            return self._done[e]
        if isinstance(e, sympy.MatrixSymbol) and e.name in self.names:
            return self.names[e.name]
        out = self._matrix(e)
        self._done[e] = out
        return out

    def _shape(self, e: Any) -> tuple[int, int]:
        try:
            r, c = (int(d) for d in e.shape)
        except TypeError:
            raise MatrixCUnavailable(f"a symbolic shape in {e}") from None
        return r, c

    def _matrix(self, e: Any) -> str:
        r, c = self._shape(e)
        n = r * c
        if isinstance(e, (M.MatMul,)):
            coeff, mats = e.as_coeff_matrices()
            cur, (cr, cc) = self.matrix(mats[0]), self._shape(mats[0])
            for m in mats[1:]:
                mr, mc = self._shape(m)
                b = self.matrix(m)
                out = self._buffer(cr, mc, e)
                self.helpers.add("matmul")
                self.lines.append(f"sd_matmul({cr}, {cc}, {mc}, {cur}, {b}, {out});")
                cur, cc = out, mc
            if coeff == 1:
                return cur
            s = self.scalar(coeff)
            out = self._buffer(r, c, e)
            self._loop(n, f"{out}[i] = ({s})*{cur}[i];")
            return out
        if isinstance(e, M.MatAdd):
            terms = [self.matrix(t) for t in e.args]
            out = self._buffer(r, c, e)
            self._loop(n, f"{out}[i] = {' + '.join(f'{t}[i]' for t in terms)};")
            return out
        if isinstance(e, M.HadamardProduct):
            terms = [self.matrix(t) for t in e.args]
            out = self._buffer(r, c, e)
            self._loop(n, f"{out}[i] = {'*'.join(f'{t}[i]' for t in terms)};")
            return out
        if isinstance(e, M.HadamardPower):
            a, k = self.matrix(e.base), e.exp
            out = self._buffer(r, c, e)
            self._loop(n, f"{out}[i] = " + (f"{a}[i]*{a}[i];" if k == 2 else
                                            f"pow({a}[i], {self.scalar(k)});"))
            return out
        if isinstance(e, M.Transpose):
            a = self.matrix(e.arg)
            if r == 1 or c == 1:   # a vector's transpose has the same row-major entries
                return a
            out = self._buffer(r, c, e)
            self.lines.append(f"for (int i = 0; i < {r}; i++) for (int j = 0; j < {c}; j++) "
                              f"{out}[i*{c} + j] = {a}[j*{r} + i];")
            return out
        if isinstance(e, ElementwiseApplyFunction):
            a = self.matrix(e.expr)
            (v,), body = e.function.variables, e.function.expr
            hole = sympy.Symbol(f"_entry{self._count}")
            self.p._c_names[hole.name] = f"{a}[i]"
            try:
                text = self.p.doprint(body.xreplace({v: hole}))
            finally:
                del self.p._c_names[hole.name]
            out = self._buffer(r, c, e)
            self._loop(n, f"{out}[i] = {text};")
            return out
        if isinstance(e, (M.Inverse,)) or (isinstance(e, M.MatPow) and e.exp == -1):
            return self._solve(e.args[0], None, e)
        if isinstance(e, Solve):
            return self._solve(e.args[0], e.args[1], e)
        if isinstance(e, M.MatPow) and e.exp.is_Integer and e.exp > 0:
            return self.matrix(sympy.MatMul(*[e.base] * int(e.exp)))
        if isinstance(e, (sympy.OneMatrix, sympy.ZeroMatrix, sympy.Identity)):
            out = self._buffer(r, c, e)
            if isinstance(e, sympy.Identity):
                self._loop(n, f"{out}[i] = (i % {c + 1} == 0) ? 1.0 : 0.0;")
            else:
                self._loop(n, f"{out}[i] = {1.0 if isinstance(e, sympy.OneMatrix) else 0.0};")
            return out
        if isinstance(e, M.diagonal.DiagonalOf):
            a, (_, ac) = self.matrix(e.args[0]), self._shape(e.args[0])
            out = self._buffer(r, c, e)
            self._loop(n, f"{out}[i] = {a}[i*{ac + 1}];")
            return out
        if isinstance(e, M.diagonal.DiagMatrix):
            a = self.matrix(e.args[0])
            out = self._buffer(r, c, e)
            self._loop(n, f"{out}[i] = (i % {c + 1} == 0) ? {a}[i / {c + 1}] : 0.0;")
            return out
        if isinstance(e, sympy.MatrixBase):
            entries = [self.scalar(v) for v in e]
            out = self._buffer(r, c, e)
            self.lines += [f"{out}[{k}] = {v};" for k, v in enumerate(entries)]
            return out
        lowered = e.doit(deep=False) if hasattr(e, "doit") else e
        if lowered != e and getattr(lowered, "is_Matrix", False):
            return self.matrix(lowered)   # softmax and the other named forms
        raise MatrixCUnavailable(f"no C for {type(e).__name__}")

    def _lu(self, a: Any) -> tuple[str, str, str]:
        """The LU factors of the square matrix ``a`` (once per matrix): the buffer, its
        pivots and the sign of its permutation."""
        key = ("lu", a)
        if key not in self._done:
            n, _ = self._shape(a)
            self.helpers.add("lu")
            src = self.matrix(a)
            lu = self._buffer(n, n, f"LU of {_short(a)}")
            piv = f"piv + {self.pivots}"
            self.pivots += n
            sign = self._fresh()
            self.lines.append(f"for (int i = 0; i < {n * n}; i++) {lu}[i] = {src}[i];")
            self.lines.append(f"const double {sign} = sd_lu({n}, {lu}, {piv});   "
                              f"/* the permutation's sign */")
            self.lines.append(f"(void){sign};")
            self._done[key] = (lu, piv, sign)
        return self._done[key]

    def _solve(self, a: Any, b: Any, what: Any) -> str:
        n, _ = self._shape(a)
        lu, piv, _ = self._lu(a)
        if b is None:
            rhs = self.matrix(sympy.Identity(n))
            m = n
        else:
            rhs, (_, m) = self.matrix(b), self._shape(b)
        out = self._buffer(n, m, what)
        self.lines.append(f"sd_lu_solve({n}, {m}, {lu}, {piv}, {rhs}, {out});")
        return out

    # ---- scalars --------------------------------------------------------------------------
    def scalar(self, e: Any) -> str:
        """C text of the scalar expression ``e``; the matrix parts it holds (a determinant,
        a trace, an entry, a norm) are computed first into temporaries."""
        e = sympy.sympify(e)
        if e in self._done:
            return self._done[e]
        found: dict[Any, Any] = {}
        stack = [e]
        while stack:   # the outermost matrix-valued parts; the rest is SymPy's C printing
            s = stack.pop()
            if self._matrix_part(s):
                found[s] = None
                continue
            stack.extend(a for a in s.args if isinstance(a, sympy.Basic))
        if not found:
            return self.p.doprint(e)
        holes = {}
        for s in found:
            name = self._scalar_part(s)
            hole = sympy.Symbol(f"_part{self._count}_{len(holes)}")
            self.p._c_names[hole.name] = name
            holes[s] = hole
        text = self.p.doprint(e.xreplace(holes))
        return text

    @staticmethod
    def _matrix_part(s: Any) -> bool:
        if getattr(s, "is_Matrix", False):
            raise MatrixCUnavailable(f"a matrix {s} where a number belongs")
        return isinstance(s, (M.Determinant, M.Trace, MatrixElement)) or (
            isinstance(s, sympy.Function) and any(getattr(a, "is_Matrix", False)
                                                  for a in s.args))

    def _scalar_part(self, s: Any) -> str:
        if s in self._done:
            return self._done[s]
        name = self._fresh()
        if isinstance(s, MatrixElement):
            a, (_, c) = self.matrix(s.parent), self._shape(s.parent)
            self.lines.append(f"const double {name} = {a}[{int(s.i) * c + int(s.j)}];")
        elif isinstance(s, M.Trace):
            a, (n, _) = self.matrix(s.arg), self._shape(s.arg)
            self.lines.append(f"double {name} = 0.0;")
            self._loop(n, f"{name} += {a}[i*{n + 1}];")
        elif isinstance(s, M.Determinant):
            n, _ = self._shape(s.arg)
            lu, _, sign = self._lu(s.arg)
            self.lines.append(f"double {name} = {sign};")
            self._loop(n, f"{name} *= {lu}[i*{n + 1}];")
        else:
            lowered = s.doit(deep=False)
            if lowered == s:
                raise MatrixCUnavailable(f"no C for {type(s).__name__}")
            self.lines.append(f"const double {name} = {self.scalar(lowered)};")
        self._done[s] = name
        return name


def c_layout_note(job: Any, outs: list, c: Mapping[str, str]) -> str:
    """The lines of a C file's head comment on its arrays' layout and renamed names."""
    arrays = [a for a in job.args if a.shape != ()]
    note = ("\n   Arrays are row-major and flat: "
            + "; ".join(f"{a.name} has shape {a.shape}" for a in arrays) + ".") if arrays else ""
    shaped = [(out, o.shape) for o, out in zip(job.outs, outs) if o.shape != ()]
    if shaped:
        note += ("\n   Outputs, row-major: "
                 + "; ".join(f"{out} has shape {shape}" for out, shape in shaped) + ".")
    renamed = [f"{k} is {v}" for k, v in c.items() if k != v]
    if renamed:
        note += f"\n   Names C reserves are renamed: {', '.join(renamed)}."
    return note


def c_matrix(job: Any, cse: Callable[..., tuple], safe: Callable[[str, str], str],
             c: Mapping[str, str], outs: list) -> str:
    """The C source of ``sd.formula(lang="c")`` for ``job`` (``formula_job.Job``) from
    the matrix forms of what it prints; ``c`` the arguments' C names, ``outs`` the output
    arguments' names; ``cse`` and ``safe`` are formula's common subexpressions and comment
    guard."""
    arg_names = [a.name for a in job.args]
    forms = [prepared(build(g)) for g in job.grads]
    taken = set(arg_names) | set(c.values()) | set(outs) | {"work", "piv", "i", "j"}
    reps, reduced = cse(forms, taken)
    p = FormulaCPrinter(c)
    w = Writer(p, {a.name: c[a.name] for a in job.args if a.shape != ()},
               taken | {s.name for s, _ in reps})
    for s, v in reps:
        if getattr(v, "is_Matrix", False):
            w.names[s.name] = w.matrix(v)
        else:
            w.lines.append(f"const double {s.name} = {w.scalar(v)};")
            p._c_names[s.name] = s.name
    sizes = [math.prod(int(d) for d in o.shape) for o in job.outs]
    fills = []
    for o, out, size, e in zip(job.outs, outs, sizes, reduced):
        if o.shape == ():
            fills.append(f"*{out} = {w.scalar(e)};")
        elif getattr(e, "is_Matrix", False):
            r, cols = w._shape(e)
            if r * cols != size:
                raise MatrixCUnavailable(f"the form of {o.label} has shape {e.shape}")
            fills.append(f"for (int i = 0; i < {size}; i++) {out}[i] = {w.matrix(e)}[i];")
        else:
            fills.append(f"for (int i = 0; i < {size}; i++) {out}[i] = {w.scalar(e)};")
    params = [f"double {c[a.name]}" if a.shape == () else f"const double *{c[a.name]}"
              for a in job.args]
    params += [f"double *{out}" for out in outs]
    nan_fill = [f"*{out} = NAN;" if o.shape == () else
                f"for (int i = 0; i < {size}; i++) {out}[i] = NAN;"
                for o, out, size in zip(job.outs, outs, sizes)]
    note = c_layout_note(job, outs, c)
    wrt = f" with respect to {', '.join(wv.name for wv in job.wrt)}" if job.order else ""
    head = (f"/* {job.what} of {job.name} = {safe(short_text(job.f), '*/')}{wrt}, generated "
            f"by symdiff.formula from its matrix form.{note}\n   Temporaries live in one "
            f"block of {w.size} doubles allocated per call; if it cannot be, every output "
            f"is NaN. */")
    lines = [head, "#include <math.h>", "#include <stdlib.h>", ""]
    for key in ("matmul", "lu"):
        if key in w.helpers:
            lines += [HELPERS[key], ""]
    lines += [f"void {job.function}({', '.join(params)})", "{"]
    body = [f"double *const work = (double *)malloc({max(w.size, 1)} * sizeof(double));",
            f"int *const piv = (int *)malloc({max(w.pivots, 1)} * sizeof(int));",
            "if (!work || !piv) {", *[f"    {x}" for x in nan_fill],
            "    free(work);", "    free(piv);", "    return;", "}"]
    body += w.lines + fills + ["free(work);", "free(piv);"]
    lines += [f"    {x}" for x in body]
    lines.append("}")
    return "\n".join(lines) + "\n"
