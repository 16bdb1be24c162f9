"""What ``sd.formula`` prints: the derivative arrays of one call, as a ``Job``.

``order`` chooses them:

* ``order=1`` (the default): the gradient of a scalar ``f``, one array of ``x.shape`` per
  variable; for a non-scalar ``f`` its Jacobian, one array of shape ``f.shape + x.shape``
  per variable (``J[i..., j...] = d f[i...] / d x[j...]``, as ``sd.jacobian`` lays it out);
* ``order=2``: the Hessian of a scalar ``f``: for one variable one array of shape
  ``x.shape + x.shape`` (``sd.hessian(f, x)``), for a list of k variables the k x k blocks
  ``H[i][j]`` of shape ``x_i.shape + x_j.shape``;
* ``order=0``: ``f`` itself (of any shape), so that a derivative graph made by
  ``sd.jacobian`` or ``sd.hessian`` prints as it stands.

Each array is an ``Out``: its graph, its shape, its name in the text (``df/dx``,
``d2f/dxdy``) and the base name of its output argument in C, Rust and Fortran (``d_x``,
``d2_x_y``). ``Job.explicit_forms`` is the element form, limited to ``MAX_ELEMENTS``.

May import: numpy, sympy, ``numeric``, ``symdiff.errors``, ``symdiff.graph``,
``symdiff.lowering``, ``symdiff.symbolic`` and ``symdiff.derivatives``.

>>> import symdiff as sd
>>> x = sd.var("x", (2,))
>>> job = make_job(sd.sin(x), [x], False, 1, "f")
>>> [(o.label, o.shape, o.out) for o in job.outs], job.function
([('df/dx', (2, 2), 'd_x')], 'jac_f')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import sympy

from numeric import PRIMITIVES

from symdiff.derivatives.jacobian import hessian, jacobian
from symdiff.derivatives.reverse import _grad
from symdiff.errors import ClosedFormError, ShapeError, SymdiffError
from symdiff.graph.node import Node
from symdiff.graph.walks import topological
from symdiff.symbolic.closed_form import build

MAX_ELEMENTS = 2000
"""Largest explicit element form, in element operations: summed over the derivative
graphs' nodes, an elementwise op counts its elements, ``A @ B`` its elements times the
inner dimension, reductions and matrix functions their elements times their inputs'
elements. The element form is always the form for C, JAX, PyTorch, Julia, Rust and
Fortran with arrays; for the other languages it is used only where no matrix form exists
or prints."""

ORDERS = (0, 1, 2)
"""The values ``formula``'s ``order`` accepts."""

_MOVES = ("transpose", "reshape", "index", "unindex", "broadcast_to")   # elements only move
_WHAT = {0: "Value", 1: "Gradient", 2: "Hessian"}
_PREFIX = {1: "grad_", 2: "hess_"}


@dataclass
class Out:
    """One printed array: ``label`` (``df/dx``), ``latex`` (its LaTeX), ``node``, ``shape``,
    and ``out``, the base name of its output argument in C, Rust and Fortran."""
    label: str
    latex: str
    node: Node
    shape: tuple
    out: str


@dataclass
class Job:
    """Everything a language needs: ``outs`` in order; ``layout`` says how the generated
    function returns them: ``"single"`` (one array), ``"tuple"`` (one per variable) or
    ``"blocks"`` (a tuple of k tuples of k Hessian blocks)."""
    f: Node
    name: str
    order: int
    wrt: list
    args: list
    outs: list
    layout: str
    scalar: bool
    what: str
    function: str

    @property
    def grads(self) -> list:
        return [o.node for o in self.outs]

    @property
    def single(self) -> bool:
        return self.layout == "single"

    def about(self) -> str:
        """``d(f)/d(x, y)``-style words for docstrings and error messages."""
        if self.order == 0:
            return self.name
        if self.order == 2 and len(self.wrt) == 1:
            return f"d2{self.name}/d{self.wrt[0].name}2"
        return f"d{'2' if self.order == 2 else ''}{self.name}/d({', '.join(self._names())})"

    def element_count(self) -> int:
        return sum(_element_work(n) for n in topological(self.grads)) if self.grads else 0

    def explicit_forms(self) -> list:
        count = self.element_count()
        if count > MAX_ELEMENTS:
            raise ClosedFormError(
                f"the element-by-element form of {self.about()} would take about {count} "
                f"element operations (limit MAX_ELEMENTS = {MAX_ELEMENTS}); use a matrix "
                "form, lang='python', or smaller arrays")
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


def make_job(f: Node, wrt: list, single: bool, order: Any, name: str,
             others: Optional[list] = None) -> Job:
    """The ``Job`` of ``sd.formula(f, wrt, order=order, name=name)``: ``wrt`` already
    matched to ``f``'s leaves (a list; ``single`` when one Node was given); ``others``
    the other arguments of the generated code (sorted by name)."""
    if isinstance(order, bool) or order not in ORDERS:
        raise SymdiffError(f"formula(): order must be 0 (f itself), 1 (gradient or "
                           f"Jacobian) or 2 (Hessian), not {order!r}")
    names = [w.name for w in wrt]
    if len(set(names)) != len(names):
        raise SymdiffError(f"formula(): a variable is listed twice in wrt: {names}")
    args = list(wrt) + list(others or [])
    if order == 0:
        outs = [Out(name, name, f, f.shape, "out_" + name)]
        layout, what = "single", "Value"
    elif order == 1:
        if f.shape == ():
            nodes = _grad(f, wrt, "sd.formula", "wrt", "many")
            what = "Gradient"
        else:
            nodes = [jacobian(f, w) for w in wrt]
            what = "Jacobian"
        outs = [Out(f"d{name}/d{w.name}", _latex_d(name, [w.name]), g, g.shape, "d_" + w.name)
                for w, g in zip(wrt, nodes)]
        layout = "single" if single else "tuple"
    else:
        if f.shape != ():
            raise ShapeError(f"sd.formula(order=2): f has shape {f.shape}; a Hessian needs a "
                             "scalar f (the second derivatives of a vector f are "
                             "sd.formula(sd.jacobian(f, x), x), the Jacobian of its Jacobian)")
        what = "Hessian"
        if single:
            H = hessian(f, wrt[0], sparse=False)   # the dense sweep keeps a matrix form
            w = wrt[0].name
            outs = [Out(f"d2{name}/d{w}2", _latex_d(name, [w, w]), H, H.shape, "d2_" + w)]
            layout = "single"
        else:
            blocks = hessian(f, wrt)
            outs = [Out(f"d2{name}/d{a.name}2" if i == j else f"d2{name}/d{a.name}d{b.name}",
                        _latex_d(name, [a.name, b.name]),
                        blocks[i][j], blocks[i][j].shape, f"d2_{a.name}_{b.name}")
                    for i, a in enumerate(wrt) for j, b in enumerate(wrt)]
            layout = "blocks"
    scalar = all(n.shape == () for n in topological([f] + [o.node for o in outs]))
    function = name if order == 0 else \
        ("jac_" if what == "Jacobian" else _PREFIX[order]) + name
    return Job(f, name, order, list(wrt), args, outs, layout, scalar, what, function)


def _latex_d(name: str, wrt: list) -> str:
    fname = sympy.latex(sympy.Symbol(name))
    ws = [sympy.latex(sympy.Symbol(w)) for w in wrt]
    if len(ws) == 1:
        return rf"\frac{{\partial {fname}}}{{\partial {ws[0]}}}"
    if ws[0] == ws[1]:
        return rf"\frac{{\partial^{{2}} {fname}}}{{\partial {ws[0]}^{{2}}}}"
    return rf"\frac{{\partial^{{2}} {fname}}}{{\partial {ws[0]} \partial {ws[1]}}}"


def blocks_of(items: list, job: Job) -> list:
    """``items`` (one per ``Out``) grouped as the generated function returns them: one
    item, a list, or k lists of k (Hessian blocks)."""
    if job.layout == "single":
        return items
    if job.layout == "blocks":
        k = len(job.wrt)
        return [items[i * k:(i + 1) * k] for i in range(k)]
    return items
