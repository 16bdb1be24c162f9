"""Leaves of a graph: free variables (``sd.var``), bound tensors (``sd.tensor``, ``sd.randn``).

Constants are ``symdiff.graph.node.const`` (every op makes them from numbers). Imports the
Node module and symdiff's errors.

>>> import symdiff as sd
>>> sd.var("W", shape=(2, 3)).shape, sd.tensor([1.0, 2.0], name="t").name
((2, 3), 't')
"""
from __future__ import annotations

import itertools
import keyword
from typing import Any, Optional, Sequence

import numpy as np

from symdiff.errors import ShapeError, SymdiffError
from symdiff.graph.node import Node


_tensor_ids = itertools.count(1)


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
            or name.startswith("_"):
        raise SymdiffError(f"{what} name {name!r} is not a valid identifier "
                           "(letters, digits and _, not starting with a digit or _)")
    return name


def var(name: str, shape: Sequence[int] = ()) -> Node:
    """A free variable (float64), scalar or array. Same name and shape: same variable.

    >>> import symdiff as sd
    >>> W = sd.var("W", shape=(10, 5))
    >>> W.shape, W.name
    ((10, 5), 'W')
    """
    shape = _check_shape(shape, f"var '{name}'")
    return Node("var", name=_check_name(name, "variable"), shape=shape, requires_grad=True)


def tensor(data: Any, requires_grad: bool = False, name: Optional[str] = None) -> Node:
    """A leaf bound to a value (float64), like ``torch.tensor``.

    >>> import symdiff as sd
    >>> a = sd.tensor([3.0], requires_grad=True, name="a")
    >>> a
    tensor([3.], requires_grad=True)
    """
    try:
        value = np.array(data, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise SymdiffError(f"tensor(): cannot make a float64 array of {type(data).__name__}: {e}") \
            from None
    name = _check_name(name, "tensor") if name is not None else f"tensor{next(_tensor_ids)}"
    return Node("tensor", name=name, shape=value.shape, value=value,
                requires_grad=bool(requires_grad))


def randn(*shape: int, requires_grad: bool = False, name: Optional[str] = None,
          rng: Optional[np.random.Generator] = None) -> Node:
    """A tensor of standard-normal samples, like ``torch.randn`` (see ``manual_seed``).

    >>> import symdiff as sd
    >>> sd.manual_seed(0)
    >>> sd.randn(2, 3).shape
    (2, 3)
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    gen = rng if rng is not None else _rng
    return tensor(gen.standard_normal(tuple(int(d) for d in shape)), requires_grad, name)


_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind ``sd.randn`` (like ``torch.manual_seed``).

    >>> import symdiff as sd
    >>> sd.manual_seed(1); a = sd.randn(2).data
    >>> sd.manual_seed(1); bool((sd.randn(2).data == a).all())
    True
    """
    global _rng
    _rng = np.random.default_rng(seed)


def _check_shape(shape: Any, what: str) -> tuple:
    try:
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ShapeError(f"{what}: shape must be a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ShapeError(f"{what}: negative dimension in shape {shape}")
    return shape
