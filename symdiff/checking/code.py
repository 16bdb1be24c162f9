"""Claims given as code: a user's gradient function or hand-written backward pass.

``sd.verify(loss, grad_loss, at=..., wrt=[...])``, ``sd.verify(f, {"w": grad_loss})`` and
``sd.verify_vjp(forward, backward, ...)`` compare what the user's code returns with
symdiff's own derivative of the traced function (``sd.from_function``'s machinery). The
code has no symbolic form, so the verdict is numeric: the code is run at every point the
search compares (``checking.points``), on copies of the values, and each returned array
is checked first (count, type, shape: one ``GradientCodeError`` or ``ShapeError`` naming
the function and what was expected) and then compared entry by entry with a tolerance
that scales with the values (``tolerance_text``).

Points for code: the point given, then the structured and random kinds of ``points``,
most of them *near* the point given (relative spreads 0.01, 0.1 and 1); a variable whose
entries all have one sign at the point given keeps that sign (a variance stays positive).
Arguments outside ``wrt`` (labels, hyper-parameters, dicts such as ``bn_param``) are held
at their values in ``at``: constants of the traced graph, and deep copies for each call.

May import numpy, ``symdiff.errors``, ``symdiff.graph`` and ``symdiff.checking.report``.

>>> import numpy as np
>>> is_float_value(np.ones(3)), is_float_value(2.0), is_float_value(np.arange(3)), \\
...     is_float_value({"eps": 1e-5})
(True, True, False, False)
"""
from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from symdiff.checking.points import draw
from symdiff.checking.report import point_text
from symdiff.errors import ArgumentError, ShapeError, SymdiffError, VariableError
from symdiff.graph.node import Node, apply, const
from symdiff.graph.leaves import var
from symdiff.graph.trace import _where, bind_arguments, call_traced

CODE_ATOL = 1e-9
CODE_RTOL = 1e-6
CODE_SCALE = 1e-8
"""Code and symdiff agree at an entry when |claim - symdiff| <= CODE_ATOL + CODE_RTOL *
max(|claim|, |symdiff|) + CODE_SCALE * max|symdiff| over that input (plus rounding): code
sums in its own order, and a gradient entry that cancels to nearly 0 (batch-norm's dx)
carries the rounding of the input's largest entries."""
NEAR = (0.01, 0.1, 1.0)
"""Relative spreads of the points drawn near the point given."""
CODE_KINDS = ("near", "domain", "near", "normal", "near", "uniform", "near", "wide",
              "near", "positive")
"""Kinds of the random points for code (``points.draw``'s, and ``near``)."""


class GradientCodeError(SymdiffError):
    """The user's gradient code or backward pass cannot be checked: it raised, or returned
    the wrong number or type of arrays (a wrong shape is a ``ShapeError``)."""


def tolerance_text(atol: float, rtol: float, scale: float) -> str:
    """The tolerance of code claims, as the report states it.

    >>> tolerance_text(1e-9, 1e-6, 1e-8)
    '|claim - symdiff| <= 1e-09 + 1e-06*max(|claim|, |symdiff|) + 1e-08*max|symdiff over the input| (+ rounding), entry by entry'
    """
    return (f"|claim - symdiff| <= {atol:g} + {rtol:g}*max(|claim|, |symdiff|) + "
            f"{scale:g}*max|symdiff over the input| (+ rounding), entry by entry")


def is_float_value(v: Any) -> bool:
    """A float or an array of floats: what ``wrt`` takes by default."""
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (float, np.floating)):
        return True
    return isinstance(v, np.ndarray) and v.dtype.kind == "f"


def name_of(fn: Any) -> str:
    """``Model.grad`` for a method, ``grad`` for a function (also one defined in another).

    >>> def outer():
    ...     def grad(w): return w
    ...     return grad
    >>> name_of(outer()), name_of(np.ones_like)
    ('grad', 'ones_like')
    """
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return name.rsplit("<locals>.", 1)[-1]


@dataclass
class CodeClaim:
    """A claim that is a function (read from the dict form): it stands in the claims'
    list where a Node would, and ``Code`` computes it."""

    function: Callable
    name: str


# ---- reading the function and its arguments --------------------------------------------

def parameters(fn: Any, at: Mapping, who: str) -> list[str]:
    """``fn``'s parameter names, after checking that ``at`` binds them as Python would
    (missing, extra, ``*args``: an ``ArgumentError`` naming them)."""
    if not isinstance(at, Mapping):
        raise ArgumentError(f"{who}: at must be a mapping of parameter name to value, "
                            f"such as {{'w': w0, 'X': X}}, not {type(at).__name__}")
    keys = [k if isinstance(k, str) else getattr(k, "name", str(k)) for k in at]
    bind_arguments(fn, (), dict(zip(keys, at.values())), who)
    return list(inspect.signature(fn).parameters)


def choose_wrt(wrt: Any, at: Mapping, params: Sequence[str], fn: Any, who: str) -> list[str]:
    """The names differentiated by: ``wrt`` as given (names or variable nodes), or every
    float (array) in ``at``, in ``fn``'s parameter order."""
    if wrt is None:
        names = [p for p in params if p in at and is_float_value(at[p])]
        if not names:
            raise ArgumentError(f"{who}: no float array in at to differentiate {name_of(fn)} "
                                "by; name the inputs with wrt=[...]")
        return names
    if isinstance(wrt, (str, Node)):
        wrt = [wrt]
    names = [w.name if isinstance(w, Node) else w for w in wrt]
    for n in names:
        if not isinstance(n, str) or n not in params:
            raise VariableError(f"{who}: wrt names {n!r}, which is not a parameter of "
                                f"{name_of(fn)} (its parameters: {', '.join(params)})")
        if n not in at:
            raise VariableError(f"{who}: wrt names '{n}', but at gives it no value")
        arr = np.asarray(at[n]) if not isinstance(at[n], Mapping) else None
        if arr is None or arr.dtype.kind not in "fiu" or isinstance(at[n], (bool, np.bool_)):
            raise ArgumentError(f"{who}: wrt names '{n}', whose value in at is not a number or "
                                f"an array of numbers ({type(at[n]).__name__})")
    if len(set(names)) != len(names):
        raise VariableError(f"{who}: wrt names an input twice ({', '.join(names)})")
    if not names:
        raise ArgumentError(f"{who}: wrt is empty; name at least one input")
    return names


def trace(fn: Any, at: Mapping, wrt: Sequence[str], who: str) -> tuple[Any, list[Node]]:
    """``fn`` called once with a variable for each name of ``wrt`` (shaped as its value in
    ``at``) and (copies of) the other arguments as given: its result, and the variables."""
    variables = [var(n, np.shape(at[n])) for n in wrt]
    args = held_copy(at)
    args.update({v.name: v for v in variables})
    bound = bind_arguments(fn, (), args, who)
    return call_traced(fn, bound.args, bound.kwargs, who), variables


def as_graph(result: Any, fn: Any, who: str) -> Node:
    """What a traced function returned, as a Node (a number or array: a constant)."""
    if isinstance(result, Node):
        return result
    if isinstance(result, (int, float, np.integer, np.floating, np.ndarray)) and \
            not isinstance(result, (bool, np.bool_)):
        return const(result)
    raise ArgumentError(f"{who}: {name_of(fn)} returned {type(result).__name__}, not an array "
                        "or a number")


def scalar(f: Node, fn: Any, who: str) -> Node:
    if f.size != 1:
        raise ShapeError(f"{who} checks the gradient of a scalar; {name_of(fn)} returns shape "
                         f"{f.shape}: reduce it (.sum(), .mean()) or use sd.verify_vjp")
    return f if f.shape == () else apply("sum", f, axis=None, keepdims=False)


def held_copy(values: Mapping) -> dict:
    """Deep copies: code that writes into its arguments (``bn_param["running_mean"] =``,
    ``dout[x <= 0] = 0``) must not change the values held or compared."""
    out = {}
    for k, v in values.items():
        try:
            out[k] = copy.deepcopy(v)
        except Exception:  # noqa: BLE001 - an object that cannot be copied is passed as is
            out[k] = v
    return out


# ---- running the code and reading what it returns ---------------------------------------

def run(fn: Callable, args: Sequence, kwargs: Mapping, point: Mapping, what: str) -> Any:
    """``fn(*args, **kwargs)``; an exception becomes a ``GradientCodeError`` naming the
    function, the line in the user's code and the point."""
    try:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    except SymdiffError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's code, reported with its place
        raise GradientCodeError(f"{what} raised {type(e).__name__}{_where(e, run.__code__, text=False)} at "
                                f"{point_text(dict(point), 6)}: {e}") from e


def unpack(result: Any, names: Sequence[str], shapes: Mapping[str, tuple], what: str,
           expected: str, alternatives: Sequence[str] = ()) -> tuple[dict, dict]:
    """The gradients ``result`` holds, by name: one array (for one name), a tuple or list in
    the order of ``names`` (or of ``alternatives``, every float input, when it has that
    many), or a dict keyed by name. Count, type and shape are checked, with one error that
    says what was expected. Returns (name -> float64 array, name -> dtype of other floats)."""
    if isinstance(result, Mapping):
        missing = [n for n in names if n not in result]
        if missing:
            raise GradientCodeError(f"{what} returned a dict without "
                                    f"{', '.join(map(repr, missing))}; expected {expected}")
        items = {n: result[n] for n in names}
    elif isinstance(result, (tuple, list)):
        if len(result) == len(names):
            items = dict(zip(names, result))
        elif alternatives and len(result) == len(alternatives):
            items = {n: r for n, r in zip(alternatives, result) if n in names}
        else:
            raise GradientCodeError(f"{what} returned {len(result)} value"
                                    f"{'' if len(result) == 1 else 's'}; expected {expected}")
    elif len(names) == 1:
        items = {names[0]: result}
    else:
        raise GradientCodeError(f"{what} returned one {type(result).__name__}; expected "
                                f"{expected}")
    out, dtypes = {}, {}
    for n, v in items.items():
        if v is None or isinstance(v, (str, bytes, Mapping, Node)):
            raise GradientCodeError(f"{what} returned {'None' if v is None else type(v).__name__}"
                                    f" for {n}; expected an array of shape {shapes[n]}")
        try:
            arr = np.asarray(v)
        except Exception:  # noqa: BLE001 - ragged lists and the like
            arr = np.asarray(None)
        if arr.dtype.kind not in "fiu" or isinstance(v, (bool, np.bool_)):
            raise GradientCodeError(f"{what} returned {type(v).__name__} of dtype {arr.dtype} "
                                    f"for {n}; expected an array of floats of shape {shapes[n]}")
        if arr.shape != tuple(shapes[n]):
            raise ShapeError(f"{what} returned an array of shape {arr.shape} for {n}, which has "
                             f"shape {tuple(shapes[n])}")
        if arr.dtype.kind == "f" and arr.dtype != np.float64:
            dtypes[n] = arr.dtype
        out[n] = np.array(arr, dtype=np.float64)
    return out, dtypes


def call_text(fn: Any, params: Sequence[str], index: Optional[Any] = None) -> str:
    """``grad_loss(w, X, t)``, ``affine_backward(dout, cache)[1]``, ``grad(...)["w"]``."""
    text = f"{name_of(fn)}({', '.join(params)})"
    return text if index is None else f"{text}[{index!r}]"


# ---- the code claims of one call, at a point --------------------------------------------

class Code:
    """The claims computed by code at a point: ``claims(args)`` (args in the lowered
    program's order), ``outside(args)`` (a sign kept), ``tolerance(name)``.

    ``calls``: functions ``values -> ({name: array}, {name: dtype})`` (``unpack``'s
    result; values: every input by name, copies),
    together computing the claims of ``names``; ``held``: the values of inputs the graph
    does not read (arguments outside wrt, and wrt variables f does not use)."""

    def __init__(self, lowered: Any, names: list[str], calls: list[Callable[[dict], dict]],
                 held: Mapping, signs: Mapping[str, float], atol: float, rtol: float,
                 scale: float = CODE_SCALE):
        self.lowered, self.names, self.calls = lowered, names, calls
        self.held, self.signs = dict(held), dict(signs)
        self.atol, self.rtol, self.scale = atol, rtol, scale
        self.dtypes: dict = {}
        self._last: Optional[tuple[list, dict]] = None

    def values(self, args: list) -> dict:
        out = held_copy(self.held)
        for leaf, a in zip(self.lowered.leaves, args):
            out[leaf.name] = float(a) if np.ndim(a) == 0 and leaf.shape == () \
                else np.array(a, dtype=float)
        return out

    def claims(self, args: list) -> dict:
        if self._last is not None and self._last[0] is args:
            return self._last[1]
        found: dict = {}
        for call in self.calls:
            values, dtypes = call(self.values(args))
            found.update(values)
            self.dtypes.update(dtypes)
        self._last = (args, found)
        return found

    def outside(self, args: list) -> Optional[str]:
        for leaf, a in zip(self.lowered.leaves, args):
            s = self.signs.get(leaf.name)
            if s and not np.all(np.asarray(a) * s > 0):
                return (f"{leaf.name} keeps the sign of the point given (all "
                        f"{'positive' if s > 0 else 'negative'})")
        return None

    def tolerance(self, name: str) -> tuple[float, float, float]:
        rtol = self.rtol
        if name in self.dtypes:   # float32 code: compared within its own precision
            rtol = max(rtol, 1e3 * float(np.finfo(self.dtypes[name]).eps))
        return self.atol, rtol, self.scale


def signs_of(at: Mapping, names: Sequence[str]) -> dict[str, float]:
    """+1 (-1) for each of ``names`` whose every entry in ``at`` is positive (negative)."""
    out = {}
    for n in names:
        arr = np.asarray(at[n], dtype=float)
        if arr.size and np.all(arr > 0):
            out[n] = 1.0
        elif arr.size and np.all(arr < 0):
            out[n] = -1.0
    return out


def signs_note(signs: Mapping[str, float]) -> str:
    """What the report says of the variables that kept their sign.

    >>> signs_note({"var": 1.0})
    'var stayed positive, as all its entries are at the point given (give entries of both signs to check others)'
    """
    parts = [f"{n} stayed {'positive' if s > 0 else 'negative'}" for n, s in signs.items()]
    return (", ".join(parts) + f", as all {'its' if len(parts) == 1 else 'their'} entries are "
            "at the point given (give entries of both signs to check others)")


def drawer(around: Mapping[str, Any], signs: Mapping[str, float]) -> Callable[..., Any]:
    """``points.draw`` for code: the kind ``near`` draws near the point given (relative
    spreads ``NEAR``), and a variable that keeps a sign gets it."""
    def draw_code(kind: str, leaf: Node, hints: list, rng: np.random.Generator) -> Any:
        sign = signs.get(leaf.name, 0.0)
        a = around.get(leaf.name)
        if kind == "near" and a is not None:
            a = np.asarray(a, dtype=float)
            spread = float(rng.choice(NEAR))
            noise = rng.standard_normal(a.shape)
            if sign:
                return a * np.exp(spread * noise)
            rms = float(np.sqrt(np.mean(a * a))) if a.size else 0.0
            return a + spread * (np.abs(a) + (rms or 1.0)) * noise
        v = np.asarray(draw("normal" if kind == "near" else kind, leaf, hints, rng), dtype=float)
        return sign * np.abs(v) if sign else v
    return draw_code
