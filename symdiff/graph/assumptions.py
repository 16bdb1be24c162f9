"""What a variable is assumed to be: a symmetric matrix, a probability vector, or labels.

Textbook derivations assume things, and a claim may hold only under them:

* ``sd.var("S", (n, n), symmetric=True)``: S equals its transpose, so its closed forms
  print ``S`` for ``S.T`` (``S**(-1)`` for ``S.T**(-1)``), its entries ``S[i, j]`` and
  ``S[j, i]`` are one symbol, and ``sd.verify`` draws only symmetric S.
* ``sd.var("t", (n,), probability=True)``: t is a probability vector (entries >= 0
  summing to 1), so ``sum(t)`` is 1 in proofs and ``sd.verify`` draws only such t (the
  claim ``softmax(z) - t`` for the gradient of the cross-entropy needs it). For a matrix
  ``T`` of shape (m, n) each row is one (one-hot targets of a batch: ``X.T @
  (softmax(X @ W, axis=1) - T)``). ``simplex=True`` is the same assumption under its
  geometric name.
* ``sd.var("t", (n,), labels=(-1, 1))``: every entry of t is one of the given values
  (class labels: ``(-1, 1)``, ``(0, 1)``, ``range(K)``), so ``sd.verify`` draws t from them
  and a proof may try each value (``sigmoid(z) - (1 + t)/2`` is the logistic loss's
  gradient only for t = ±1).

Text spells them ``symmetric``, ``probability`` (or ``simplex``) and ``labels(-1, 1)``:
``--assume t=probability`` on the command line and ``assume={"t": "labels(-1, 1)"}`` in
``sd.verify`` (``spelled``; ``with_assumptions`` gives a graph's variables them). The
assumption is held by the variable's node (``ASSUME`` and ``LABELS`` in its cache). May
import numpy, ``symdiff.errors`` and the graph's Node and walks.

>>> import numpy as np
>>> project("symmetric", np.array([[1.0, 2.0], [0.0, 1.0]]))
array([[1., 1.],
       [1., 1.]])
>>> project("probability", np.array([-1.0, 3.0]))
array([0.25, 0.75])
>>> project("labels", np.array([0.3, -2.0, 0.0015]), (-1.0, 1.0))
array([-1., -1.,  1.])
>>> spelled("labels(-1, 1)", (5,), "t")
('labels', (-1.0, 1.0))
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Optional

import numpy as np

from symdiff.errors import ArgumentError

ASSUME = "assume"
"""The cache key of a variable's assumption (its kind)."""
LABELS = "labels"
"""The cache key of a labelled variable's values (a sorted tuple of floats)."""
KINDS = ("symmetric", "probability", "labels")
"""The assumptions a variable can carry."""
ALIASES = {"simplex": "probability"}
"""Other spellings of a kind."""
CONDITION = {"symmetric": "{name} is symmetric ({name} = {name}.T)",
             "probability": "sum({name}) = 1 ({name} a probability vector)",
             "probability rows": "each row of {name} sums to 1 ({name}'s rows probability "
                                 "vectors)",
             "labels": "every entry of {name} is one of {values}"}
"""How a report states each assumption of variable ``name``."""
MAX_LABELS = 16
"""Most values a labelled variable may take (a proof tries each one per entry)."""


def check(kind: str, shape: tuple, name: str, labels: Optional[Iterable] = None) -> str:
    """``kind`` (an alias read as its kind) for a variable of ``shape``, or an
    ``ArgumentError`` saying why not."""
    kind = ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise ArgumentError(f"variable '{name}': unknown assumption {kind!r} (known: "
                            f"{', '.join(KINDS)}, or simplex for probability)")
    if kind == "symmetric" and (len(shape) != 2 or shape[0] != shape[1]):
        raise ArgumentError(f"sd.var '{name}': symmetric=True needs a square matrix, not "
                            f"shape {shape}")
    if kind == "probability" and len(shape) not in (1, 2):
        raise ArgumentError(f"sd.var '{name}': probability=True needs a vector (shape "
                            f"(n,)) or a matrix of probability rows (shape (m, n)), not "
                            f"shape {shape}")
    if kind == "labels":
        label_values(labels, name)
    return kind


def label_values(labels: Any, name: str) -> tuple:
    """The values of ``labels=`` as a sorted tuple of distinct finite floats."""
    try:
        values = sorted({float(v) for v in labels})
    except (TypeError, ValueError):
        raise ArgumentError(f"sd.var '{name}': labels= takes the values the entries may "
                            f"take, such as (-1, 1) or range(3); got {labels!r}") from None
    if not 2 <= len(values) <= MAX_LABELS or not all(np.isfinite(values)):
        raise ArgumentError(f"sd.var '{name}': labels= needs 2 to {MAX_LABELS} finite "
                            f"values, got {labels!r}")
    return tuple(values)


def assumption(node: Any) -> Optional[str]:
    """The assumption a variable node carries, or None."""
    return node._cache.get(ASSUME) if getattr(node, "op", None) == "var" else None


def labels_of(node: Any) -> Optional[tuple]:
    """The values a labelled variable's entries take, or None."""
    return node._cache.get(LABELS) if assumption(node) == "labels" else None


def assume(node: Any, kind: str, labels: Any = None) -> Any:
    """Mark the variable ``node`` as carrying ``kind`` (checked); returns the node."""
    kind = check(kind, tuple(node.shape), node.name, labels)
    node._cache[ASSUME] = kind
    if kind == "labels":
        node._cache[LABELS] = label_values(labels, node.name)
    return node


def condition(node: Any, kind: Optional[str] = None, labels: Optional[tuple] = None) -> str:
    """The report's statement of ``node``'s assumption (or of ``kind`` for it)."""
    kind = kind or assumption(node)
    if kind == "probability" and len(node.shape) == 2:
        kind = "probability rows"
    values = labels or labels_of(node) or ()
    shown = "{" + ", ".join(f"{v:g}" for v in values) + "}"
    return CONDITION[kind].format(name=node.name, values=shown)


def declaration(node: Any, kind: str, labels: Optional[tuple] = None) -> str:
    """How a user declares ``kind`` for ``node``, in Python and on the command line."""
    if kind == "labels":
        values = ", ".join(f"{v:g}" for v in labels or ())
        return (f"sd.var('{node.name}', {tuple(node.shape)}, labels=({values})) (on the "
                f"command line --assume '{node.name}=labels({values})')")
    return (f"sd.var('{node.name}', {tuple(node.shape)}, {kind}=True) (on the command "
            f"line --assume {node.name}={kind})")


_LABELS_TEXT = re.compile(r"^labels\s*\(([^()]*)\)$")


def spelled(text: Any, shape: tuple, name: str) -> tuple:
    """An assumption written as text (``symmetric``, ``probability``, ``simplex``,
    ``labels(-1, 1)``) or as a labels tuple, checked for a variable of ``shape``:
    ``(kind, labels or None)``."""
    if not isinstance(text, str):
        return "labels", label_values(text, name)
    words = text.strip()
    m = _LABELS_TEXT.match(words)
    if m:
        try:
            values = [float(v) for v in m.group(1).replace(",", " ").split()]
        except ValueError:
            raise ArgumentError(f"assumption of '{name}': labels(...) lists numbers, "
                                f"got {text!r}") from None
        return check("labels", shape, name, values), label_values(values, name)
    return check(words, shape, name), None


def project(kind: Optional[str], value: Any, labels: Optional[tuple] = None) -> Any:
    """``value`` made to satisfy ``kind``: the symmetric part of a matrix; a vector's
    absolute values normalized to sum 1 (equal entries when they are all 0; a matrix's
    rows each so); each entry
    replaced by one of ``labels``, picked by its digits (so varied draws give varied
    labels)."""
    if kind is None:
        return value
    v = np.asarray(value, dtype=float)
    if kind == "symmetric":
        return (v + v.T) / 2.0
    if kind == "labels":
        pick = np.floor(np.abs(np.nan_to_num(v, posinf=0.0, neginf=0.0)) * 1000.0)
        return np.asarray(labels, dtype=float)[(pick % len(labels)).astype(np.int64)]
    a = np.abs(np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0))
    total = np.sum(a, axis=-1, keepdims=True)
    flat = ~np.isfinite(total) | (total <= 0.0)
    a = np.where(flat, 1.0, a)
    return a / np.where(flat, a.shape[-1] if a.ndim else 1.0, total)


def project_leaf(node: Any, value: Any) -> Any:
    """``value`` made to satisfy whatever ``node`` is assumed to be."""
    return project(assumption(node), value, labels_of(node))


_KEPT = ("context", "notation", "ones_read")
"""Cache entries a rebuilt node keeps: how it was read, not what was derived from it."""


def with_assumptions(roots: list, declared: Mapping, where: str) -> list:
    """``roots`` rebuilt with their variables named in ``declared`` (name -> ``spelled``
    text, or a labels tuple) carrying those assumptions; the given graphs are left as they
    were. Items of ``roots`` that are not Nodes pass through.

    >>> import symdiff as sd
    >>> S = sd.var("S", (2, 2))
    >>> f, = with_assumptions([sd.trace(S @ S)], {"S": "symmetric"}, "sd.verify")
    >>> [assumption(n) for n in f.nodes() if n.op == "var"], assumption(S)
    (['symmetric'], None)
    """
    from symdiff.graph.node import Node
    from symdiff.graph.walks import topological

    if not isinstance(declared, Mapping):
        raise ArgumentError(f"{where}: assume= maps variable names to assumptions, such "
                            f"as {{'S': 'symmetric', 't': 'labels(-1, 1)'}}; got "
                            f"{type(declared).__name__}")
    graphs = [r for r in roots if isinstance(r, Node)]
    order = topological(graphs)
    variables = {n.name: n for n in order if n.op == "var"}
    wanted = {}
    for key, text in declared.items():
        name = key.name if isinstance(key, Node) else key
        if name not in variables:
            raise ArgumentError(f"{where}: assume= names '{name}', which is not a variable "
                                f"of f or the claims (variables: "
                                f"{', '.join(sorted(variables)) or 'none'})")
        wanted[name] = spelled(text, tuple(variables[name].shape), name)
    new: dict = {}
    for n in order:
        if n.op == "var" and n.name in wanted:
            new[n] = assume_copy = Node("var", name=n.name, shape=n.shape, requires_grad=True)
            assume(assume_copy, *wanted[n.name])
        elif any(a in new for a in n.args):
            copy = Node(n.op, tuple(new.get(a, a) for a in n.args), n.params, n.shape,
                        n.name, n.dtype, n._value, n.requires_grad)
            copy._cache.update({k: v for k, v in n._cache.items() if k in _KEPT})
            new[n] = copy
    return [new.get(r, r) if isinstance(r, Node) else r for r in roots]
