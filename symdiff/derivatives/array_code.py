"""Size-generic JAX and PyTorch code from the matrix form, as ``matrix_code`` writes numpy.

``sd.formula(f, wrt, lang="jax" | "pytorch")`` of array variables prints the matrix form
where there is one (``A.T @ (A @ x - y)``, ``jax.numpy.linalg.solve``), for arrays of any
size, and falls back to the element form (``formula_langs``) otherwise. The printers are
``matrix_code.GenericPrinter`` with every ``numpy.`` name spelled in the target library:
``jax.numpy`` mirrors numpy's names (erf comes from ``jax.scipy.special``); for torch,
the few names that differ are mapped, every constant array is made in the arguments'
dtype (``_dtype``: torch does not promote dtypes in ``@``), and a function whose torch
form takes only tensors (``maximum``, ``heaviside``) gets its number wrapped.

May import: sympy, ``symdiff.errors``, ``symdiff.derivatives.printers``,
``symdiff.derivatives.matrix_code``.

>>> import sympy
>>> S, B = sympy.MatrixSymbol("S", 3, 3), sympy.MatrixSymbol("B", 3, 2)
>>> from symdiff.derivatives.matrix_code import solves
>>> JaxGenericPrinter({3: "jax.numpy.shape(S)[0]"}).doprint(solves(S.inverse() * B))
'jax.numpy.linalg.solve(S, B)'
>>> TorchGenericPrinter({3: "S.shape[0]"}).doprint(sympy.Identity(3) + S)
'torch.eye(S.shape[0], dtype=_dtype) + S'
"""
from __future__ import annotations

from typing import Any, Mapping

from symdiff.derivatives.matrix_code import GenericPrinter, Target
from symdiff.derivatives.printers import _h0


class JaxGenericPrinter(GenericPrinter):
    """``GenericPrinter`` spelling ``numpy.*`` as ``jax.numpy.*``."""

    def _module_format(self, fqn: str, register: bool = True) -> str:
        if fqn.startswith("numpy."):
            fqn = "jax." + fqn
        return super()._module_format(fqn, register)

    def _print_erf(self, expr: Any) -> str:
        return f"{self._module_format('jax.scipy.special.erf')}({self._print(expr.args[0])})"


_TORCH_NAMES = {"numpy.power": "torch.pow", "numpy.amax": "torch.amax",
                "numpy.amin": "torch.amin", "numpy.linalg.det": "torch.linalg.det",
                "numpy.linalg.inv": "torch.linalg.inv", "numpy.linalg.solve": "torch.linalg.solve"}
# numpy functions with no torch function of the same meaning: the code falls back to elements
_NO_TORCH = {"numpy.select", "numpy.vectorize", "numpy.piecewise", "numpy.array"}


class TorchGenericPrinter(GenericPrinter):
    """``GenericPrinter`` spelling numpy as torch; constant arrays in ``_dtype``."""

    def _module_format(self, fqn: str, register: bool = True) -> str:
        if fqn in _NO_TORCH:
            raise NotImplementedError(f"{fqn} has no torch spelling here")
        if fqn.startswith("numpy."):
            fqn = _TORCH_NAMES.get(fqn, "torch." + fqn[len("numpy."):])
        return super()._module_format(fqn, register)

    def _tensor(self, expr: Any) -> str:
        return f"torch.as_tensor({self._print(expr)}, dtype=_dtype)"

    def _print_OneMatrix(self, expr: Any) -> str:
        return f"torch.ones({self._shape(expr)}, dtype=_dtype)"

    def _print_ZeroMatrix(self, expr: Any) -> str:
        return f"torch.zeros({self._shape(expr)}, dtype=_dtype)"

    def _print_Identity(self, expr: Any) -> str:
        return f"torch.eye({self._size(expr.shape[0])}, dtype=_dtype)"

    def _print_Max(self, expr: Any) -> str:
        out = self._tensor(expr.args[0])
        for a in expr.args[1:]:
            out = f"torch.maximum({out}, {self._tensor(a)})"
        return out

    def _print_Min(self, expr: Any) -> str:
        out = self._tensor(expr.args[0])
        for a in expr.args[1:]:
            out = f"torch.minimum({out}, {self._tensor(a)})"
        return out

    def _print_relu(self, expr: Any) -> str:
        return f"torch.relu({self._tensor(expr.args[0])})"

    def _print_sigmoid(self, expr: Any) -> str:
        return f"torch.sigmoid({self._tensor(expr.args[0])})"

    def _print_softplus(self, expr: Any) -> str:
        return f"torch.nn.functional.softplus({self._tensor(expr.args[0])})"

    def _print_logaddexp(self, expr: Any) -> str:
        x, y = (self._tensor(a) for a in expr.args)
        return f"torch.logaddexp({x}, {y})"

    def _print_clip(self, expr: Any) -> str:
        x, lo, hi = expr.args
        return f"torch.clamp({self._tensor(x)}, {self._print(lo)}, {self._print(hi)})"

    def _print_erf(self, expr: Any) -> str:
        return f"torch.erf({self._tensor(expr.args[0])})"

    def _print_cbrt(self, expr: Any) -> str:
        x = self._tensor(expr.args[0])
        return f"(torch.sign({x})*torch.abs({x})**(1/3))"

    def _print_Heaviside(self, expr: Any) -> str:
        return (f"torch.heaviside({self._tensor(expr.args[0])}, "
                f"torch.as_tensor({self._print(_h0(expr))}, dtype=_dtype))")

    def _print_DiagonalOf(self, expr: Any) -> str:
        return f"torch.diagonal({self._print(expr.arg)}).reshape(-1, 1)"


class JaxTarget(Target):
    lang = "jax"
    imports = ("jax", "jax.numpy")
    printer = JaxGenericPrinter
    convert = "jax.numpy.asarray({a})"
    column = "jax.numpy.reshape({t}, (-1, 1))"
    size = "jax.numpy.shape({a})[{k}]"
    scalar_out = "jax.numpy.reshape({t}, ())"
    array_out = "jax.numpy.broadcast_to({t}, {s})"

    def modules(self, used: Mapping[str, Any]) -> list:
        return sorted(set(self.imports) | set(used))   # jax.scipy.special is its own import


class TorchTarget(Target):
    lang = "pytorch"
    imports = ("torch",)
    printer = TorchGenericPrinter
    convert = ("({a} if isinstance({a}, torch.Tensor) else "
               "torch.as_tensor({a}, dtype=torch.float64))")
    column = "torch.reshape({t}, (-1, 1))"
    size = "{a}.shape[{k}]"
    scalar_out = "torch.reshape(torch.as_tensor({t}), ())"
    array_out = "torch.broadcast_to(torch.as_tensor({t}), {s})"

    def preamble(self, job: Any) -> list:
        arrays = [a.name for a in job.args if a.shape != ()]
        # constant arrays (ones, eye) in the arguments' dtype: torch's @ does not promote
        return [f"_dtype = {arrays[0]}.dtype" if arrays else "_dtype = torch.float64"]


TARGETS = {"jax": JaxTarget(), "pytorch": TorchTarget()}
"""The generic code's library for each language that has one besides numpy."""
