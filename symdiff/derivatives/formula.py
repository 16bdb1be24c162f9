r"""``sd.formula``: derivative formulas as text, for reading or for compiling.

One function, ``formula(f, wrt, lang, order=1)``, turns the gradient of a scalar ``f``,
the Jacobian of a non-scalar one, its Hessian (``order=2``) or ``f`` itself (``order=0``)
into text in one of nine languages (what is printed: ``symdiff.derivatives.formula_job``):

* ``"sympy"``: SymPy's str printing, ``df/dx = ...`` lines;
* ``"latex"``: one ``aligned`` block, ``\frac{\partial f}{\partial x} = ...`` lines;
* ``"python"``: an importable module (numpy only) defining ``grad_<name>(x, y, ...)``
  (``jac_<name>``, ``hess_<name>``);
* ``"c"``: C99 source (``math.h`` only) defining ``void grad_<name>(...)``;
* ``"jax"``, ``"pytorch"``, ``"julia"``, ``"rust"``, ``"fortran"``: written by
  ``symdiff.derivatives.formula_langs``, arrays in and out in each language's own types.

Common subexpressions become numbered temporaries (``sympy.cse``) whose prefix is chosen
so it cannot clash with the variables' names. Array variables use the matrix closed form
where there is one (``sympy``, ``latex``, ``python``) and otherwise the explicit element
form, which is limited to ``MAX_ELEMENTS`` elements; the languages of ``formula_langs``
always use the element form; C does too, with arrays passed row-major (``W[i, j]`` is
``W[i*ncols + j]``), except for gradients and Hessians holding an inverse, a determinant
or a solve, or past ``MAX_ELEMENTS``, which are written from the matrix form as loops
over buffers (``symdiff.derivatives.matrix_c``). The printing itself is SymPy's
(``NumPyPrinter``, ``C99CodePrinter``, ``latex``); the printers of
``symdiff.derivatives.printers`` only add symdiff's own functions and the few matrix
expressions SymPy's numpy printer lacks. This module holds the job: which forms, their
common subexpressions, and the text around them.

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

from symdiff.derivatives.matrix_c import MatrixCUnavailable, c_layout_note, c_matrix
from symdiff.derivatives.matrix_code import GenericUnavailable, python_generic
from symdiff.derivatives.printers import (PYTHON_GLOBALS, FormulaCPrinter, FormulaNumPyPrinter,
                                          c_identifiers, c_name_clashes)
from symdiff.derivatives.array_code import TARGETS
from symdiff.derivatives.c_names import c_reserved
from symdiff.derivatives.formula_job import MAX_ELEMENTS, Job, blocks_of, make_job  # noqa: F401
from symdiff.derivatives.formula_langs import LANGS, TEXTS, Code
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

_TEMP_PREFIXES = ("t", "tmp", "cse", "aux", "tt")


def formula(f: Node, wrt: Union[Node, Sequence[Node], None] = None, lang: str = "sympy",
            name: str = "f", *, order: int = 1, sympy_seconds: Optional[float] = None) -> str:
    r"""The derivative formula(s) of ``f`` as text in ``lang``: gradient, Jacobian or Hessian.

    ``wrt`` is one variable, a list of them, or None for every variable of ``f`` (and
    tensors with ``requires_grad``), sorted by name. ``lang`` is one of ``LANGUAGES``;
    ``name`` names ``f`` in the text (``df/dx``, ``grad_f``). ``order`` chooses what is
    printed (``symdiff.derivatives.formula_job``):

    * ``1`` (default): the gradient of a scalar ``f`` (one array of ``x.shape`` per
      variable, function ``grad_<name>``), or for a non-scalar ``f`` its Jacobian (one
      array of shape ``f.shape + x.shape`` per variable, ``J[i, j] = df[i]/dx[j]`` as
      ``sd.jacobian`` lays it out; function ``jac_<name>``);
    * ``2``: the Hessian of a scalar ``f`` (``hess_<name>``): for one variable an array of
      shape ``x.shape + x.shape``, for a list of k variables the k x k blocks ``H[i][j]``
      of shape ``x_i.shape + x_j.shape``, as ``sd.hessian`` lays them out;
    * ``0``: ``f`` itself, as a function named ``name``: ``sd.formula(sd.hessian(f, x),
      order=0, lang="c")`` prints a Hessian graph as it stands.

    The generated Python function takes ``wrt``'s variables in order, then any other leaves
    of ``f`` sorted by name, and returns one array for a single ``wrt`` Node, a tuple for
    a list (for Hessian blocks, a tuple of k tuples). The C function takes the same inputs
    (``double`` scalars, ``const double *`` row-major arrays), then one output pointer per
    array (``d_<var>``; ``d2_<var>`` or ``d2_<var>_<var>`` for Hessians; ``out_<name>``
    for ``order=0``). JAX, PyTorch, Julia, Rust and Fortran take and return their own
    arrays (``symdiff.derivatives.formula_langs``).

    The SymPy work (closed forms, common subexpressions, printing) runs within
    ``sympy_seconds`` (None: ``symdiff.budget.SYMPY_SECONDS``, 10 s).

    Raises ``ShapeError`` for a non-scalar ``f`` with ``order=2``, ``ClosedFormError`` when
    an array has no form this language can print within ``MAX_ELEMENTS``, when SymPy
    needs longer than ``sympy_seconds`` or fails, and ``SymdiffError`` for an unknown
    ``lang`` or ``order`` or a name the generated code cannot use.

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
    >>> y = sd.var("y")
    >>> print(formula(x**2 * y, [x, y], order=2))
    t0 = 2*x
    d2f/dx2 = 2*y
    d2f/dxdy = t0
    d2f/dydx = t0
    d2f/dy2 = 0
    >>> v = sd.var("v", (2,))
    >>> exec(formula(sd.sum(v**3), v, lang="python", order=2), namespace)
    >>> namespace["hess_f"]([1.0, 2.0]).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    if not isinstance(lang, str) or lang not in LANGUAGES:   # an array `in` a tuple raised
        raise SymdiffError(f"formula(): unknown language {shown(lang)}; choose one of "
                           f"{', '.join(repr(k) for k in LANGUAGES)}")
    if not isinstance(f, Node):
        f = as_function(f, "sd.formula", context=wrt)
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise SymdiffError(f"formula(): name {name!r} is not a valid identifier")
    order_nodes = topological([f])
    leaves = graph_leaves(order_nodes)
    single = False
    if wrt is None:
        pick = (lambda n: True) if order == 0 else (lambda n: n.op == "var" or n.requires_grad)
        wrt_list = sorted((n for n in leaves.values() if pick(n)), key=lambda n: n.name)
    else:   # leaves, matched to f's by name and shape; errors name sd.formula
        wrt_list, single = check_wrt(f, wrt, "sd.formula", leaves=leaves)
    taken = {w.name for w in wrt_list}
    others = sorted((n for n in leaves.values() if n.name not in taken), key=lambda n: n.name)
    if order == 0 and (name in _FUNCTION_CLASHES or c_reserved(name)):
        raise SymdiffError(f"formula(order=0): name {name!r} is the generated function's "
                           "name and would hide a name the code uses; choose another")
    job = make_job(f, wrt_list, single, order, name, others)
    text = {"sympy": _sympy_text, "latex": _latex_text, "python": _python_text,
            "c": _c_text}.get(lang) or (lambda job: _other_text(job, lang))
    shown_order = "" if order == 1 else f", order={order}"
    return within(sympy_seconds, f"sd.formula(lang={lang!r}{shown_order}) of {job.about()}",
                  text, job)


# a function of one of these names (order=0) would hide a module or builtin the code calls
_FUNCTION_CLASHES = frozenset({"numpy", "math", "torch", "jax", "float", "abs"})


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

def _sympy_text(job: Job) -> str:
    reps, reduced = _cse(job.forms(), {a.name for a in job.args})
    lines = [f"{s} = {v}" for s, v in reps]
    lines += [f"{o.label} = {e}" for o, e in zip(job.outs, reduced)]
    return "\n".join(lines)


def _latex_text(job: Job) -> str:
    reps, reduced = _cse(job.forms(), {a.name for a in job.args})
    lines = [f"{sympy.latex(s)} &= {paper_latex(v)}" for s, v in reps]
    lines += [f"{o.latex} &= {paper_latex(e)}" for o, e in zip(job.outs, reduced)]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _other_text(job: Job, lang: str) -> str:
    """JAX, PyTorch, Julia, Rust, Fortran (``formula_langs``): element forms; JAX and
    PyTorch first try size-generic code from the matrix form (``array_code``)."""
    if lang in TARGETS and not job.scalar:
        try:
            return python_generic(job, _cse, _safe, python_return, TARGETS[lang])
        except _NO_GENERIC:
            pass
    args = [a.name for a in job.args]
    forms = [build(g) for g in job.grads] if job.scalar else job.explicit_forms()
    outputs = output_names(job, set(args))
    reps, reduced = _cse(forms, set(args) | set(outputs))
    return TEXTS[lang](Code(job.function, args, outputs, job.layout, reps,
                            reduced, short_text(job.f), job.what,
                            [a.shape for a in job.args], [o.shape for o in job.outs]))


# ---------------------------------------------------------------------------
# python
# ---------------------------------------------------------------------------

def _python_text(job: Job) -> str:
    if job.scalar:
        return _python_source(job, job.forms(), matrix=False)
    try:   # -- issue 15: size-generic code from the matrix form first
        return _python_generic(job)
    except _NO_GENERIC:
        pass
    try:
        return _python_source(job, [build(g) for g in job.grads], matrix=True)
    except (ClosedFormError, NotImplementedError, TypeError, ValueError, AttributeError):
        # no matrix form, or one the numpy printer cannot print: spell out every element
        return _python_source(job, job.explicit_forms(), matrix=False)


def python_return(job: Job, outs: list) -> list:
    """The ``return`` lines of generated Python: one value, a tuple, or tuples of blocks."""
    grouped = blocks_of(outs, job)
    if job.layout == "single":
        return [f"return {grouped[0]}"]
    if job.layout == "tuple":
        return ["return ("] + [f"    {o}," for o in grouped] + [")"]
    return ["return ("] + [f"    ({', '.join(row)},)," for row in grouped] + [")"]


def _python_source(job: Job, forms: list, matrix: bool) -> str:
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
    for o, e in zip(job.outs, reduced):
        text = p.doprint(e)
        if o.shape == ():
            outs.append(f"float(numpy.reshape({text}, ()))" if matrix else text)
        elif matrix:
            mshape = (o.shape[0], 1) if len(o.shape) == 1 else o.shape
            outs.append(f"numpy.array(numpy.broadcast_to({text}, {mshape}), "
                        f"dtype=numpy.float64).reshape({o.shape})")
        else:
            outs.append(f"numpy.asarray({text}, dtype=numpy.float64)")
    modules = sorted({"numpy"} | {m.split(".")[0] for m in p.module_imports})
    # builtins the printed code calls; sd.var already refuses keywords and "_" names
    clash = sorted(set(arg_names) & (set(modules) | PYTHON_GLOBALS))
    if clash:
        raise SymdiffError(f"formula(lang='python'): variable name(s) {', '.join(clash)} "
                           "would shadow a name the generated code uses; rename them")
    lines = [f'"""{job.what} of {job.name} = {_safe(short_text(job.f), chr(34) * 3)}, '
             f'generated by symdiff.formula."""']
    lines += [f"import {m}" for m in modules]
    lines += ["", "", f"def {job.function}({', '.join(arg_names)}):",
              f'    """{job.about()}"""']
    lines += [f"    {line}" for line in body + python_return(job, outs)]
    return "\n".join(lines) + "\n"


# -- issue 15: size-generic numpy code (symdiff.derivatives.matrix_code) ---------------
# what stops generic code: no matrix form, one a printer cannot print, a size no argument has
_NO_GENERIC = (ClosedFormError, NotImplementedError, TypeError, ValueError, AttributeError,
               LookupError, GenericUnavailable)


def _python_generic(job: Job) -> str:
    return python_generic(job, _cse, _safe, python_return)


def _safe(text: str, bad: str) -> str:
    """Text for inside a comment or docstring that ``bad`` would end early."""
    return text.replace(bad, " ".join(bad))


# ---------------------------------------------------------------------------
# C
# ---------------------------------------------------------------------------

def output_names(job: Job, taken: set) -> list:
    """The output arguments' names (``d_x``, ``d2_x_y``, ``out_f``), with more ``d``s in
    front until none is an argument's (or another name in ``taken``)."""
    prefix = ""
    while any(prefix + o.out in taken for o in job.outs):
        prefix += "d"
    return [prefix + o.out for o in job.outs]


_FACTORED = ("inv", "det", "logdet", "solve", "logabsdet", "cofactor")
"""Ops whose element form writes a matrix inverse or determinant out entry by entry."""


def _matrix_c(job: Job) -> bool:
    """Whether C comes from the matrix form: an inverse, determinant or solve in what is
    printed, or an element form past ``MAX_ELEMENTS``."""
    if any(n.op in _FACTORED for n in topological(job.grads)):
        return True
    return job.element_count() > MAX_ELEMENTS


def _c_text(job: Job) -> str:
    arg_names = [a.name for a in job.args]
    bad = c_name_clashes(arg_names + [job.function])
    if bad:
        raise SymdiffError(f"formula(lang='c'): name(s) {', '.join(bad)} are not ASCII, "
                           "which C names must be; rename them")
    # names C reserves (pow, int, HUGE_VALF, M_LN2) get a trailing underscore: pow_
    c = c_identifiers(arg_names)
    if not job.scalar and _matrix_c(job):   # -- issue 15: C from the matrix form
        try:
            return c_matrix(job, _cse, _safe, c,
                            output_names(job, set(arg_names) | set(c.values())))
        except (MatrixCUnavailable, ClosedFormError, NotImplementedError, TypeError,
                ValueError, AttributeError, LookupError):
            pass
    p = FormulaCPrinter(c)
    forms = [build(g) for g in job.grads] if job.scalar else job.explicit_forms()
    # with a shape, SymPy prints W[i, j] as the row-major offset W[i*ncols + j]
    shaped = {sympy.IndexedBase(a.name): sympy.IndexedBase(a.name, shape=a.shape)
              for a in job.args if a.shape != ()}
    forms = [e.xreplace(shaped) if shaped and hasattr(e, "xreplace") else e for e in forms]
    outs = output_names(job, set(arg_names) | set(c.values()))
    taken = set(arg_names) | set(c.values()) | set(outs)
    reps, reduced = _cse(forms, taken)
    params = [f"double {c[a.name]}" if a.shape == () else f"const double *{c[a.name]}"
              for a in job.args]
    params += [f"double *{out}" for out in outs]
    body = [f"const double {s} = {p.doprint(v)};" for s, v in reps]
    for o, out, e in zip(job.outs, outs, reduced):
        if o.shape == ():
            body.append(f"*{out} = {p.doprint(e)};")
        else:
            for k, elem in enumerate(_flatten([e])[0]):
                body.append(f"{out}[{k}] = {p.doprint(elem)};")
    note = c_layout_note(job, outs, c)
    wrt = f" with respect to {', '.join(w.name for w in job.wrt) or 'nothing'}" \
        if job.order else ""
    head = (f"/* {job.what} of {job.name} = {_safe(short_text(job.f), '*/')}{wrt}, "
            f"generated by symdiff.formula.{note} */")
    lines = [head, "#include <math.h>", "",
             f"void {job.function}({', '.join(params) or 'void'})", "{"]
    lines += [f"    {line}" for line in body]
    lines.append("}")
    return "\n".join(lines) + "\n"
