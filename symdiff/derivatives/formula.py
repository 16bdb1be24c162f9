r"""``sd.formula``: derivative formulas as text, for reading or for compiling.

One function, ``formula(f, wrt, lang)``, turns the gradient of a scalar ``f`` into text in
one of four languages:

* ``"sympy"``: SymPy's str printing, ``df/dx = ...`` lines;
* ``"latex"``: one ``aligned`` block, ``\frac{\partial f}{\partial x} = ...`` lines;
* ``"python"``: an importable module (numpy only) defining ``grad_<name>(x, y, ...)``;
* ``"c"``: C99 source (``math.h`` only) defining ``void grad_<name>(...)``;
* ``"jax"``, ``"pytorch"``, ``"julia"``, ``"rust"``, ``"fortran"``: for scalar variables,
  written by ``symdiff.derivatives.formula_langs``.

Common subexpressions become numbered temporaries (``sympy.cse``) whose prefix is chosen
so it cannot clash with the variables' names. Array variables use the matrix closed form
where there is one (``sympy``, ``latex``, ``python``) and otherwise the explicit element
form, which is limited to ``MAX_ELEMENTS`` elements; C uses the element form, with
arrays passed row-major (``W[i, j]`` is ``W[i*ncols + j]``), except for gradients holding
an inverse, a determinant or a solve, or past ``MAX_ELEMENTS``, which are written from the
matrix form as loops over buffers (``symdiff.derivatives.matrix_c``). The printing itself is
SymPy's (``NumPyPrinter``, ``C99CodePrinter``, ``latex``); the printers of
``symdiff.derivatives.printers`` only add symdiff's own functions and the few matrix
expressions SymPy's numpy printer lacks. This module holds the job: which gradients,
which forms, their common subexpressions, and the text around them.

May import: numpy, sympy, ``numeric``, ``symdiff.errors``, ``symdiff.graph``,
``symdiff.lowering``, ``symdiff.symbolic`` and ``symdiff.derivatives``.

>>> import symdiff as sd
>>> x, y = sd.var("x"), sd.var("y")
>>> print(formula(x * y + y**2))
df/dx = y
df/dy = x + 2*y
"""
from __future__ import annotations

import keyword
import re
from typing import Any, Optional, Sequence, Union

import numpy as np
import sympy
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.tensor.array import NDimArray

from numeric import PRIMITIVES

from symdiff.derivatives.matrix_c import MatrixCUnavailable, c_matrix
from symdiff.derivatives.matrix_code import GenericUnavailable, python_generic
from symdiff.derivatives.printers import (PYTHON_GLOBALS, FormulaCPrinter, FormulaNumPyPrinter,
                                          c_identifiers, c_name_clashes)
from symdiff.derivatives.formula_langs import LANGS, TEXTS, Code
from symdiff.derivatives.reverse import _grad
from symdiff.errors import ClosedFormError, SymdiffError
from symdiff.graph.arguments import as_function, check_wrt
from symdiff.graph.node import Node
from symdiff.graph.values import shown
from symdiff.graph.walks import topological
from symdiff.lowering.lower import graph_leaves
from symdiff.symbolic.bounded import within
from symdiff.symbolic.closed_form import build
from symdiff.symbolic.display import short_text
from symdiff.symbolic.latex import latex as paper_latex

LANGUAGES = ("sympy", "latex", "python", "c") + LANGS
"""The values ``formula``'s ``lang`` accepts."""

MAX_ELEMENTS = 2000
"""Largest explicit element form, in element operations: summed over the gradient graphs'
nodes, an elementwise op counts its elements, ``A @ B`` its elements times the inner
dimension, reductions and matrix functions their elements times their inputs' elements.
The element form is always the form for C; for the other languages it is used only where
no matrix form exists or prints."""

_TEMP_PREFIXES = ("t", "tmp", "cse", "aux", "tt")
_MOVES = ("transpose", "reshape", "index", "unindex", "broadcast_to")   # elements only move


def formula(f: Node, wrt: Union[Node, Sequence[Node], None] = None, lang: str = "sympy",
            name: str = "f", *, sympy_seconds: Optional[float] = None) -> str:
    r"""The derivative formula(s) of a scalar ``f`` as text in ``lang``.

    ``wrt`` is one variable, a list of them, or None for every variable of ``f`` (and
    tensors with ``requires_grad``), sorted by name. ``lang`` is one of ``LANGUAGES``;
    ``name`` names ``f`` in the text (``df/dx``, ``grad_f``). The generated Python function
    takes ``wrt``'s variables in order, then any other leaves of ``f`` sorted by name, and
    returns one gradient for a single ``wrt`` Node, a tuple for a list; array gradients have
    the variable's shape. The C function takes the same inputs (``double`` scalars,
    ``const double *`` row-major arrays), then one output pointer ``d_<var>`` per variable.

    The SymPy work (closed forms, common subexpressions, printing) runs within
    ``sympy_seconds`` (None: ``symdiff.budget.SYMPY_SECONDS``, 10 s).

    Raises ``ShapeError`` for a non-scalar ``f``, ``ClosedFormError`` when an array
    gradient has no form this language can print within ``MAX_ELEMENTS``, when SymPy
    needs longer than ``sympy_seconds`` or fails, and ``SymdiffError`` for an unknown
    ``lang`` or a name the generated code cannot use.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> print(formula(sd.sin(x) * x, x, lang="latex"))
    \begin{aligned}
    \frac{\partial f}{\partial x} &= x \cos{\left(x \right)} + \sin{\left(x \right)}
    \end{aligned}
    >>> namespace = {}
    >>> exec(formula(x**2 + 3, x, lang="python"), namespace)
    >>> namespace["grad_f"](7.0)
    14.0
    """
    if not isinstance(lang, str) or lang not in LANGUAGES:   # an array `in` a tuple raised
        raise SymdiffError(f"formula(): unknown language {shown(lang)}; choose one of "
                           f"{', '.join(repr(k) for k in LANGUAGES)}")
    if not isinstance(f, Node):
        f = as_function(f, "sd.formula", context=wrt)
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise SymdiffError(f"formula(): name {name!r} is not a valid identifier")
    order = topological([f])
    leaves = graph_leaves(order)
    single = False
    if wrt is None:
        wrt_list = sorted((n for n in leaves.values() if n.op == "var" or n.requires_grad),
                          key=lambda n: n.name)
    else:   # leaves, matched to f's by name and shape; errors name sd.formula
        wrt_list, single = check_wrt(f, wrt, "sd.formula", leaves=leaves)
    grads = _grad(f, wrt_list, "sd.formula", "wrt", "many")   # checks f is scalar
    names = [w.name for w in wrt_list]
    if len(set(names)) != len(names):
        raise SymdiffError(f"formula(): a variable is listed twice in wrt: {names}")
    others = sorted((n for n in leaves.values() if n.name not in set(names)),
                    key=lambda n: n.name)
    job = _Job(f, name, wrt_list, grads, wrt_list + others, single,
               all(n.shape == () for n in order))
    text = {"sympy": _sympy_text, "latex": _latex_text, "python": _python_text,
            "c": _c_text}.get(lang) or (lambda job: _other_text(job, lang))
    return within(sympy_seconds, f"sd.formula(lang={lang!r}) of d{name}/d("
                  f"{', '.join(w.name for w in wrt_list)})", text, job)


class _Job:
    """What every language needs: the function, its gradients and the code's arguments."""

    def __init__(self, f: Node, name: str, wrt: list, grads: list, args: list, single: bool,
                 scalar: bool):
        self.f, self.name, self.wrt, self.grads = f, name, wrt, grads
        self.args, self.single, self.scalar = args, single, scalar

    def element_count(self) -> int:
        return sum(_element_work(n) for n in topological(self.grads)) if self.grads else 0

    def explicit_forms(self) -> list:
        count = self.element_count()
        if count > MAX_ELEMENTS:
            raise ClosedFormError(
                f"the element-by-element form of d{self.name}/d({', '.join(self._names())}) "
                f"would take about {count} element operations (limit MAX_ELEMENTS = "
                f"{MAX_ELEMENTS}); use a matrix form or smaller arrays")
        return [build(g, explicit=True) for g in self.grads]

    def forms(self) -> list:
        """Closed forms for reading: matrix forms, element forms where none exists."""
        if self.scalar:
            return [build(g) for g in self.grads]
        out = []
        for g in self.grads:
            try:
                out.append(build(g))
            except ClosedFormError:
                if self.element_count() > MAX_ELEMENTS:
                    raise
                out.append(build(g, explicit=True))
        return out

    def _names(self) -> list:
        return [w.name for w in self.wrt]


def _element_work(n: Node) -> int:
    """About how many terms the element form of ``n`` spells out."""
    size = max(n.size, 1)
    if n.is_leaf or PRIMITIVES[n.op].kind == "elementwise" or n.op in _MOVES:
        return size
    if n.op == "matmul":
        return size * max(n.args[0].shape[-1] if n.args[0].shape else 1, 1)
    # reductions, det, inv, ...: every output element may use every input element
    return size * sum(max(a.size, 1) for a in n.args)


# ---------------------------------------------------------------------------
# common subexpressions
# ---------------------------------------------------------------------------

def _free_names(exprs: Sequence[Any]) -> set:
    names: set = set()
    for e in exprs:
        names |= {str(getattr(s, "name", s)) for s in e.free_symbols}
        names |= {str(b.label) for b in e.atoms(sympy.IndexedBase)}
    return names


def _temp_prefix(taken: set) -> str:
    for prefix in _TEMP_PREFIXES:
        pattern = re.compile(re.escape(prefix) + r"\d+")
        if not any(pattern.fullmatch(n) for n in taken):
            return prefix
    prefix = "t"
    while any(re.fullmatch(re.escape(prefix) + r"\d+", n) for n in taken):
        prefix += "_"
    return prefix


def _flatten(forms: Sequence[Any]) -> tuple[list, list]:
    """Element arrays become their elements, so cse sees across every output entry."""
    flat, layout = [], []
    for e in forms:
        if isinstance(e, NDimArray):
            elems = [e[idx] for idx in np.ndindex(*e.shape)]   # row-major, as C wants
            layout.append((len(flat), len(elems), e.shape))
            flat.extend(elems)
        else:
            layout.append((len(flat), None, None))
            flat.append(e)
    return flat, layout


def _unflatten(flat: list, layout: list) -> list:
    out = []
    for start, count, shape in layout:
        out.append(flat[start] if count is None else
                   sympy.ImmutableDenseNDimArray(flat[start:start + count], shape))
    return out


def _cse(forms: Sequence[Any], taken: set) -> tuple[list, list]:
    """``sympy.cse`` with a clash-free prefix; trivial temporaries are put back inline."""
    flat, layout = _flatten(forms)
    prefix = _temp_prefix(taken | _free_names(flat))
    # a Lambda's variable exists only inside it: a temporary using it would escape its scope
    bound = {v for e in flat for lam in e.atoms(sympy.Lambda) for v in lam.variables}
    try:
        reps, reduced = sympy.cse(flat, symbols=sympy.numbered_symbols(prefix),
                                  ignore=tuple(bound), list=True)
    except Exception:  # SymPy's cse refusing an expression kind: print without temporaries
        return [], list(forms)
    # OneMatrix(3, 1) and friends as "t0 = 1" only make a formula harder to read
    inline, kept = {}, []
    for sym, value in reps:
        value = value.xreplace(inline) if inline else value
        if value.is_Atom or isinstance(value, (sympy.OneMatrix, sympy.ZeroMatrix,
                                               sympy.Identity)):
            inline[sym] = value
        else:
            kept.append((sym, value))
    if inline:
        reduced = [e.xreplace(inline) for e in reduced]
    # number the temporaries that remain 0, 1, 2, ... again
    rename = {}
    for k, (sym, _) in enumerate(kept):
        new = f"{prefix}{k}"
        if str(sym) != new:
            rename[sym] = sympy.MatrixSymbol(new, *sym.shape) if isinstance(sym, MatrixExpr) \
                else sympy.Symbol(new)
    if rename:
        kept = [(rename.get(s, s), v.xreplace(rename)) for s, v in kept]
        reduced = [e.xreplace(rename) for e in reduced]
    return kept, _unflatten(reduced, layout)


# ---------------------------------------------------------------------------
# sympy and latex
# ---------------------------------------------------------------------------

def _sympy_text(job: _Job) -> str:
    reps, reduced = _cse(job.forms(), {a.name for a in job.args})
    lines = [f"{s} = {v}" for s, v in reps]
    lines += [f"d{job.name}/d{w.name} = {e}" for w, e in zip(job.wrt, reduced)]
    return "\n".join(lines)


def _latex_text(job: _Job) -> str:
    reps, reduced = _cse(job.forms(), {a.name for a in job.args})
    fname = sympy.latex(sympy.Symbol(job.name))
    lines = [f"{sympy.latex(s)} &= {paper_latex(v)}" for s, v in reps]
    lines += [rf"\frac{{\partial {fname}}}{{\partial {sympy.latex(sympy.Symbol(w.name))}}} "
              f"&= {paper_latex(e)}" for w, e in zip(job.wrt, reduced)]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _other_text(job: _Job, lang: str) -> str:
    """JAX, PyTorch, Julia, Rust, Fortran (``formula_langs``): scalar variables only."""
    arrays = [a.name for a in job.args if a.shape != ()]
    if arrays:
        raise SymdiffError(f"formula(lang={lang!r}) writes functions of scalar variables; "
                           f"{', '.join(arrays)} are arrays: use lang='python' or 'c'")
    args = [a.name for a in job.args]
    reps, reduced = _cse([build(g) for g in job.grads], set(args))
    return TEXTS[lang](Code(job.name, args, [w.name for w in job.wrt], job.single, reps,
                            reduced, short_text(job.f)))


# ---------------------------------------------------------------------------
# python
# ---------------------------------------------------------------------------

def _python_text(job: _Job) -> str:
    if job.scalar:
        return _python_source(job, job.forms(), matrix=False)
    try:   # -- issue 15: size-generic code from the matrix form first
        return _python_generic(job)
    except (ClosedFormError, NotImplementedError, TypeError, ValueError, AttributeError,
            LookupError, GenericUnavailable):
        pass
    try:
        return _python_source(job, [build(g) for g in job.grads], matrix=True)
    except (ClosedFormError, NotImplementedError, TypeError, ValueError, AttributeError):
        # no matrix form, or one the numpy printer cannot print: spell out every element
        return _python_source(job, job.explicit_forms(), matrix=False)


def _python_source(job: _Job, forms: list, matrix: bool) -> str:
    arg_names = [a.name for a in job.args]
    reps, reduced = _cse(forms, set(arg_names))
    p = FormulaNumPyPrinter()
    body = []
    for a in job.args:
        if a.shape == ():
            continue
        conv = f"numpy.asarray({a.name}, dtype=numpy.float64)"
        if matrix and len(a.shape) == 1:
            # matrix closed forms treat a vector of shape (n,) as an (n, 1) column
            conv = f"numpy.reshape({conv}, ({a.shape[0]}, 1))"
        body.append(f"{a.name} = {conv}")
    body += [f"{s} = {p.doprint(v)}" for s, v in reps]
    outs = []
    for w, e in zip(job.wrt, reduced):
        text = p.doprint(e)
        if w.shape == ():
            outs.append(f"float(numpy.reshape({text}, ()))" if matrix else text)
        elif matrix:
            mshape = (w.shape[0], 1) if len(w.shape) == 1 else w.shape
            outs.append(f"numpy.array(numpy.broadcast_to({text}, {mshape}), "
                        f"dtype=numpy.float64).reshape({w.shape})")
        else:
            outs.append(f"numpy.asarray({text}, dtype=numpy.float64)")
    modules = sorted({"numpy"} | {m.split(".")[0] for m in p.module_imports})
    # builtins the printed code calls; sd.var already refuses keywords and "_" names
    clash = sorted(set(arg_names) & (set(modules) | PYTHON_GLOBALS))
    if clash:
        raise SymdiffError(f"formula(lang='python'): variable name(s) {', '.join(clash)} "
                           "would shadow a name the generated code uses; rename them")
    if job.single:
        ret = [f"return {outs[0]}"]
    else:
        ret = ["return ("] + [f"    {o}," for o in outs] + [")"]
    doc = f"d{job.name}/d({', '.join(w.name for w in job.wrt)})"
    lines = [f'"""Gradient of {job.name} = {_safe(short_text(job.f), chr(34) * 3)}, '
             f'generated by symdiff.formula."""']
    lines += [f"import {m}" for m in modules]
    lines += ["", "", f"def grad_{job.name}({', '.join(arg_names)}):",
              f'    """{doc}"""']
    lines += [f"    {line}" for line in body + ret]
    return "\n".join(lines) + "\n"


# -- issue 15: size-generic numpy code (symdiff.derivatives.matrix_code) ---------------
def _python_generic(job: _Job) -> str:
    return python_generic(job, _cse, _safe)


def _safe(text: str, bad: str) -> str:
    """Text for inside a comment or docstring that ``bad`` would end early."""
    return text.replace(bad, " ".join(bad))


# ---------------------------------------------------------------------------
# C
# ---------------------------------------------------------------------------

_FACTORED = ("inv", "det", "logdet", "solve", "logabsdet", "cofactor")
"""Ops whose element form writes a matrix inverse or determinant out entry by entry."""


def _matrix_c(job: _Job) -> bool:
    """Whether C comes from the matrix form: an inverse, determinant or solve in the
    gradients, or an element form past ``MAX_ELEMENTS``."""
    if any(n.op in _FACTORED for n in topological(job.grads)):
        return True
    return job.element_count() > MAX_ELEMENTS


def _c_text(job: _Job) -> str:
    arg_names = [a.name for a in job.args]
    bad = c_name_clashes(arg_names)
    if bad:
        raise SymdiffError(f"formula(lang='c'): name(s) {', '.join(bad)} are not ASCII, "
                           "which C names must be; rename them")
    # names C reserves (pow, int, HUGE_VALF, M_LN2) get a trailing underscore: pow_
    c = c_identifiers(arg_names)
    out_prefix = "d_"
    while any(out_prefix + w.name in arg_names or out_prefix + w.name in c.values()
              for w in job.wrt):
        out_prefix = "d" + out_prefix
    if not job.scalar and _matrix_c(job):   # -- issue 15: C from the matrix form
        try:
            return c_matrix(job, _cse, _safe, c, out_prefix)
        except (MatrixCUnavailable, ClosedFormError, NotImplementedError, TypeError,
                ValueError, AttributeError, LookupError):
            pass
    p = FormulaCPrinter(c)
    forms = [build(g) for g in job.grads] if job.scalar else job.explicit_forms()
    # with a shape, SymPy prints W[i, j] as the row-major offset W[i*ncols + j]
    shaped = {sympy.IndexedBase(a.name): sympy.IndexedBase(a.name, shape=a.shape)
              for a in job.args if a.shape != ()}
    forms = [e.xreplace(shaped) if shaped and hasattr(e, "xreplace") else e for e in forms]
    taken = set(arg_names) | set(c.values()) | {out_prefix + w.name for w in job.wrt}
    reps, reduced = _cse(forms, taken)
    params = [f"double {c[a.name]}" if a.shape == () else f"const double *{c[a.name]}"
              for a in job.args]
    params += [f"double *{out_prefix}{w.name}" for w in job.wrt]
    body = [f"const double {s} = {p.doprint(v)};" for s, v in reps]
    for w, e in zip(job.wrt, reduced):
        out = out_prefix + w.name
        if w.shape == ():
            body.append(f"*{out} = {p.doprint(e)};")
        else:
            for k, elem in enumerate(_flatten([e])[0]):
                body.append(f"{out}[{k}] = {p.doprint(elem)};")
    arrays = [a for a in job.args if a.shape != ()]
    note = ""
    if arrays:
        note = ("\n   Arrays are row-major and flat: "
                + "; ".join(f"{a.name} has shape {a.shape}" for a in arrays) + ".")
    renamed = [f"{k} is {v}" for k, v in c.items() if k != v]
    if renamed:
        note += f"\n   Names C reserves are renamed: {', '.join(renamed)}."
    head = (f"/* Gradient of {job.name} = {_safe(short_text(job.f), '*/')} with respect to "
            f"{', '.join(w.name for w in job.wrt) or 'nothing'}, generated by "
            f"symdiff.formula.{note} */")
    lines = [head, "#include <math.h>", "",
             f"void grad_{job.name}({', '.join(params) or 'void'})", "{"]
    lines += [f"    {line}" for line in body]
    lines.append("}")
    return "\n".join(lines) + "\n"
