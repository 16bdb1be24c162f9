"""Central finite differences in float64, and a gradient checker built on them.

This is the third, independent opinion in symdiff's cross-check, and it ships with the
package (as autograd's ``check_grads`` does) so any program can check itself.

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
