"""``Node.backward()``: the PyTorch-style reverse sweep into ``.grad``, on a lowered program.

``backward()`` lowers the graph (once per root; the program is cached) and runs it on the
tensors' current values. Gradients accumulate into ``.grad`` as in PyTorch; unlike
PyTorch, the graph is never freed, so a second ``backward()`` on the same graph is allowed
and adds to ``.grad`` again (PyTorch needs ``retain_graph=True`` for that).

>>> import symdiff as sd
>>> x = sd.tensor(7.0, requires_grad=True, name="x")
>>> f = x**2 + 3
>>> f.backward()
>>> x.grad
array(14.)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from symdiff.errors import BackwardError, MissingVariableError, ShapeError
from symdiff.graph.grads import as_grad
from symdiff.graph.node import Node
from symdiff.graph.values import real_array
from symdiff.lowering.lower import lower


def backward(root: Any, gradient: Any = None) -> None:
    """Accumulate d(root)/d(leaf) into ``.grad`` of every tensor that requires grad."""
    if not root.requires_grad:
        raise BackwardError(
            f"backward() on {root._describe()}, which does not depend on any tensor with "
            "requires_grad=True")
    if gradient is None:
        if root.size != 1:
            raise BackwardError(
                f"backward(): the output has shape {root.shape}; a gradient can be implied "
                "only for one-element outputs: pass gradient= with that shape")
        seed = np.ones(root.shape)
    else:
        seed = real_array(gradient.data if isinstance(gradient, Node) else gradient,
                          "backward(): gradient", copy=False)
        if seed.shape != root.shape:
            raise ShapeError(f"backward(gradient=...): expected shape {root.shape} (the "
                             f"output's), got {seed.shape}")
    order = root._cache.get("order")
    if order is None:
        order = root._cache["order"] = root.nodes()
        unbound = sorted({n.name for n in order if n.op == "var"})
        if unbound:
            del root._cache["order"]
            raise MissingVariableError(
                f"backward(): variable{'s' if len(unbound) > 1 else ''} "
                f"{', '.join(map(repr, unbound))} {'have' if len(unbound) > 1 else 'has'} no "
                "value; use sd.tensor(...) for bound leaves, or sd.value_and_grad / "
                "sd.grad for graphs over variables")
    # retain_grad() may be called between two backward() calls: the plan follows the flags
    leaves = [n for n in order if n.op == "tensor" and n.requires_grad]
    retained = [n for n in order if n._retain and not n.is_leaf]
    key = (tuple(map(id, leaves)), tuple(map(id, retained)))
    plan = root._cache.get("backward")
    if plan is None or plan[0] != key:
        plan = root._cache["backward"] = (key, lower(root, leaves, retain=retained))
    lowered = plan[1]
    # gradients only: the output's own value (often a final reduction) is not recomputed
    out = lowered.program.grad(*[leaf._value for leaf in lowered.leaves], cotangent=seed)
    grads = list(out[0]) + list(out[1]) if retained else list(out)
    for node, g in zip(leaves + retained, grads):
        node._grad = as_grad(g if node._grad is None else node._grad + g, node)
