"""numeric: symdiff's numpy-only layer.

The table of primitives, lowered programs with forward and reverse sweeps, and a
finite-difference checker. Never imports SymPy; usable on its own:

>>> import numpy as np, numeric
>>> prog = numeric.Program([(3,)], [], [("sin", (0,), {}), ("sum", (1,), {})], output=2, wrt=[0])
>>> value, (g,) = prog(np.zeros(3))
>>> g.tolist()
[1.0, 1.0, 1.0]
"""
from .errors import GradientCheckError, NumericError, NumericShapeError
from .finite_diff import ATOL, EPS, RTOL, central_difference, check_grads, directional_difference
from .primitives import PRIMITIVES, Domain, Primitive, broadcast_shape, sum_to
from .program import Program

__all__ = [
    "PRIMITIVES", "Primitive", "Domain", "Program", "broadcast_shape", "sum_to",
    "central_difference", "directional_difference", "check_grads", "EPS", "ATOL", "RTOL",
    "NumericError", "NumericShapeError", "GradientCheckError",
]
