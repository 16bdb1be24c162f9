"""The printers behind ``sd.formula``'s Python and C: SymPy's, plus symdiff's functions.

``FormulaNumPyPrinter`` and ``FormulaCPrinter`` are SymPy's ``NumPyPrinter`` and
``C99CodePrinter`` taught symdiff's own functions (``relu``, ``sigmoid``, ``Heaviside``
with its value at 0) and the few matrix expressions SymPy's numpy printer lacks; a
function a printer does not know is printed through its rewrite rules
(``RewritingPrinter``). ``FormulaCPrinter`` prints each variable under its C name
(``symdiff.derivatives.c_names``: ``pow`` becomes ``pow_``); ``c_name_clashes`` says which
names C cannot spell at all (not ASCII). ``PYTHON_GLOBALS`` are the names generated Python
uses besides its arguments, which a variable may not shadow (``ValueError``: the size-generic
code refuses a size its formula does not hold for).

May import: sympy, ``symdiff.derivatives.c_names``.

>>> import sympy
>>> from symdiff.symbolic.functions import relu
>>> FormulaCPrinter().doprint(relu(sympy.Symbol("x")))
'fmax(0, x)'
>>> FormulaCPrinter({"pow": "pow_"}).doprint(sympy.Symbol("pow") ** 3)
'pow(pow_, 3)'
>>> c_name_clashes(["x", "double", "θ"])
['θ']
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

import sympy
from sympy.printing.c import C99CodePrinter, get_math_macros
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import NumPyPrinter

from symdiff.derivatives.c_names import C_KEYWORDS, c_identifiers, c_reserved  # noqa: F401

PYTHON_GLOBALS = frozenset({"float", "abs", "ValueError"})
"""Builtins generated Python calls (besides the modules it imports): a variable of one of
these names would shadow it. ``tests/reliability/test_generated_names.py`` reads every name the
generated code of each op's derivative uses, to keep this list whole."""


def _rewritten(expr: Any) -> Optional[Any]:
    """``expr`` in terms of SymPy built-ins via its own rewrite rules (``relu -> Max``,
    ``sigmoid -> exp``), or None; lets printers handle functions they do not know."""
    cls = type(expr)
    for attr in dir(cls):
        if not attr.startswith("_eval_rewrite_as_"):
            continue
        try:
            out = expr.rewrite(attr[len("_eval_rewrite_as_"):])
        except Exception:
            continue
        if out != expr and not out.has(cls):
            return out
    return None


def _h0(expr: Any) -> Any:
    """Heaviside's value at 0 (SymPy's default is 1/2), as a float when it is a number."""
    h0 = expr.args[1] if len(expr.args) > 1 else sympy.S.Half
    return sympy.Float(h0) if h0.is_Number else h0


class RewritingPrinter:
    """Mixin: a function the printer does not know is printed through its rewrite rules."""

    def _print_Function(self, expr: Any, **kwargs: Any) -> str:
        try:
            return super()._print_Function(expr, **kwargs)
        except PrintMethodNotImplementedError:
            out = _rewritten(expr)
            if out is None:
                raise
            return self._print(out)


class FormulaNumPyPrinter(RewritingPrinter, NumPyPrinter):
    """SymPy's numpy printer plus symdiff's functions and a few matrix expressions."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "strict": True})

    def _print_Heaviside(self, expr: Any) -> str:
        return (f"{self._module_format('numpy.heaviside')}({self._print(expr.args[0])}, "
                f"{self._print(_h0(expr))})")

    def _print_relu(self, expr: Any) -> str:
        return f"{self._module_format('numpy.maximum')}({self._print(expr.args[0])}, 0.0)"

    def _print_sigmoid(self, expr: Any) -> str:
        # exp(-log(1 + exp(-x))) = 1/(1 + exp(-x)), without overflow for very negative x
        return (f"{self._module_format('numpy.exp')}(-{self._module_format('numpy.logaddexp')}"
                f"(0, -({self._print(expr.args[0])})))")

    # -- issue 14: symdiff's functions under numpy's names; erf (numpy has none) as
    #    math.erf entry by entry, so arrays work too
    def _print_cbrt(self, expr: Any) -> str:
        return f"{self._module_format('numpy.cbrt')}({self._print(expr.args[0])})"

    def _print_softplus(self, expr: Any) -> str:
        return f"{self._module_format('numpy.logaddexp')}(0, {self._print(expr.args[0])})"

    def _print_logaddexp(self, expr: Any) -> str:
        x, y = (self._print(a) for a in expr.args)
        return f"{self._module_format('numpy.logaddexp')}({x}, {y})"

    def _print_clip(self, expr: Any) -> str:
        x, lo, hi = (self._print(a) for a in expr.args)
        return f"{self._module_format('numpy.clip')}({x}, {lo}, {hi})"

    def _print_erf(self, expr: Any) -> str:
        return (f"{self._module_format('numpy.vectorize')}({self._module_format('math.erf')}, "
                f"otypes=[float])({self._print(expr.args[0])})")

    def _print_HadamardPower(self, expr: Any) -> str:
        return (f"{self._module_format('numpy.power')}({self._print(expr.base)}, "
                f"{self._print(expr.exp)})")

    def _print_ElementwiseApplyFunction(self, expr: Any) -> str:
        fn = expr.function
        if isinstance(fn, sympy.Lambda):
            (var,), body = fn.variables, fn.expr
        else:
            var = sympy.Dummy()
            body = fn(var)
        # user variables never start with "_" (sd.var refuses it): no shadowing possible
        arg = sympy.Symbol("_u")
        return f"(lambda _u: {self._print(body.xreplace({var: arg}))})({self._print(expr.expr)})"

    def _print_NDimArray(self, expr: Any) -> str:
        # SymPy 1.13's own fails on arrays of rank 3 and more (fixed in 1.14)
        if expr.rank() == 0:
            return f"{self._module_format('numpy.array')}({self._print(expr[()])})"
        if 0 in expr.shape:
            return f"{self._module_format('numpy.zeros')}({self._print(expr.shape)})"
        return f"{self._module_format('numpy.array')}({self._print(expr.tolist())})"

    def _print_Trace(self, expr: Any) -> str:
        return f"{self._module_format('numpy.trace')}({self._print(expr.arg)})"

    def _print_Determinant(self, expr: Any) -> str:
        return f"{self._module_format('numpy.linalg.det')}({self._print(expr.arg)})"

    # -- reductions and shapes: diag(A) is a column, diag(v) a matrix
    def _print_DiagonalOf(self, expr: Any) -> str:
        return (f"{self._module_format('numpy.diagonal')}({self._print(expr.arg)})"
                ".reshape(-1, 1)")

    def _print_DiagMatrix(self, expr: Any) -> str:
        return (f"{self._module_format('numpy.diag')}("
                f"{self._module_format('numpy.ravel')}({self._print(expr.args[0])}))")


def _literal_macros() -> dict:
    """SymPy's math.h macros (pi, log(2), 1/sqrt(2) ...) mapped to double literals."""
    out = {}
    for k in get_math_macros():
        v = sympy.N(k, 20)
        if v.is_Float:   # codegen's own log2(E) does not evaluate; the rest do
            out[k] = repr(float(v))
    return out


_LITERAL_MACROS = _literal_macros()


class FormulaCPrinter(RewritingPrinter, C99CodePrinter):
    """SymPy's C99 printer plus Heaviside; relu and sigmoid print through rewrites.
    ``names`` maps variable names to their C names (``c_names.c_identifiers``); a
    reserved name not in it still gets SymPy's trailing underscore."""

    def __init__(self, names: Optional[Mapping[str, str]] = None) -> None:
        # constants such as log(2) and pi as double literals: SymPy's M_LN2 and M_PI are
        # not C99 (gcc -std=c99 hides them), and log2/log10/exp2 rows put log(2) in forms
        super().__init__({"strict": True, "math_macros": _LITERAL_MACROS})
        self._c_names = dict(names or {})

    def _print_Symbol(self, expr: Any) -> str:
        name = self._c_names.get(expr.name)
        if name is not None:
            return name
        if c_reserved(expr.name):
            return c_identifiers([expr.name])[expr.name]
        return super()._print_Symbol(expr)

    def _print_Heaviside(self, expr: Any) -> str:
        x, h0 = self._print(expr.args[0]), _h0(expr)
        if h0 == 0:
            return f"(({x}) > 0 ? 1.0 : 0.0)"
        if h0 == 1:
            return f"(({x}) >= 0 ? 1.0 : 0.0)"
        return f"(({x}) > 0 ? 1.0 : (({x}) < 0 ? 0.0 : {self._print(h0)}))"


    # -- issue 14: the real cube root is C's; softplus and logaddexp without overflow
    def _print_cbrt(self, expr: Any) -> str:
        return f"cbrt({self._print(expr.args[0])})"

    def _print_softplus(self, expr: Any) -> str:
        x = self._print(expr.args[0])
        return f"(fmax({x}, 0) + log1p(exp(-fabs({x}))))"

    def _print_logaddexp(self, expr: Any) -> str:
        x, y = (self._print(a) for a in expr.args)
        return f"(fmax({x}, {y}) + log1p(exp(-fabs(({x}) - ({y})))))"


def c_name_clashes(names: Iterable[str]) -> list[str]:
    """The ``names`` generated C cannot spell (not ASCII), in the order given. Names C
    reserves (keywords, ``math.h`` and ``stdlib.h`` names) are not clashes: they are
    printed under ``c_identifiers``'s names.

    >>> c_name_clashes(["W", "fabs", "int", "α"])
    ['α']
    """
    return [n for n in names if not n.isascii()]
