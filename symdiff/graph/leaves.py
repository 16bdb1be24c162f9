"""Leaves of a graph: free variables (``sd.var``), bound tensors (``sd.tensor``, ``sd.randn``).

Constants are ``symdiff.graph.node.const`` (every op makes them from numbers). Names,
shapes and values are checked as they come in (``symdiff.graph.values``, ``params``): a
name the parser would refuse, a dimension that is not an int, text or complex data are
errors here, not surprises later. Imports the Node module and those two.

>>> import symdiff as sd
>>> sd.var("W", shape=(2, 3)).shape, sd.tensor([1.0, 2.0], name="t").name
((2, 3), 't')
"""
from __future__ import annotations

import itertools
from typing import Any, Optional, Sequence

import numpy as np

from symdiff.errors import ArgumentError
from symdiff.graph.node import Node
from symdiff.graph.params import as_shape
from symdiff.graph.values import as_flag, as_seed, leaf_name, real_array, shown


_tensor_ids = itertools.count(1)


def var(name: str, shape: Sequence[int] = (), *, symmetric: bool = False,
        probability: bool = False, simplex: bool = False,
        labels: Optional[Any] = None) -> Node:
    """A free variable (float64), scalar or array. Same name and shape: same variable;
    the same name with another shape is another variable, and a graph or a call may not
    hold both (``VariableError``). Names follow the parser's rules: identifiers not
    starting with ``_``, and no spelling Python would read as another name (``ｘ``).

    >>> import symdiff as sd
    >>> W = sd.var("W", shape=(10, 5))
    >>> W.shape, W.name
    ((10, 5), 'W')

    Assumptions that proofs, random points and printed gradients respect
    (``symdiff.graph.assumptions``), one at a time: ``symmetric=True`` (a square matrix
    equal to its transpose), ``probability=True`` (a vector of entries >= 0 summing to 1;
    ``simplex=True`` says the same), ``labels=(-1, 1)`` (every entry is one of the values
    given, such as class labels).

    >>> t = sd.var("t", (5,), labels=(-1, 1))
    >>> z = sd.var("z", (5,))
    >>> sd.verify(sd.sum(sd.log(1 + sd.exp(-t * z))), {z: "sigmoid(z) - (1 + t)/2"},
    ...           notation="numpy").ok
    True
    """
    name = leaf_name(name, "sd.var: variable")
    shape = as_shape(shape, f"sd.var '{name}'")
    node = Node("var", name=name, shape=shape, requires_grad=True)
    # -- issue 15: what the variable is assumed to be (symdiff.graph.assumptions)
    kinds = [k for k, on in (("symmetric", as_flag(symmetric, "sd.var", "symmetric")),
                             ("probability", as_flag(probability, "sd.var", "probability")),
                             ("simplex", as_flag(simplex, "sd.var", "simplex")),
                             ("labels", labels is not None)) if on]
    if kinds:
        from symdiff.graph.assumptions import assume
        if len(kinds) > 1:
            raise ArgumentError(f"sd.var '{name}': one assumption at a time, got "
                                f"{' and '.join(kinds)}")
        assume(node, kinds[0], labels)
    return node


def tensor(data: Any, requires_grad: bool = False, name: Optional[str] = None) -> Node:
    """A leaf bound to a value (float64), like ``torch.tensor``.

    >>> import symdiff as sd
    >>> a = sd.tensor([3.0], requires_grad=True, name="a")
    >>> a
    tensor([3.], requires_grad=True)
    """
    value = real_array(data.data if isinstance(data, Node) else data, "sd.tensor: data")
    requires_grad = as_flag(requires_grad, "sd.tensor", "requires_grad")
    name = leaf_name(name, "sd.tensor: tensor") if name is not None \
        else f"tensor{next(_tensor_ids)}"
    return Node("tensor", name=name, shape=value.shape, value=value,
                requires_grad=requires_grad)


def randn(*shape: int, requires_grad: bool = False, name: Optional[str] = None,
          rng: Optional[np.random.Generator] = None) -> Node:
    """A tensor of standard-normal samples, like ``torch.randn`` (see ``manual_seed``).

    >>> import symdiff as sd
    >>> sd.manual_seed(0)
    >>> sd.randn(2, 3).shape
    (2, 3)
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    shape = as_shape(shape, "sd.randn")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise ArgumentError(f"sd.randn: rng must be a numpy.random.Generator "
                            f"(np.random.default_rng(seed)), not {type(rng).__name__} "
                            f"{shown(rng)}")
    gen = rng if rng is not None else _rng
    return tensor(gen.standard_normal(shape), requires_grad, name)


_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind ``sd.randn`` (like ``torch.manual_seed``).

    >>> import symdiff as sd
    >>> sd.manual_seed(1); a = sd.randn(2).data
    >>> sd.manual_seed(1); bool((sd.randn(2).data == a).all())
    True
    """
    global _rng
    _rng = np.random.default_rng(as_seed(seed, "sd.manual_seed"))
