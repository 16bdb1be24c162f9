"""Graph nodes: variables, bound tensors, constants, and the ops between them.

A ``Node`` is an immutable vertex: a primitive name from the table (``op``), parent
nodes (``args``), static ``params``, a ``shape`` and an optional ``name``. Leaves are
``var`` (a free variable), ``tensor`` (bound to a value, PyTorch style) and ``const``.
When every input of an op has a value, the op's value is computed at once (as PyTorch
does), so ``print(e)`` shows numbers; graphs over free variables stay symbolic.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> f = x**2 + 3
>>> f.op, [a.op for a in f.args], f.shape
('add', ['pow', 'const'], ())
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from numeric import PRIMITIVES, NumericShapeError

from symdiff.budget.core import OutOfMemory
from symdiff.errors import ArgumentError, ShapeError, SymdiffError, UnsupportedError
from symdiff.graph.array_methods import ArrayMethods
from symdiff.graph.params import as_axes, as_shape, normalize_key
from symdiff.graph.values import real_array, shown
from symdiff.graph.walks import free_names, topological

LEAF_OPS = ("var", "tensor", "const")
class Node(ArrayMethods):
    """A vertex of an expression graph; build them with ``sd.var``, ``sd.tensor``, operators.

    >>> import symdiff as sd
    >>> a = sd.tensor([3.0], requires_grad=True, name="a")
    >>> (a * 2).data.tolist()
    [6.0]
    """

    __slots__ = ("op", "args", "params", "shape", "name", "dtype", "_value",
                 "requires_grad", "_grad", "_retain", "_cache", "__weakref__")
    # numpy defers to our reflected operators (array + node -> Node.__radd__)
    __array_priority__ = 1000

    def __init__(self, op: str, args: tuple = (), params: Optional[dict] = None,
                 shape: tuple = (), name: Optional[str] = None, dtype: str = "float64",
                 value: Any = None, requires_grad: bool = False):
        self.op = op
        self.args = args
        self.params = params or {}
        self.shape = shape
        self.name = name
        self.dtype = dtype
        self._value = value
        self.requires_grad = requires_grad
        self._grad = None
        self._retain = False
        self._cache: dict = {}

    # ---- introspection -------------------------------------------------------------
    @property
    def is_leaf(self) -> bool:
        """True for variables, tensors and constants."""
        return self.op in LEAF_OPS

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def nodes(self) -> list["Node"]:
        """The graph's distinct nodes in topological order, inputs first (iterative walk).

        >>> import symdiff as sd
        >>> x = sd.var("x")
        >>> tuple(n.op for n in (x * x + x).nodes())   # (a list would read as a link in the docs)
        ('var', 'mul', 'add')
        """
        return topological([self])

    # ---- values (PyTorch habits) ---------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The value as a numpy array; for a tensor leaf, its storage (in-place edits stick)."""
        if self._value is None:
            raise SymdiffError(
                f"{self._describe()} has no value: it depends on free variables "
                f"({', '.join(free_names(self))}); use .eval(...) to evaluate it at a point")
        return self._value

    @data.setter
    def data(self, value: Any) -> None:
        if self.op != "tensor":
            raise SymdiffError(f"only tensor leaves can be assigned .data, not {self._describe()}")
        v = real_array(value.data if isinstance(value, Node) else value,
                       f"tensor '{self.name}': new data")
        if v.shape != self.shape:
            raise ShapeError(f"tensor '{self.name}': new data has shape {v.shape}, "
                             f"expected {self.shape}")
        self._value = v

    def item(self) -> float:
        """The value of a one-element node as a Python float."""
        v = self.data
        if v.size != 1:
            raise ShapeError(f"item(): {self._describe()} has {v.size} elements, not 1")
        return float(v.reshape(()))

    def numpy(self) -> np.ndarray:
        """The value as a numpy array (like ``torch.Tensor.numpy``)."""
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self._value is None:
            raise self._no_numbers(
                "numpy asked for its numbers (np.asarray, np.array, a method of a numpy "
                "array such as X.dot(w), or a numpy function converting its input)",
                "numpy's functions and operators on Nodes build the graph instead (write "
                "X @ w or np.dot(X, w) for X.dot(w); drop np.asarray; sd.supported_numpy() "
                "lists what works)")
        v = self._value
        return v.astype(dtype) if dtype is not None else v

    def __float__(self) -> float:
        if self._value is None:
            raise self._no_numbers("float() needs a number (so do math.exp, math.log, ...)",
                                   "use np.exp, np.log, ... (or sd.exp), which build the graph")
        return self.item()

    def _no_numbers(self, need: str, instead: str) -> UnsupportedError:
        # a free variable stands for any value: there are no numbers to hand to numpy
        return UnsupportedError(
            f"{self._describe()} has no value: {need}, but it depends on free variables "
            f"({', '.join(free_names(self))}), which stand for any value; {instead}; "
            "evaluate at a point with .eval(...)")

    def __bool__(self) -> bool:
        raise UnsupportedError(
            f"the truth value of {self._describe()} is ambiguous: a symdiff Node in a "
            "Python if, while, and, or, not or bool() cannot be traced; use np.where(cond, "
            "a, b) (or sd.where) for a choice inside the graph, np.maximum / np.minimum "
            "for max(a, b) / min(a, b), or .item() on a bound value")

    def __len__(self) -> int:
        if not self.shape:   # a TypeError too, as numpy's, for code that tests for one
            raise ArgumentError(f"len() of {self._describe()}: a 0-d node has no length")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise ArgumentError(f"iteration over {self._describe()}: a 0-d node has no "
                                "entries to iterate over")
        return (self[i] for i in range(self.shape[0]))

    def __contains__(self, item: Any) -> bool:
        # without it, `in` iterated the entries and compared them by identity (False), or
        # on a 0-d node raised Python's bare TypeError "argument ... is not iterable"
        raise UnsupportedError(f"`in` on {self._describe()}: a graph has no values to "
                               "search; evaluate it first (f.eval(...) or f.data)")

    def detach(self) -> "Node":
        """A constant with this node's current value, cut from the graph."""
        return const(self.data)

    def retain_grad(self) -> None:
        """Keep this interior node's gradient in ``.grad`` after ``backward()``."""
        if not self.requires_grad:
            raise SymdiffError(f"retain_grad() on {self._describe()}, which does not require grad")
        self._retain = True

    @property
    def retains_grad(self) -> bool:
        return self._retain or (self.op == "tensor" and self.requires_grad)

    @property
    def grad(self) -> Optional[np.ndarray]:
        """Accumulated gradient (leaves that require grad, and nodes that called retain_grad)."""
        if self._grad is None and not self.is_leaf and not self._retain:
            import warnings
            warnings.warn(
                f".grad of {self._describe()} is not kept: it is not a leaf; call "
                ".retain_grad() on it before .backward()", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        from symdiff.graph.grads import as_grad
        self._grad = None if value is None else as_grad(value, self)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear ``.grad`` (to None, or to zeros with ``set_to_none=False``)."""
        self.grad = None if set_to_none else np.zeros(self.shape)

    @property
    def grad_fn(self) -> Any:
        """Name of the backward op that produced this node (``MulBackward``), None for leaves."""
        if self.is_leaf or not self.requires_grad:
            return None
        from symdiff.graph.grads import GradFn
        return GradFn(self)

    # ---- operators -----------------------------------------------------------------
    def __add__(self, other: Any) -> "Node": return apply("add", self, other)
    def __radd__(self, other: Any) -> "Node": return apply("add", other, self)
    def __sub__(self, other: Any) -> "Node": return apply("sub", self, other)
    def __rsub__(self, other: Any) -> "Node": return apply("sub", other, self)
    def __mul__(self, other: Any) -> "Node": return apply("mul", self, other)
    def __rmul__(self, other: Any) -> "Node": return apply("mul", other, self)
    def __truediv__(self, other: Any) -> "Node": return apply("div", self, other)
    def __rtruediv__(self, other: Any) -> "Node": return apply("div", other, self)
    def __matmul__(self, other: Any) -> "Node": return apply("matmul", self, other)
    def __rmatmul__(self, other: Any) -> "Node": return apply("matmul", other, self)
    def __neg__(self) -> "Node": return apply("neg", self)
    def __pos__(self) -> "Node": return self
    def __abs__(self) -> "Node": return apply("abs", self)
    def __gt__(self, other: Any) -> "Node": return apply("greater", self, other)
    def __ge__(self, other: Any) -> "Node": return apply("greater_equal", self, other)
    def __lt__(self, other: Any) -> "Node": return apply("less", self, other)
    def __le__(self, other: Any) -> "Node": return apply("less_equal", self, other)
    # == and != keep identity semantics: nodes are dict keys and set members
    __hash__ = object.__hash__

    def __pow__(self, other: Any) -> "Node":
        p = constant_exponent(other)
        if p is not None:
            return apply("pow", self, p=p)
        return apply("pow_tensor", self, other)

    def __rpow__(self, other: Any) -> "Node":
        return apply("pow_tensor", other, self)

    @property
    def T(self) -> "Node":
        """Transpose (reverses the axes, as numpy's ``.T``)."""
        return apply("transpose", self, axes=None)

    def transpose(self, *axes: Any) -> "Node":
        if len(axes) == 1 and (isinstance(axes[0], (tuple, list)) or axes[0] is None):
            axes = axes[0]
        return apply("transpose", self, axes=as_axes(axes, "transpose") if axes else None)

    def reshape(self, *shape: Any) -> "Node":
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return apply("reshape", self, shape=as_shape(shape, "reshape", reshape=True))

    # .sum .mean .max .var .dot .astype ...: numpy's methods, from ArrayMethods

    # ---- display ---------------------------------------------------------------------
    def _describe(self) -> str:
        if self.name:
            return f"{self.op} '{self.name}'"
        return f"node {self.op} of shape {self.shape}"

    def __repr__(self) -> str:
        if self._value is not None and self.op != "const":
            body = np.array2string(np.asarray(self._value), separator=", ", precision=4)
            extra = ""
            if self.is_leaf and self.requires_grad:
                extra = ", requires_grad=True"
            elif self.grad_fn is not None:
                extra = f", grad_fn=<{self.grad_fn}>"
            return f"tensor({body}{extra})"
        if self.op == "var":
            return f"var('{self.name}', shape={self.shape})" if self.shape else f"var('{self.name}')"
        if self.op == "const":
            return f"const({np.asarray(self._value).tolist()!r})"
        return f"Node({self._closed_form_text()}, op='{self.op}', shape={self.shape})"

    # ---- late binding: the one place the graph calls up into the layers above it ----
    # (as torch.Tensor.backward calls into autograd). Lowering, the SymPy closed forms and
    # the backward sweep are built on Node; a Node offers them as methods, imported here
    # when called (so is the gather behind integer-array indexing, symdiff.graph.linalg).
    # tests/test_layering.py allows upward imports only inside this block.
    def eval(self, values: Any = None, /, **kwargs: Any) -> Any:
        """Evaluate at a point: ``f.eval(x=7.0)``, ``f.eval({x: 7.0})``, ``f.eval({"x": 7.0})``."""
        from symdiff.lowering.lower import evaluate
        return evaluate(self, values, **kwargs)

    def sympy(self, explicit: bool = False, sympy_seconds: Optional[float] = None) -> Any:
        """The closed form as a SymPy expression (see ``symdiff.symbolic.closed_form``),
        built within ``sympy_seconds`` (None: ``symdiff.budget.SYMPY_SECONDS``, 10 s); past
        it, or when SymPy fails, ``ClosedFormError`` says so."""
        from symdiff.symbolic.closed_form import to_sympy
        return to_sympy(self, explicit=explicit, seconds=sympy_seconds)

    def backward(self, gradient: Any = None, retain_graph: Optional[bool] = None) -> None:
        """PyTorch-style reverse sweep into the ``.grad`` of tensor leaves (accumulating)."""
        from symdiff.lowering.backward import backward
        backward(self, gradient)

    def _closed_form_text(self) -> str:
        """A short closed form for ``repr``: a node count past 60 nodes, 2 s or any failure."""
        from symdiff.symbolic.display import short_text
        return short_text(self)

    def _repr_latex_(self) -> Optional[str]:
        """Notebooks show a node as its closed form in LaTeX (None: plain repr instead),
        under a 2 s budget; it never raises."""
        from symdiff.symbolic.display import latex_text
        return latex_text(self)

    def __getitem__(self, key: Any) -> "Node":
        # (in this block: symdiff.graph.linalg, where gathers are built, is built on Node)
        # integer or boolean arrays (p[np.arange(n), y], p[:, idx]): a gather of the flat
        # positions numpy's advanced indexing selects; otherwise basic indexing
        from symdiff.graph.linalg import gather, gather_positions
        positions = gather_positions(key, self.shape)
        if positions is not None:
            return gather(self, positions)
        return apply("index", self, key=normalize_key(key, self.shape))

    # numpy's protocols (NEP 13, NEP 18): np.exp(x), np.sum(x) on Nodes build the graph;
    # symdiff.graph.dispatch reads numpy_api, whose implementations are built on Node
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from symdiff.graph.dispatch import array_ufunc
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        from symdiff.graph.dispatch import array_function
        return array_function(func, args, kwargs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """Notebooks: ``text/plain`` (the repr) always, ``text/latex`` (the closed form,
        under the same 2 s display budget) when there is one."""
        bundle = {"text/plain": repr(self)}
        latex = self._repr_latex_()
        if latex is not None:
            bundle["text/latex"] = latex
        return bundle

    # ---- end of late binding ----------------------------------------------------------




def const(value: Any) -> Node:
    """A constant; Python numbers and numpy arrays also mix into expressions directly.

    >>> import symdiff as sd
    >>> (sd.const(2.5) * 2).item()
    5.0
    """
    if isinstance(value, Node):
        return value
    return _constant(value, "sd.const: value")


def _constant(value: Any, what: str) -> Node:
    # None, text, complex numbers and integers past float64 are refused, never read as nan
    arr = real_array(value, what, keep_bool=True)
    if arr.dtype == np.bool_:
        return Node("const", shape=arr.shape, dtype="bool", value=arr)
    return Node("const", shape=arr.shape, value=arr)


def as_node(value: Any, what: str = "sd.const: value") -> Node:
    """A node as is; anything else (number, list, array) as a constant (``what`` names the
    argument if it is not a number)."""
    return value if isinstance(value, Node) else _constant(value, what)



def apply(op: str, *args: Any, **params: Any) -> Node:
    """Make the node ``op(*args, **params)``: checks shapes, computes the value if it can.

    >>> import symdiff as sd
    >>> apply("add", sd.var("x"), 1).op
    'add'
    """
    row = PRIMITIVES[op]
    # the common case first: float nodes in, no conversion (derivatives build many nodes)
    nodes = args
    if op == "where" or not args:
        nodes = _inputs(op, args)
    else:
        for a in args:
            if a.__class__ is not Node or a.dtype == "bool":
                nodes = _inputs(op, args)
                break
    shape = None
    if op in _ELEMENTWISE:
        # equal input shapes are the output shape (what broadcast_shape returns for them)
        shape = nodes[0].shape
        for a in nodes:
            if a.shape != shape:
                shape = None
                break
    if shape is None:
        try:
            shape = tuple(row.shape(*[a.shape for a in nodes], **params))
        except NumericShapeError as e:
            raise ShapeError(str(e)) from None
    requires_grad = False
    for a in nodes:
        if a.requires_grad:
            requires_grad = True
            break
    value = None
    for a in nodes:
        if a._value is None:
            break
    else:
        work = math.prod(shape) + sum(a.size for a in nodes)
        if work > MAX_FOLD:   # one numpy call no budget can stop (a 10**12 broadcast summed)
            raise ShapeError(f"{op}: computing this constant now would touch {work:.3g} "
                             f"elements, more than symdiff folds eagerly ({MAX_FOLD:.3g}); "
                             f"shape {shape} from {', '.join(str(a.shape) for a in nodes)}")
        try:
            with np.errstate(all="ignore"):
                value = np.asarray(row.forward(*[a._value for a in nodes], **params))
        except MemoryError:
            raise OutOfMemory(f"{op}: not enough memory to compute a constant of shape "
                              f"{shape}") from None
    return Node(op, nodes if nodes.__class__ is tuple else tuple(nodes), params, shape, None,
                row.dtype, value, requires_grad)


MAX_FOLD = 2**31
"""Most elements (inputs and result) an op on constants may touch when its value is
computed at once, as PyTorch computes a tensor op."""

_ELEMENTWISE = frozenset(name for name, row in PRIMITIVES.items() if row.kind == "elementwise")


def _inputs(op: str, args: tuple) -> list[Node]:
    """``apply``'s inputs as nodes: numbers become constants, booleans in arithmetic become
    0.0 / 1.0 (as in numpy and PyTorch), and ``where`` gets a boolean condition."""
    nodes = []
    for i, a in enumerate(args):
        a = as_node(a, f"{op}: input {i + 1}")
        wants_bool = op == "where" and i == 0
        if wants_bool and a.dtype not in ("bool", "any"):
            raise SymdiffError(f"where: the condition must be a comparison such as x > 0, "
                               f"not {a._describe()}")
        if not wants_bool and a.dtype == "bool":
            # numpy and PyTorch let booleans take part in arithmetic as 0.0 / 1.0
            a = apply("where", a, 1.0, 0.0)
        nodes.append(a)
    return nodes


def constant_exponent(p: Any) -> Optional[float]:
    """A Python/numpy number (or a scalar constant node) as an exponent; else None."""
    if isinstance(p, Node):
        if p.op == "const" and p.shape == () and p.dtype != "bool":
            p = float(p._value)
        else:
            return None
    if isinstance(p, (bool, np.bool_)):
        return None
    if isinstance(p, (int, np.integer)):
        p = int(p)
        if abs(p) > 2**1023:   # numpy's power takes it as a float: OverflowError there
            raise ArgumentError(f"pow: the exponent {shown(p)} is too large for a float64 "
                                "(at most about 1.8e308)")
        return p
    if isinstance(p, (float, np.floating)):
        p = float(p)
        if not math.isfinite(p):
            return None
        return int(p) if p.is_integer() else p
    return None
