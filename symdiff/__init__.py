"""symdiff: symbolic-plus-numeric differentiation on one graph.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> f = x**2 + 3
>>> sd.diff(f, x).sympy()
2*x
>>> f.eval(x=7.0), sd.value_and_grad(f, [x])(x=7.0)
(52.0, (52.0, [14.0]))
"""
from symdiff.errors import (ArgumentError, BackwardError, ClosedFormError, ExtraVariableError,
                            MissingVariableError, ParseError, ShapeError, SymdiffError,
                            UnsupportedError, VariableError)
from symdiff.graph.node import Node, const
from symdiff.graph.leaves import manual_seed, randn, tensor, var
from symdiff.graph.ops import (abs, broadcast_to, cos, det, exp, inv, log, logdet, logsumexp, matmul,
                  maximum, mean, minimum, norm, relu, reshape, sigmoid, sign, sin, softmax, sqrt,
                  step, sum, tan, tanh, trace, transpose, where)
# -- reductions and shapes
from symdiff.graph.ops import (concatenate, cumsum, diag, diagonal, expand_dims, flip,  # noqa: A004
                               log_softmax, max, min, moveaxis, pad, prod, repeat, split,
                               squeeze, stack, std, swapaxes, tile, variance)
from symdiff.graph.ops import (arccos, arccosh, arcsin, arcsinh, arctan, arctan2,  # issue 14
                               arctanh, cbrt, clip, cosh, erf, exp2, expm1, hypot, log1p,
                               log2, log10, logaddexp, reciprocal, sinh, softplus, square)
from symdiff.lowering.lower import evaluate, value_and_grad
from symdiff.derivatives.reverse import diff, grad
from symdiff.derivatives.jacobian import hessian, hessian_info, jacobian
from symdiff.derivatives.formula import formula
from symdiff.teaching.analysis import GraphTooLargeError
from symdiff.teaching.dot import GraphvizNotFoundError, RenderError, render, to_dot
from symdiff.teaching.explain import explain
from symdiff.teaching.show import Show, show
from symdiff.checking.verify import VerifyReport, verify
from symdiff.checking.vjp import verify_vjp
from symdiff.checking.code import GradientCodeError
from symdiff.graph.parse import parse
from symdiff.symbolic.sympy_input import from_sympy
from symdiff.graph.trace import TracingError, from_function
from symdiff.graph import dispatch as _dispatch  # noqa: F401  (numpy's functions on Nodes)
from symdiff.graph.numpy_api import supported_numpy
from symdiff.graph.linalg import (cholesky, einsum, inner, outer, slogdet, solve,
                                  tensordot)   # -- p14 linear algebra, contraction
from symdiff.checking.check import check
from symdiff.budget import OutOfMemory, before_first_worker as _before_first_worker


@_before_first_worker
def _warm_up_sympy() -> None:
    """Build what SymPy steps share (the rows' templates, read by symdiff's parser; SymPy's
    printers, imported lazily) before the first budget worker starts: a worker stopped in
    the middle of building them could leave a lock held (symdiff.budget.warm)."""
    import sympy
    from numeric import PRIMITIVES
    from symdiff.symbolic.from_sympy import _function_ops
    from symdiff.symbolic.functions import template
    for name, row in PRIMITIVES.items():
        if row.kind == "elementwise":
            template(name)
    _function_ops()
    x = sympy.Symbol("x", real=True)
    expr = sympy.diff(template("tanh").instantiate([x], {}) * x, x)
    str(expr), sympy.latex(expr), sympy.ccode(expr), sympy.pycode(expr)


def _version() -> str:
    """The version pyproject.toml declares (its one place): read from the checkout's
    pyproject.toml when this package sits in one (an editable install or PYTHONPATH, where
    the installed metadata may be stale), else from the installed distribution's metadata."""
    import re
    from importlib import metadata
    from pathlib import Path
    try:
        text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8")
    except OSError:
        text = ""
    if re.search(r'^name = "symdiff-graph"$', text, re.M):
        found = re.search(r'^version = "([^"]+)"$', text, re.M)
        if found:
            return found.group(1)
    try:
        return metadata.version("symdiff-graph")
    except metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = _version()

__all__ = [
    "SymdiffError", "ParseError", "ShapeError", "VariableError", "MissingVariableError",
    "ExtraVariableError", "ClosedFormError", "BackwardError", "ArgumentError", "OutOfMemory",
    "TracingError", "from_function", "supported_numpy", "UnsupportedError",
    "Node", "var", "tensor", "const", "randn", "manual_seed",
    "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs", "sign",
    "step", "maximum", "minimum", "where", "sum", "mean", "matmul", "transpose", "reshape",
    "broadcast_to", "trace", "det", "logdet", "inv", "norm", "logsumexp", "softmax",
    "evaluate", "value_and_grad", "diff", "grad", "jacobian", "hessian", "hessian_info",
    "formula",
    # -- reductions and shapes
    "max", "min", "prod", "cumsum", "variance", "std", "log_softmax", "concatenate", "stack",
    "split", "expand_dims", "squeeze", "swapaxes", "moveaxis", "flip", "pad", "tile",
    "repeat", "diagonal", "diag",
    "from_sympy",
    "parse", "check", "to_dot", "render", "explain", "show", "Show", "verify", "VerifyReport", "GraphTooLargeError", "RenderError",
    "GraphvizNotFoundError",
    # -- verifying gradient code (issue 14)
    "verify_vjp", "GradientCodeError",
    # -- p14 linear algebra, contraction
    "einsum", "tensordot", "outer", "inner", "solve", "slogdet", "cholesky",
    # -- issue 14: elementwise functions named as numpy's
    "log1p", "expm1", "square", "reciprocal", "cbrt", "exp2", "log2", "log10", "arcsin",
    "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "erf",
    "softplus", "logaddexp", "hypot", "clip",
]
