"""Gradient bookkeeping of the PyTorch habits: ``.grad`` arrays and ``.grad_fn`` names.

The sweep that fills ``.grad`` is ``symdiff.lowering.backward``; this module holds only
what a Node needs to hold and name its gradient, so it imports nothing above the graph.

>>> import symdiff as sd
>>> a = sd.tensor([3.0], requires_grad=True, name="a")
>>> str((a * 2).grad_fn)
'MulBackward'
"""
from __future__ import annotations

from typing import Any

import numpy as np

from numeric import PRIMITIVES

from symdiff.errors import ShapeError
from symdiff.graph.values import real_array



class GradArray(np.ndarray):
    """A numpy array holding a gradient; ``.data`` gives the plain array, as on a tensor,
    so the PyTorch idiom ``w.data -= lr * w.grad.data`` works unchanged."""

    @property
    def data(self) -> np.ndarray:  # type: ignore[override]
        return self.view(np.ndarray)

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    def zero_(self) -> "GradArray":
        self[...] = 0.0
        return self

    def numpy(self) -> np.ndarray:
        return self.view(np.ndarray)

    def __array_wrap__(self, arr: Any, context: Any = None, return_scalar: bool = False) -> Any:
        # results of arithmetic on a gradient are plain arrays, not gradients
        arr = arr.view(np.ndarray)
        return arr[()] if return_scalar else arr


def as_grad(value: Any, node: Any) -> GradArray:
    arr = real_array(value, f"grad of {node._describe()}")
    if arr.shape != node.shape:
        raise ShapeError(f"grad of {node._describe()} must have shape {node.shape}, "
                         f"got {arr.shape}")
    return arr.view(GradArray)


class GradFn(str):
    """The backward op's readable name (``"MulBackward"``); ``next_functions`` as in PyTorch."""

    def __new__(cls, node: Any) -> "GradFn":
        self = super().__new__(cls, PRIMITIVES[node.op].grad_fn_name)
        self._node = node
        return self

    @property
    def next_functions(self) -> tuple:
        out = []
        for a in self._node.args:
            if a.op == "tensor" and a.requires_grad:
                out.append(("AccumulateGrad", a))
            else:
                out.append((a.grad_fn, 0))
        return tuple(out)

    def __repr__(self) -> str:
        return f"<{str(self)}>"
