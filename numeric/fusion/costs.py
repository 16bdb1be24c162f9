"""What fused ops cost per float64 element, in nanoseconds, on this kind of machine:
numpy's (``OP_NS``) and a compiled loop's (``OP_NS_COMPILED``). ``groups`` weighs
recomputing a value against storing it; ``kernel`` decides whether a numpy-path group is
worth a second thread. Imports nothing.

>>> from types import SimpleNamespace
>>> op_ns(SimpleNamespace(name="sin"), {}, False), op_ns(SimpleNamespace(name="add"), {}, False)
(7.5, 0.3)
"""
from __future__ import annotations

from typing import Any

OP_NS = {"sin": 7.5, "cos": 7.5, "tan": 9.0, "pow_tensor": 12.0, "log": 1.0, "tanh": 0.8,
         "exp": 0.6, "sigmoid": 2.5, "sqrt": 0.6}
"""numpy's cost per float64 element of the ops that cost more than a pass of arithmetic
(0.3 ns); ``pow`` with a non-integer exponent costs as ``np.power`` (12 ns)."""

OP_NS_COMPILED = {"sin": 1.0, "cos": 1.0, "tan": 2.0, "pow_tensor": 3.0, "log": 0.6,
                  "tanh": 1.0, "exp": 0.5, "sigmoid": 0.8, "sqrt": 0.3}
"""The same for the compiled kernels, whose transcendentals are vectorised."""


def op_ns(row: Any, params: dict, compiled: bool) -> float:
    """The cost per element of the op ``row`` with ``params``, numpy's or compiled."""
    table = OP_NS_COMPILED if compiled else OP_NS
    if row.name == "pow":
        p = float(params["p"])
        return 0.3 if p in (1, 2, 3, -1) else table.get("sqrt", 0.6) if p == 0.5 else (
            3.0 if compiled else 12.0)
    return table.get(row.name, 0.3)
