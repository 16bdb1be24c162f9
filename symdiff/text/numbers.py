"""Numbers in formula text: the float range, and constant powers folded at parse time.

Imports numpy only.

>>> fits_float(2**1023), fits_float(2**1024)
(True, False)
>>> constant_power(9.0, 9.0**9)
inf
"""
from __future__ import annotations

from typing import Optional

import numpy as np


FLOAT_MAX = float(np.finfo(np.float64).max)
_MAX_CONSTANT_EXPONENT = 1024
"""A power of two numbers with a larger |exponent| (base other than 0, 1, -1) is computed
in floats at parse time and kept as that constant: as a pow node its closed form is the
exact power (9**9**9 would have 370 million digits: SymPy never returns), while its float
value, the only one evaluation ever sees, is inf, 0, or a float like any other."""


def constant_power(base: Optional[float], exponent: Optional[float]) -> Optional[float]:
    """``base**exponent`` in float64 if both are numbers and the exponent is beyond
    ``_MAX_CONSTANT_EXPONENT`` (see there), else None."""
    if base is None or exponent is None or abs(base) in (0.0, 1.0) \
            or not abs(exponent) > _MAX_CONSTANT_EXPONENT:
        return None
    with np.errstate(all="ignore"):
        return float(np.float64(base) ** np.float64(exponent))


def fits_float(value: int) -> bool:
    """Whether the int ``value`` converts to a float (is within about 1.8e308)."""
    try:
        float(value)
    except OverflowError:
        return False
    return True
