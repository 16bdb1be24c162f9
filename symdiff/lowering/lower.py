"""Lowering: a Node graph becomes a ``numeric.Program`` once; calling it is the hot path.

Lowering walks the graph once (iteratively), numbers the leaves, folds structurally equal
interior nodes into one slot (common subexpressions are computed once), and hands the
instruction list to ``numeric``, which checks shapes and plans both sweeps.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> vg = sd.value_and_grad(x**2 + 3, [x])
>>> vg(x=7.0)
(52.0, [14.0])
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from numeric import NumericShapeError, Program

from symdiff.budget import gc_paused
from symdiff.errors import (ArgumentError, ExtraVariableError, MissingVariableError, ShapeError,
                            SymdiffError, VariableError)
from symdiff.graph.arguments import as_function, check_wrt, match_leaves
from symdiff.graph.node import Node
from symdiff.graph.values import shown
from symdiff.graph.walks import graph_leaves, leaf_text, same_leaf, topological
from symdiff.lowering.fast import FALLBACK, MISSING, fast_binder, fast_call

__all__ = ["Lowered", "ValueAndGrad", "bind", "check_threads", "evaluate", "graph_leaves",
           "lower", "lower_nodes", "value_and_grad"]


_LEAF_OPS = ("var", "tensor", "const")


class Lowered:
    """A program plus the leaves that feed it, in input order."""

    def __init__(self, program: Program, leaves: list[Node], slots: dict[int, int],
                 unused: frozenset = frozenset(), context: frozenset = frozenset()):
        self.program = program
        # names of the function a derivative graph came from: given values for them are
        # accepted and ignored, so a derivative evaluates at its function's point
        self.context = context
        self.leaves = leaves
        self.unused = unused  # names of wrt leaves f does not depend on: no value needed
        self.slots = slots  # id(node) -> program slot, for reading node values
        self.names = [leaf.name for leaf in leaves]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.leaf_ids = frozenset(id(leaf) for leaf in leaves)
        self._fast: dict[str, Any] = {}

    def fast(self, mode: str) -> Any:
        """The keyword fast path for ``"scalar"`` (value and gradients) or
        ``"scalar_forward"``, or None when the program has no scalar form."""
        fn = self._fast.get(mode, MISSING)
        if fn is MISSING:
            fn = self._fast[mode] = fast_binder(self.names, self.program.compiled(mode))
        return fn


def _hashable(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, np.ndarray):
        return (v.shape, v.tobytes())
    return v


def lower(root: Node, wrt: Sequence[Node] = (), retain: Sequence[Node] = (),
          extra_roots: Sequence[Node] = (), optimize: bool = True, merge: bool = True,
          order: Optional[Sequence[Node]] = None, threads: Optional[int] = None) -> Lowered:
    """Lower ``root``'s graph into a program returning gradients for the leaves ``wrt``.

    ``optimize=False`` gives the plain interpreter (no fusion, no generated code), the
    reference the optimised program is tested against. ``merge=False`` gives every
    interior node its own slot (structurally equal nodes are not folded into one), so
    each node's own cotangent can be read; ``order`` lists the interior nodes in the
    order to emit their instructions (each after its arguments; the reverse sweep runs
    them backwards), by default the graph's topological order. The teaching pictures use
    both, to show each node's gradient summed in the order they print the sweep.
    ``threads`` is the program's thread count for fused steps (``check_threads``).

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> lowered = lower(sd.sin(x) * x, [x])
    >>> lowered.names, lowered.program
    (['x'], Program(1 inputs, 2 forward and 2 backward steps))
    """
    threads = check_threads(threads, "lower")
    nodes = topological([root, *retain, *extra_roots])
    return lower_nodes(nodes, root, wrt, retain, optimize, merge, order, threads)


def lower_nodes(nodes: list[Node], root: Node, wrt: Sequence[Node] = (),
                retain: Sequence[Node] = (), optimize: bool = True, merge: bool = True,
                order: Optional[Sequence[Node]] = None,
                threads: Optional[int] = None) -> Lowered:
    """``lower`` on a graph already walked: ``nodes`` is ``topological`` of ``root``,
    ``retain`` and any extra roots (``value_and_grad`` walks once, for its checks and
    this). The cyclic garbage collector is paused: lowering makes a few objects per node
    and no cycles, yet on a 800,000-node graph the collections it triggers walked every
    node again and again, over half of the time; the program's objects then go straight
    to the collector's oldest generation (``gc_paused``'s ``promote``)."""
    with gc_paused(len(nodes), promote=True):
        return _lower(nodes, root, wrt, retain, optimize, merge, order, threads)


def _lower(nodes: list[Node], root: Node, wrt: Sequence[Node], retain: Sequence[Node],
           optimize: bool, merge: bool, order: Optional[Sequence[Node]],
           threads: Optional[int]) -> Lowered:
    leaves = graph_leaves(nodes)
    unused = set()
    for w in wrt:
        if w.op not in ("var", "tensor"):
            raise SymdiffError(f"can only differentiate with respect to variables or tensors, "
                               f"not {w._describe()}")
    match_leaves(leaves, wrt, "lower")   # one name, one leaf: never the other one's slot
    for w in wrt:
        if w.name not in leaves:
            leaves[w.name] = w  # f does not depend on w: its gradient is zero
            unused.add(w.name)
    input_leaves = list(leaves.values())
    slot: dict[int, int] = {}
    by_name = {leaf.name: i for i, leaf in enumerate(input_leaves)}
    constants: list = []
    const_slots: dict[Any, int] = {}
    n_inputs = len(input_leaves)
    # one pass numbers the leaves (constants first, so an instruction's slot is known
    # when it is made); the hot loops below run once per node of graphs of 10**6 nodes,
    # hence the locals and the special cases of one and two arguments
    interior = []
    keep = interior.append
    for n in nodes:
        op = n.op
        if op == "const":
            key = _hashable(n._value)
            s = const_slots.get(key)
            if s is None:
                s = const_slots[key] = n_inputs + len(constants)
                constants.append(n._value)
            slot[id(n)] = s
        elif op == "var" or op == "tensor":
            slot[id(n)] = by_name[n.name]
        else:
            keep(n)
    if order is not None:
        interior = _interior_order(nodes, order)
    base = n_inputs + len(constants)
    instructions: list = []
    emit = instructions.append
    seen: dict[Any, int] = {}
    first = seen.setdefault if merge else (lambda key, s: s)
    get = slot.__getitem__
    for n in interior:
        args = n.args
        if len(args) == 2:
            ins: tuple = (get(id(args[0])), get(id(args[1])))
        elif len(args) == 1:
            ins = (get(id(args[0])),)
        else:
            ins = tuple([get(id(a)) for a in args])
        op, params = n.op, n.params
        new = base + len(instructions)
        s = first((op, ins, tuple(sorted((k, _hashable(v)) for k, v in params.items())))
                  if params else (op, ins), new)
        if s == new:
            emit((op, ins, params))
        slot[id(n)] = s
    try:
        program = Program([leaf.shape for leaf in input_leaves], constants, instructions,
                          output=slot[id(root)], wrt=[by_name[w.name] for w in wrt],
                          retain=[slot[id(r)] for r in retain],
                          input_names=[f"{leaf.op} '{leaf.name}'" for leaf in input_leaves],
                          optimize=optimize, threads=threads)
    except NumericShapeError as e:
        raise ShapeError(str(e)) from None
    return Lowered(program, input_leaves, slot, frozenset(unused),
                   root._cache.get("context", frozenset()))


def check_threads(threads: Any, who: str) -> Optional[int]:
    """``threads``: None (``$SYMDIFF_THREADS``, else every CPU this process may use) or a
    whole number at least 1, else ``ArgumentError`` naming ``who``.

    >>> check_threads(2, "sd.value_and_grad")
    2
    >>> check_threads(0, "sd.value_and_grad")
    Traceback (most recent call last):
    ...
    symdiff.errors.ArgumentError: sd.value_and_grad: threads must be a whole number at least 1 (or None: $SYMDIFF_THREADS, else every CPU), got 0
    """
    if threads is None:
        return None
    if isinstance(threads, (int, np.integer)) and not isinstance(threads, (bool, np.bool_)) \
            and threads >= 1:
        return int(threads)
    raise ArgumentError(f"{who}: threads must be a whole number at least 1 (or None: "
                        f"$SYMDIFF_THREADS, else every CPU), got {shown(threads)}")


def _interior_order(nodes: list[Node], order: Sequence[Node]) -> list[Node]:
    """``order``'s interior nodes, checked to be the graph's, each once after its arguments."""
    interior = [n for n in order if n.op not in _LEAF_OPS]
    graph = {id(n) for n in nodes}
    done = {id(n) for n in nodes if n.op in _LEAF_OPS}
    for n in interior:
        if id(n) not in graph or id(n) in done or any(id(a) not in done for a in n.args):
            raise SymdiffError(f"lower: order must list each interior node of the graph once, "
                               f"after its arguments; {n._describe()} is not")
        done.add(id(n))
    if len(done) != len(nodes):
        raise SymdiffError(f"lower: order lists {len(interior)} interior nodes of the graph's "
                           f"{sum(n.op not in _LEAF_OPS for n in nodes)}")
    return interior


def bind(lowered: Lowered, values: Any, kwargs: Mapping[str, Any]) -> list:
    """Input values in program order from ``{name or node: value}`` and keywords."""
    given: dict[str, Any] = {}
    if values is not None:
        if not isinstance(values, Mapping):
            raise SymdiffError(f"values must be a mapping of variable (name or node) to value, "
                               f"got {type(values).__name__}")
        for k, v in values.items():
            given[_key_name(lowered, k)] = v
    given.update(kwargs)
    unknown = [k for k in given if k not in lowered.index and k not in lowered.context]
    if unknown:
        known = ", ".join(lowered.names) or "none"
        raise ExtraVariableError(
            f"unknown variable{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the graph's variables are: {known}")
    args = []
    missing = []
    for leaf in lowered.leaves:
        if leaf.name in given:
            v = given[leaf.name]
            arr = _as_float_array(leaf.name, v.data if isinstance(v, Node) else v)
            if arr.shape != leaf.shape:
                raise ShapeError(f"variable '{leaf.name}': expected shape {leaf.shape}, "
                                 f"got {arr.shape}")
            args.append(arr)
        elif leaf._value is not None:
            args.append(leaf._value)
        elif leaf.name in lowered.unused:
            args.append(np.zeros(leaf.shape))
        else:
            missing.append(leaf.name)
    if missing:
        raise MissingVariableError(
            f"no value given for variable{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}")
    return args


def _key_name(lowered: Lowered, key: Any) -> str:
    """The name a value is given for: a str, or a variable or tensor node, which must be
    the graph's own leaf of that name (``same_leaf``), not another one of the same name."""
    if isinstance(key, str):
        return key
    if not isinstance(key, Node) or key.op not in ("var", "tensor"):
        what = key._describe() if isinstance(key, Node) else \
            f"{type(key).__name__} {shown(key)}"
        raise ArgumentError(f"values are keyed by variable names or variable nodes, not {what}")
    i = lowered.index.get(key.name)
    if i is not None and not same_leaf(lowered.leaves[i], key):
        raise VariableError(f"a value is given for {leaf_text(key)}, but the graph's "
                            f"'{key.name}' is {leaf_text(lowered.leaves[i])}; one name is one "
                            "variable: key the value by the graph's own variable or its name")
    return key.name


def _as_float_array(name: str, v: Any) -> np.ndarray:
    """A value as float64: bool, integer and float inputs (float16/32 included, converted
    exactly) are accepted; None, text, complex and objects are refused, never read as nan
    or parsed."""
    try:
        raw = np.asarray(v)
    except (TypeError, ValueError):
        raw = None
    if raw is None or raw.dtype.kind not in "biuf":
        kind = "" if raw is None else f" (dtype {raw.dtype})"
        raise SymdiffError(f"variable '{name}': value {v!r} is not a number or an array of "
                           f"real numbers{kind}")
    return raw.astype(np.float64, copy=False)


def _out(v: Any) -> Any:
    """Scalars come out as Python floats, arrays as numpy arrays."""
    arr = np.asarray(v)
    return float(arr) if arr.ndim == 0 else arr


def evaluate(f: Node, values: Any = None, /, **kwargs: Any) -> Any:
    """Value of ``f`` at a point (``f.eval`` is the same).

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> (x**2 + 3).eval(x=7.0)
    52.0
    """
    lowered = f._cache.get("eval") if isinstance(f, Node) else None
    if lowered is None:
        f = as_function(f, "sd.evaluate", context=[values, kwargs])
        lowered = f._cache["eval"] = lower(f)
    fast = lowered.fast("scalar_forward")
    if fast is not None:
        try:
            return float(fast_call(fast, values, kwargs, lowered.leaf_ids))
        except FALLBACK:
            pass
    return _out(lowered.program.forward(*bind(lowered, values, kwargs)))


class ValueAndGrad:
    """``f``'s value and its gradients with respect to ``wrt``, lowered once, called often.

    Called as ``vg(x=7.0)``, ``vg({"x": 7.0})`` or ``vg({x: 7.0})``; bound tensors use their
    current value unless one is given. Returns ``(value, grads)``; grads is a list when
    ``wrt`` was a list, a single gradient when it was a single node.
    """

    def __init__(self, f: Node, wrt: Union[Node, Sequence[Node]],
                 threads: Optional[int] = None):
        f = as_function(f, "sd.value_and_grad", context=wrt)
        threads = check_threads(threads, "sd.value_and_grad")
        nodes = topological([f])  # walked once: for the checks and for lowering
        with gc_paused(len(nodes), promote=True):
            self.wrt, self.single = check_wrt(f, wrt, "sd.value_and_grad",
                                              leaves=graph_leaves(nodes))
            if f.size != 1:
                raise ShapeError(f"value_and_grad: f has shape {f.shape}; gradients need a "
                                 "scalar (reduce it with sd.sum or sd.mean)")
            self.lowered = lower_nodes(nodes, f, self.wrt, threads=threads)
        self._fast = self.lowered.fast("scalar")

    def __call__(self, values: Any = None, /, **kwargs: Any) -> tuple:
        fast = self._fast
        if fast is not None:
            try:
                value, grads = fast_call(fast, values, kwargs, self.lowered.leaf_ids)
            except FALLBACK:
                pass
            else:
                return value, (grads[0] if self.single else grads)
        value, grads = self.lowered.program(*bind(self.lowered, values, kwargs))
        grads = [_out(g) for g in grads]
        return _out(value), (grads[0] if self.single else grads)

    def __repr__(self) -> str:
        return f"value_and_grad(wrt={[w.name for w in self.wrt]}, {self.lowered.program!r})"


def value_and_grad(f: Node, wrt: Union[Node, Sequence[Node]],
                   threads: Optional[int] = None) -> ValueAndGrad:
    """Lower ``f`` once and return a callable giving ``(value, gradients)``.

    ``threads`` is how many threads the program's fused steps (groups of elementwise ops
    on arrays of at least ``numeric.fusion.MIN_ELEMENTS`` entries) split their chunks
    over: a whole number at least 1, or None for ``$SYMDIFF_THREADS``, else every CPU
    this process may use. Results are bit-identical for any thread count; anything else
    (0, -1, "two") is an ``ArgumentError``.

    >>> import symdiff as sd
    >>> x, y = sd.var("x"), sd.var("y")
    >>> sd.value_and_grad(x * y + y**2, [x, y])(x=2.0, y=3.0)
    (15.0, [3.0, 8.0])
    >>> sd.value_and_grad(x * y + y**2, [x, y], threads=1)(x=2.0, y=3.0)
    (15.0, [3.0, 8.0])
    """
    return ValueAndGrad(f, wrt, threads)
