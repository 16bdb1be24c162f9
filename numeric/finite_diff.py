"""Central finite differences in float64, the complex step, and a gradient checker.

This is the third, independent opinion in symdiff's cross-check, and it ships with the
package (as autograd's ``check_grads`` does) so any program can check itself.

``entry_difference`` is the central difference along one entry of one input (what
``sd.check`` reports per gradient entry). Two diagnostics go beyond one step size:

* ``step_sweep``: the central difference at every step of ``STEPS`` (1e-2 ... 1e-10). Its
  error falls as h**2 until rounding (about 1e-16 / h) takes over, so the table of errors
  shows the trade-off and the best step.
* ``complex_step``: ``Im f(x + ih) / h`` with h = 1e-20, exact to rounding (about 1e-15)
  with no trade-off, for functions that are analytic (``Primitive.analytic``) and run on
  complex numbers; ``complex_forward(row)`` is the forward to use for a row.

May import numpy and ``numeric.errors`` only (numeric never imports SymPy or symdiff).

>>> import numpy as np
>>> g = central_difference(lambda x: float(np.sum(x ** 3)), [np.array([1.0, 2.0])])
>>> np.allclose(g[0], [3.0, 12.0], atol=1e-6)
True
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from .errors import GradientCheckError

EPS = 1e-6
ATOL = 1e-5
RTOL = 1e-3
STEPS = tuple(10.0 ** -k for k in range(2, 11))
"""Step sizes of ``step_sweep``: 1e-2, 1e-3, ..., 1e-10."""
COMPLEX_STEP = 1e-20
"""h of the complex step: small enough that h**2 vanishes next to f(x) in float64."""


def central_difference(fun: Callable[..., Any], inputs: Sequence[Any],
                       eps: float = EPS) -> list[np.ndarray]:
    """Gradient of a scalar ``fun(*inputs)`` by central differences, one entry at a time.

    >>> central_difference(lambda x: x * x, [3.0])[0]
    array(6.)
    """
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    grads = []
    with np.errstate(all="ignore"):
        for k, x in enumerate(xs):
            g = np.zeros_like(x)
            flat, gflat = x.reshape(-1), g.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + eps
                hi = float(fun(*xs))
                flat[i] = old - eps
                lo = float(fun(*xs))
                flat[i] = old
                gflat[i] = (hi - lo) / (2 * eps)
            grads.append(g)
    return grads


def directional_difference(fun: Callable[..., Any], inputs: Sequence[Any],
                           directions: Sequence[Any], eps: float = EPS) -> Any:
    """``(fun(x + eps*d) - fun(x - eps*d)) / (2*eps)``: one call pair for all inputs.

    >>> round(float(directional_difference(lambda x, y: x * y, [2.0, 5.0], [1.0, 0.0])), 6)
    5.0
    """
    xs = [np.asarray(x, dtype=np.float64) for x in inputs]
    ds = [np.asarray(d, dtype=np.float64) for d in directions]
    with np.errstate(all="ignore"):
        hi = np.asarray(fun(*[x + eps * d for x, d in zip(xs, ds)]), dtype=np.float64)
        lo = np.asarray(fun(*[x - eps * d for x, d in zip(xs, ds)]), dtype=np.float64)
    return (hi - lo) / (2 * eps)


def check_grads(fun: Callable[..., Any], grad_fun: Callable[..., Sequence[Any]],
                inputs: Sequence[Any], *, eps: float = EPS, atol: float = ATOL,
                rtol: float = RTOL, directions: int = 3, seed: Optional[int] = 0,
                names: Optional[Sequence[str]] = None) -> None:
    """Compare ``grad_fun`` with random-direction central differences of ``fun``.

    ``fun(*inputs)`` returns a scalar and ``grad_fun(*inputs)`` its gradients, one per
    input. Raises ``GradientCheckError`` naming the input and showing analytic vs numeric.

    >>> check_grads(lambda x: x ** 2, lambda x: [2 * x], [3.0])
    """
    xs = [np.asarray(x, dtype=np.float64) for x in inputs]
    names = list(names) if names else [f"input {i}" for i in range(len(xs))]
    grads = [np.asarray(g, dtype=np.float64) for g in grad_fun(*xs)]
    rng = np.random.default_rng(seed)
    for _ in range(directions):
        ds = [rng.standard_normal(x.shape) for x in xs]
        numeric = float(directional_difference(fun, xs, ds, eps))
        analytic = float(sum(np.sum(g * d) for g, d in zip(grads, ds)))
        if not np.isfinite(numeric) or not np.isfinite(analytic) or \
                abs(analytic - numeric) > atol + rtol * abs(numeric):
            per = ", ".join(names)
            raise GradientCheckError(
                f"Derivative (VJP) check failed for inputs ({per}): "
                f"analytic {analytic!r}, numeric {numeric!r} along a random direction")


def step_sweep(fun: Callable[..., Any], inputs: Sequence[Any], k: int, index: tuple,
               steps: Sequence[float] = STEPS) -> np.ndarray:
    """Central differences of scalar ``fun(*inputs)`` along entry ``index`` of input ``k``,
    one per step size in ``steps``.

    >>> d = step_sweep(lambda x: float(np.sum(np.sin(x))), [np.zeros(2)], 0, (1,), (1e-2, 1e-4))
    >>> [f"{e:.2e}" for e in d - 1.0]   # the error falls as h**2 / 6
    ['-1.67e-05', '-1.67e-09']
    """
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    x = xs[k]
    old = float(x[index])
    out = np.empty(len(steps))
    with np.errstate(all="ignore"):
        for j, h in enumerate(steps):
            x[index] = old + h
            hi = float(np.asarray(fun(*xs)).reshape(()))
            x[index] = old - h
            lo = float(np.asarray(fun(*xs)).reshape(()))
            x[index] = old
            out[j] = (hi - lo) / (2 * h)
    return out


def entry_difference(fun: Callable[..., Any], inputs: Sequence[Any], k: int, index: tuple,
                     eps: float = EPS) -> float:
    """The central difference ``(f(x + eps e) - f(x - eps e)) / (2 eps)`` of scalar
    ``fun(*inputs)`` along entry ``index`` of input ``k``: ``step_sweep`` at one step.

    >>> round(entry_difference(lambda x: float(np.sum(x ** 3)), [np.array([1.0, 2.0])], 0, (1,)), 6)
    12.0
    """
    return float(step_sweep(fun, inputs, k, index, (eps,))[0])


def complex_step(fun: Callable[..., Any], inputs: Sequence[Any], k: int, index: tuple,
                 h: float = COMPLEX_STEP) -> float:
    """``Im fun(x + ih e) / h`` for the entry ``index`` of input ``k``: the derivative of
    an analytic ``fun`` to rounding, with no step-size trade-off. ``fun`` must accept
    complex arrays (for table rows, use ``complex_forward``).

    >>> complex_step(lambda x: np.sum(np.exp(x) * x), [np.ones(2)], 0, (0,)) == 2 * np.e
    True
    """
    xs = [np.array(x, dtype=np.complex128) for x in inputs]
    xs[k][index] += 1j * h
    with np.errstate(all="ignore"):
        return float(np.imag(np.asarray(fun(*xs)).reshape(())) / h)


def complex_forward(row: Any) -> Callable[..., Any]:
    """The forward of a table row that is safe on complex inputs (for the complex step).

    >>> from numeric import PRIMITIVES
    >>> complex_forward(PRIMITIVES["sin"]) is PRIMITIVES["sin"].forward
    True
    """
    return row.complex_forward or row.forward


ONE_SIDED_STEP = 1e-8
"""h of the one-sided difference quotients reported at kinks."""


def one_sided(fun: Callable[..., Any], inputs: Sequence[Any], k: int, index: tuple,
              h: float = ONE_SIDED_STEP) -> tuple[float, float]:
    """The left and right difference quotients of scalar ``fun(*inputs)`` along entry
    ``index`` of input ``k``: the one-sided slopes where ``fun`` has a kink.

    >>> one_sided(lambda x: abs(float(x)), [0.0], 0, ())
    (-1.0, 1.0)
    """
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    x = xs[k]
    old = float(x[index])
    with np.errstate(all="ignore"):
        mid = float(np.asarray(fun(*xs)).reshape(()))
        x[index] = old + h
        right = (float(np.asarray(fun(*xs)).reshape(())) - mid) / h
        x[index] = old - h
        left = (mid - float(np.asarray(fun(*xs)).reshape(()))) / h
        x[index] = old
    return left, right
