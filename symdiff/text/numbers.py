"""Numbers in formula text: float range, constant powers folded at parse time."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np


FLOAT_MAX = float(np.finfo(np.float64).max)
_MAX_CONSTANT_EXPONENT = 1024
"""A power of two numbers with a larger |exponent| (base other than 0, 1, -1) is computed
in floats at parse time and kept as that constant: as a pow node its closed form is the
exact power (9**9**9 would have 370 million digits: SymPy never returns), while its float
value, the only one evaluation ever sees, is inf, 0, or a float like any other."""


def number_of(value: Any) -> Optional[float]:
    """A plain number, or the value of a scalar node computed from numbers (a parse makes
    variables, which have no value), as a float; else None."""
    if isinstance(value, (int, float)):
        return float(value)
    v = getattr(value, "_value", None)
    if v is not None and getattr(value, "shape", None) == ():
        return float(v)
    return None


def constant_power(base: Optional[float], exponent: Optional[float]) -> Optional[float]:
    """``base**exponent`` in float64 if both are numbers and the exponent is beyond
    ``_MAX_CONSTANT_EXPONENT`` (see there), else None."""
    if base is None or exponent is None or abs(base) in (0.0, 1.0) \
            or not abs(exponent) > _MAX_CONSTANT_EXPONENT:
        return None
    with np.errstate(all="ignore"):
        return float(np.float64(base) ** np.float64(exponent))


def fits_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True
