"""numpy's reductions and shape functions on Nodes (``np.max`` ... ``np.diag``): numpy's
signatures, registered in ``symdiff.graph.numpy_api``; ``symdiff.graph.reductions`` and
``symdiff.graph.shaping`` do the work. Here numpy's arguments are checked: ``out=`` must be
None, ``initial=``, ``where=``, a dtype other than float64 and the like are refused by
name. Imported (for its registrations) by ``symdiff.graph.dispatch``.

May import numpy, ``symdiff.errors`` and ``symdiff.graph``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symdiff.errors import ShapeError, UnsupportedError
from symdiff.graph import reductions as _r, shaping as _s
from symdiff.graph.numpy_api import implements


class _Unset:
    """An argument the caller did not pass (numpy's own ``_NoValue``, ours)."""

    def __repr__(self) -> str:
        return "<not given>"


_UNSET: Any = _Unset()


def _float64(dtype: Any) -> bool:
    try:
        return np.dtype(dtype) == np.float64
    except TypeError:
        return False


def _refuse(fn: str, **given: Any) -> None:
    """UnsupportedError naming the first argument of ``given`` passed with a value symdiff
    cannot honour: out= other than None, dtype= other than float64, casting= other than
    numpy's default, any other argument at all."""
    for name, value in given.items():
        if value is _UNSET or (name in ("out", "dtype") and value is None) or \
                (name == "casting" and value == "same_kind") or \
                (name == "dtype" and _float64(value)):
            continue
        why = "a Node is immutable: use the returned Node" if name == "out" else \
            "symdiff computes in float64" if name == "dtype" else "symdiff does not support it"
        raise UnsupportedError(f"numpy.{fn}: {name}= is not supported on symdiff Nodes "
                               f"({why}); see sd.supported_numpy()")


@implements(np.max, np.amax)
def _np_max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
            initial: Any = _UNSET, where: Any = _UNSET) -> Any:
    _refuse("max", out=out, initial=initial, where=where)
    return _r.max(a, axis=axis, keepdims=keepdims)


@implements(np.min, np.amin)
def _np_min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
            initial: Any = _UNSET, where: Any = _UNSET) -> Any:
    _refuse("min", out=out, initial=initial, where=where)
    return _r.min(a, axis=axis, keepdims=keepdims)


@implements(np.prod)
def _np_prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             keepdims: bool = False, initial: Any = _UNSET, where: Any = _UNSET) -> Any:
    _refuse("prod", out=out, dtype=dtype, initial=initial, where=where)
    return _r.prod(a, axis=axis, keepdims=keepdims)


@implements(np.cumsum)
def _np_cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    _refuse("cumsum", out=out, dtype=dtype)
    return _r.cumsum(a, axis=axis)


@implements(np.concatenate)
def _np_concatenate(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None,
                    casting: Any = _UNSET) -> Any:
    _refuse("concatenate", out=out, dtype=dtype, casting=casting)
    return _s.concatenate(arrays, axis=axis)


@implements(np.stack)
def _np_stack(arrays: Any, axis: int = 0, out: Any = None, *, dtype: Any = None,
              casting: Any = _UNSET) -> Any:
    _refuse("stack", out=out, dtype=dtype, casting=casting)
    return _s.stack(arrays, axis=axis)


def _at_least(arrays: Any, fn: str, ndim: int) -> list:
    nodes = _s.as_nodes(arrays, f"numpy.{fn}")
    if ndim == 2:    # vstack: a 1-D (n,) is a row (1, n), a scalar (1, 1)
        return [n if n.ndim >= 2 else _s.expand_dims(n, tuple(range(2 - n.ndim)))
                for n in nodes]
    return [n if n.ndim else _s.expand_dims(n, 0) for n in nodes]


@implements(np.vstack)
def _np_vstack(tup: Any, *, dtype: Any = None, casting: Any = _UNSET) -> Any:
    _refuse("vstack", dtype=dtype, casting=casting)
    return _s.concatenate(_at_least(tup, "vstack", 2), axis=0)


@implements(np.hstack)
def _np_hstack(tup: Any, *, dtype: Any = None, casting: Any = _UNSET) -> Any:
    _refuse("hstack", dtype=dtype, casting=casting)
    nodes = _at_least(tup, "hstack", 1)
    return _s.concatenate(nodes, axis=0 if nodes[0].ndim == 1 else 1)


@implements(np.split)
def _np_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> Any:
    return _s.split(ary, indices_or_sections, axis=axis)


@implements(np.array_split)
def _np_array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> Any:
    return _s.split_pieces(ary, indices_or_sections, axis, "numpy.array_split", equal=False)


@implements(np.expand_dims)
def _np_expand_dims(a: Any, axis: Any) -> Any:
    return _s.expand_dims(a, axis)


@implements(np.squeeze)
def _np_squeeze(a: Any, axis: Any = None) -> Any:
    return _s.squeeze(a, axis)


@implements(np.swapaxes)
def _np_swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    return _s.swapaxes(a, axis1, axis2)


@implements(np.moveaxis)
def _np_moveaxis(a: Any, source: Any, destination: Any) -> Any:
    return _s.moveaxis(a, source, destination)


@implements(np.flip)
def _np_flip(m: Any, axis: Any = None) -> Any:
    return _s.flip(m, axis)


@implements(np.fliplr)
def _np_fliplr(m: Any) -> Any:
    if getattr(m, "ndim", 2) < 2:
        raise ShapeError("numpy.fliplr: needs an array of at least two dimensions")
    return _s.flip(m, 1)


@implements(np.flipud)
def _np_flipud(m: Any) -> Any:
    return _s.flip(m, 0)


@implements(np.pad)
def _np_pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    values = kwargs.pop("constant_values", 0)
    for name in kwargs:
        _refuse("pad", **{name: kwargs[name]})
    return _s.pad(array, pad_width, mode=mode, constant_values=values)


@implements(np.tile)
def _np_tile(A: Any, reps: Any) -> Any:
    return _s.tile(A, reps)


@implements(np.repeat)
def _np_repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    return _s.repeat(a, repeats, axis)


@implements(np.diagonal)
def _np_diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    return _s.diagonal(a, offset, axis1, axis2)


@implements(np.diag)
def _np_diag(v: Any, k: int = 0) -> Any:
    return _s.diag(v, k)
