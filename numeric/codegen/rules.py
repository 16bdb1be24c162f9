"""The code generator's table: how to emit fast code for each row of the table of primitives.

``numeric.primitives.PRIMITIVES`` says what an op *is* (its numpy forward, VJPs, shape
rule, SymPy formula, domain); this table says only what the generated code needs beyond
that, keyed by the row's name. A row not listed gets ``DEFAULT``: no scalar fast path, and
the conservative buffer plan (its VJPs read ``out`` and the inputs, and write no buffer
they are handed). ``rule_for(row)`` is the one lookup. Imports nothing of
numpy or the table: rows are matched by name.

Columns of a ``CodegenRule``:

scalar   the forward as a Python expression on floats, for the generated scalar fast
         path: a template over ``{x} {y} {z}`` (the inputs in order) and the params, or a
         callable ``(**params) -> template`` (``None`` for params it cannot write, such as
         an infinite exponent). Names it may use: ``math`` and the helpers in
         ``SCALAR_HELPERS``. It must give numpy's value, nan and inf included; where
         ``math`` raises (log(0), exp overflow) the program falls back to numpy.
         ``None``: programs using the row have no scalar fast path.
scalar_vjp  one template per input, as ``scalar``, over ``{g} {out} {x} ...``, mirroring
         the row's numpy ``vjp`` operation for operation (same rounding); ``None`` where
         the row's ``vjp`` entry is ``None``.
vjp_reads_out  False when no VJP of the row reads ``out``: the generated code then frees
         the forward value as soon as the forward sweep is done with it.
vjp_out  True when every VJP takes ``into=``, a float64 buffer of the input's shape that
         the result may be written into (the generated code hands it a dying cotangent or
         a per-thread buffer, sparing a fresh allocation in the backward sweep).
vjp_reads_inputs  False when the VJPs read only the inputs' shapes (sum, reshape, add):
         the generated code then passes a zero-strided stand-in of the right shape, so a
         gradient-only program need not compute, or keep, those inputs.

The claims in the last three columns are checked against the rows' own VJPs by
``tests/numeric/test_codegen.py``; the scalar templates against numpy at edge values.

>>> from numeric import PRIMITIVES
>>> r = rule_for(PRIMITIVES["sin"])
>>> r.scalar, r.scalar_vjp, r.vjp_reads_out
('math.sin({x})', ('{g} * math.cos({x})',), False)
>>> rule_for(PRIMITIVES["inv"]) is DEFAULT
True
>>> pow_scalar(2), pow_scalar_vjp(3)
('{x} * {x}', '{g} * 3.0 * ({x} * {x})')
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class CodegenRule:
    """How the code generator treats one row; see the module docstring for each field."""

    scalar: Any = None
    scalar_vjp: tuple = ()
    vjp_reads_out: bool = True
    vjp_out: bool = False
    vjp_reads_inputs: bool = True


DEFAULT = CodegenRule()
"""The rule of a row ``CODEGEN`` does not list: no scalar form, the conservative plan."""


# ---------------------------------------------------------------------------
# Python-float versions of rows with no one-line ``math`` form: numpy's semantics
# (nan in, nan out). Generated code names them, so their names are part of its text.
# ---------------------------------------------------------------------------

def _sigmoid_f(x: float) -> float:
    e = math.exp(-abs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


def _sign_f(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0 if x == 0 else x


def _heaviside_f(x: float, h0: float) -> float:
    return 1.0 if x > 0 else 0.0 if x < 0 else h0 if x == 0 else x


def _maximum_f(x: float, y: float) -> float:
    return x if (x >= y or x != x) else y


def _minimum_f(x: float, y: float) -> float:
    return x if (x <= y or x != x) else y


SCALAR_HELPERS: dict[str, Any] = {
    "math": math, "_sigmoid_f": _sigmoid_f, "_sign_f": _sign_f,
    "_heaviside_f": _heaviside_f, "_maximum_f": _maximum_f, "_minimum_f": _minimum_f,
}
"""Names the ``scalar`` templates may use, besides Python's operators and ``abs``/``max``."""


# -- issue 14's rows: numpy's logaddexp (npy_logaddexp) step by step, so the bits agree
def _logaddexp_f(x: float, y: float) -> float:
    if x == y:
        return x + 0.6931471805599453   # log(2); also inf + inf
    d = x - y
    if d > 0:
        return x + math.log1p(math.exp(-d))
    if d <= 0:
        return y + math.log1p(math.exp(d))
    return d                            # nan


def _softplus_f(x: float) -> float:
    return _logaddexp_f(0.0, x)


SCALAR_HELPERS.update(_logaddexp_f=_logaddexp_f, _softplus_f=_softplus_f)


# ---------------------------------------------------------------------------
# templates that depend on a row's params
# ---------------------------------------------------------------------------

def pow_scalar(p: float) -> Optional[str]:
    """``x**p`` on floats, mirroring ``numeric.primitives``' ``_pow`` case by case, so the
    fast path rounds as the numpy path does."""
    p = float(p)
    if not math.isfinite(p):
        return None
    if p == 2:
        return "{x} * {x}"
    if p == 3:
        return "{x} * {x} * {x}"
    if p == 1:
        return "{x} + 0.0"
    if p == 0.5:
        return "math.sqrt({x})"
    if p == -1:
        return "1.0 / {x}"
    return f"math.pow({{x}}, {p!r})"


def pow_scalar_vjp(p: float) -> Optional[str]:
    """The VJP of ``x**p`` on floats, mirroring ``_pow_vjp``."""
    p = float(p)
    if not math.isfinite(p):
        return None
    if p == 2:
        return "{g} * 2.0 * {x}"
    if p == 1:
        return "{g}"
    if p == 0:
        return "{g} * 0.0"
    return f"{{g}} * {p!r} * ({pow_scalar(p - 1)})"


def heaviside_scalar(h0: float) -> Optional[str]:
    """The step with value ``h0`` at 0, on floats."""
    return f"_heaviside_f({{x}}, {float(h0)!r})" if math.isfinite(float(h0)) else None


# ---------------------------------------------------------------------------
# the table, in the order of numeric/primitives.py
# ---------------------------------------------------------------------------

_ = CodegenRule  # short, so that each row reads on one line
_NO_OUT = {"vjp_reads_out": False}  # no VJP reads the forward value
_SHAPES_ONLY = {"vjp_reads_out": False, "vjp_reads_inputs": False}  # VJPs read shapes only

CODEGEN: dict[str, CodegenRule] = {
    # -- arithmetic
    "add": _("{x} + {y}", ("{g}", "{g}"), **_SHAPES_ONLY),
    "sub": _("{x} - {y}", ("{g}", "-{g}"), **_SHAPES_ONLY),
    "mul": _("{x} * {y}", ("{g} * {y}", "{g} * {x}"), **_NO_OUT, vjp_out=True),
    "div": _("{x} / {y}", ("{g} / {y}", "-{g} * {out} / {y}")),
    "neg": _("-{x}", ("-{g}",), **_SHAPES_ONLY),
    "pow": _(pow_scalar, (pow_scalar_vjp,), **_NO_OUT),
    "pow_tensor": _("math.pow({x}, {y})",
                    ("{g} * {y} * math.pow({x}, {y} - 1)", "{g} * {out} * math.log({x})")),
    # -- elementwise functions
    "exp": _("math.exp({x})", ("{g} * {out}",), vjp_out=True),
    "log": _("math.log({x})", ("{g} / {x}",), **_NO_OUT),
    "sin": _("math.sin({x})", ("{g} * math.cos({x})",), **_NO_OUT),
    "cos": _("math.cos({x})", ("-{g} * math.sin({x})",), **_NO_OUT),
    "tan": _("math.tan({x})", ("{g} * (1.0 + {out} * {out})",)),
    "tanh": _("math.tanh({x})", ("{g} * (1.0 - {out} * {out})",), vjp_out=True),
    "sigmoid": _("_sigmoid_f({x})", ("{g} * {out} * (1.0 - {out})",), vjp_out=True),
    "relu": _("_maximum_f({x}, 0.0)", ("{g} * ({x} > 0)",), **_NO_OUT, vjp_out=True),
    "sqrt": _("math.sqrt({x})", ("{g} * 0.5 / {out}",)),
    "abs": _("abs({x})", ("{g} * _sign_f({x})",), **_NO_OUT),
    "sign": _("_sign_f({x})", (None,), **_NO_OUT),
    "step": _(heaviside_scalar, (None,), **_NO_OUT),
    "maximum": _("_maximum_f({x}, {y})", ("{g} * (({x} > {y}) + 0.5 * ({x} == {y}))",
                                         "{g} * (({y} > {x}) + 0.5 * ({x} == {y}))"), **_NO_OUT),
    "minimum": _("_minimum_f({x}, {y})", ("{g} * (({x} < {y}) + 0.5 * ({x} == {y}))",
                                         "{g} * (({y} < {x}) + 0.5 * ({x} == {y}))"), **_NO_OUT),
    # -- issue 14: exp/log variants, inverse trig, hyperbolic, erf, softplus, logaddexp,
    #    hypot, clip
    "log1p": _("math.log1p({x})", ("{g} / (1.0 + {x})",), **_NO_OUT),
    "expm1": _("math.expm1({x})", ("{g} * math.exp({x})",), **_NO_OUT),
    "square": _("{x} * {x}", ("{g} * 2.0 * {x}",), **_NO_OUT),
    "reciprocal": _("1.0 / {x}", ("-{g} * ({out} * {out})",)),
    "cbrt": _("math.cbrt({x})", ("{g} / (3.0 * {out} * {out})",)),
    "exp2": _("math.exp2({x})", ("{g} * {out} * 0.6931471805599453",)),
    "log2": _("math.log2({x})", ("{g} / ({x} * 0.6931471805599453)",), **_NO_OUT),
    "log10": _("math.log10({x})", ("{g} / ({x} * 2.302585092994046)",), **_NO_OUT),
    "arcsin": _("math.asin({x})", ("{g} / math.sqrt(1.0 - {x} * {x})",), **_NO_OUT),
    "arccos": _("math.acos({x})", ("-{g} / math.sqrt(1.0 - {x} * {x})",), **_NO_OUT),
    "arctan": _("math.atan({x})", ("{g} / (1.0 + {x} * {x})",), **_NO_OUT),
    "arctan2": _("math.atan2({x}, {y})", ("{g} * {y} / ({x} * {x} + {y} * {y})",
                                          "-{g} * {x} / ({x} * {x} + {y} * {y})"), **_NO_OUT),
    "sinh": _("math.sinh({x})", ("{g} * math.cosh({x})",), **_NO_OUT),
    "cosh": _("math.cosh({x})", ("{g} * math.sinh({x})",), **_NO_OUT),
    "arcsinh": _("math.asinh({x})", ("{g} / math.sqrt({x} * {x} + 1.0)",), **_NO_OUT),
    "arccosh": _("math.acosh({x})", ("{g} / math.sqrt({x} * {x} - 1.0)",), **_NO_OUT),
    "arctanh": _("math.atanh({x})", ("{g} / (1.0 - {x} * {x})",), **_NO_OUT),
    "erf": _("math.erf({x})", ("{g} * 1.1283791670955126 * math.exp(-{x} * {x})",), **_NO_OUT),
    "softplus": _("_softplus_f({x})", ("{g} * _sigmoid_f({x})",), **_NO_OUT),
    "logaddexp": _("_logaddexp_f({x}, {y})", ("{g} * _sigmoid_f({x} - {y})",
                                              "{g} * _sigmoid_f({y} - {x})"), **_NO_OUT),
    "hypot": _("math.hypot({x}, {y})", ("{g} * {x} / {out}", "{g} * {y} / {out}")),
    "clip": _("_minimum_f(_maximum_f({x}, {y}), {z})",
              ("{g} * ({x} >= {y} and {x} <= {z})", "{g} * ({x} < {y} and {y} < {z})",
               "{g} * (not (({x} >= {y} and {x} <= {z}) or ({x} < {y} and {y} < {z})))"),
              **_NO_OUT),
    # -- comparisons and selection
    "greater": _("({x} > {y})", (None, None), **_NO_OUT),
    "greater_equal": _("({x} >= {y})", (None, None), **_NO_OUT),
    "less": _("({x} < {y})", (None, None), **_NO_OUT),
    "less_equal": _("({x} <= {y})", (None, None), **_NO_OUT),
    "where": _("({y} if {x} else {z})", (None, "({g} if {x} else 0.0)", "(0.0 if {x} else {g})"),
               **_NO_OUT),
    # -- reductions (on a 0-d input, the identity)
    "sum": _("{x}", ("{g}",), **_SHAPES_ONLY),
    "mean": _("{x}", ("{g}",), **_SHAPES_ONLY),
    "logsumexp": _("{x}", ("{g} * math.exp({x} - {out})",)),
    "trace": _(**_NO_OUT),
    # -- linear algebra (inv: the default)
    "det": _(**_NO_OUT),
    "logdet": _(**_NO_OUT),
    "cofactor": _(**_NO_OUT),
    # -- structural
    "matmul": _(**_NO_OUT, vjp_out=True),
    "transpose": _("{x}", ("{g}",), **_SHAPES_ONLY),
    "reshape": _("{x}", ("{g}",), **_SHAPES_ONLY),
    "index": _("{x}", ("{g}",), **_SHAPES_ONLY),
    "unindex": _("{x}", ("{g}",), **_SHAPES_ONLY),
    "broadcast_to": _("{x}", ("{g}",), **_SHAPES_ONLY),
    "scatter": _(**_SHAPES_ONLY),
    # -- not in the table: numeric.fuse's fused polynomial, numeric.fusion's fused groups
    "polyval": _(**_NO_OUT, vjp_out=True),
    "fused": _(**_NO_OUT),
    "fused_sum": _(),  # its VJPs read the unit gradients the forward pass left (``out``)
}
"""row name -> how to emit it; every key names a row of the table, ``fuse.POLYVAL`` or a
fused group's row (``numeric.fusion.kernel.fused_row``)."""

del _


def rule_for(row: Any) -> CodegenRule:
    """The codegen rule of a table row (``DEFAULT`` if ``CODEGEN`` does not list it)."""
    return CODEGEN.get(row.name, DEFAULT)
