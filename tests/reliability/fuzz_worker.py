"""The worker side of the entry-point fuzzer (tests/reliability/test_fuzz_entry_points.py).

The fuzzer's parent process draws calls as plain data (``R`` recipes inside lists, tuples
and dicts) and sends them, pickled, to a worker process running ``serve``; the worker
builds the arguments (variables, graphs, arrays, odd objects), makes the call under the
fuzz budget, uses the result as a user would (calls the function ``sd.value_and_grad``
returns, prints reports, displays) and answers with the outcome. A worker that does not
answer by the deadline is killed (a hang); one that dies is a crash. Both are restarted.

symdiff is imported on the first call, so a worker that only runs the harness's own
probes (``_hang``, ``_crash``, ``_raw``) starts in a fraction of a second.
"""
from __future__ import annotations

import contextlib
import io
import os
import pickle
import struct
import sys
import threading
import time
import traceback

SYMPY_LIMIT = 2.0
"""The fuzz budget for all SymPy work of one call (``symdiff.budget.limit``)."""
DOT_SECONDS = 2.0
"""Graphviz's layout time in the worker (``symdiff.teaching.dot.DOT_SECONDS``)."""
FD_SECONDS = 4.0
"""``sd.check``'s numeric budget (``fd_seconds``, its default)."""
MEMORY_MB = 3000
"""The worker's address-space cap, so a runaway allocation cannot take the shared machine."""


class R:
    """A recipe: ``kind`` and its arguments (themselves data or recipes), built in the worker."""
    __slots__ = ("kind", "args")

    def __init__(self, kind: str, *args):
        self.kind, self.args = kind, args

    def __getstate__(self):
        return (self.kind, self.args)

    def __setstate__(self, state):
        self.kind, self.args = state

    def __repr__(self) -> str:
        return f"R({self.kind!r}{''.join(', ' + repr(a) for a in self.args)})"


class UserBug(Exception):
    """What the fuzzer's own user functions raise on purpose."""


# ---------------------------------------------------------------------------
# building the arguments
# ---------------------------------------------------------------------------

class BuildRefused(Exception):
    """A public builder refused a recipe with a SymdiffError: the call is not made."""


class BuildFinding(Exception):
    """A public builder raised something other than a SymdiffError: a finding."""

    def __init__(self, step: str, error: BaseException):
        super().__init__(step)
        self.step, self.error = step, error


class _Odd:
    """Objects a user should not pass, each misbehaving its own way."""

    class FloatRaises:
        def __float__(self):
            raise UserBug("__float__")

        def __index__(self):
            raise UserBug("__index__")

    class EqRaises:
        def __eq__(self, other):
            raise UserBug("__eq__")

        __hash__ = object.__hash__

    class LenLies:
        def __len__(self):
            return 10**9

        def __iter__(self):
            return iter(())

        def __getitem__(self, i):
            raise IndexError(i)

    class HugeFloat(float):
        pass

    class StrSub(str):
        def __eq__(self, other):
            return False

        __hash__ = str.__hash__


def _odd(kind: str):
    import decimal
    import fractions

    import numpy as np
    import sympy
    makers = {
        "object": object, "float-raises": _Odd.FloatRaises, "eq-raises": _Odd.EqRaises,
        "len-lies": _Odd.LenLies, "float-subclass": lambda: _Odd.HugeFloat(1e308),
        "str-subclass": lambda: _Odd.StrSub("x"), "fraction": lambda: fractions.Fraction(1, 3),
        "decimal": lambda: decimal.Decimal("1e-400"), "decimal-nan": lambda: decimal.Decimal("nan"),
        "generator": lambda: (i for i in range(3)), "range": lambda: range(3),
        "set": lambda: {1.0, 2.0}, "frozenset": lambda: frozenset({"x"}),
        "sympy-symbol": lambda: sympy.Symbol("x"), "sympy-expr": lambda: sympy.sin(sympy.Symbol("x")),
        "sympy-matrix": lambda: sympy.Matrix([[1, 2], [3, 4]]), "sympy-oo": lambda: sympy.oo,
        "sympy-nan": lambda: sympy.nan, "np-longdouble": lambda: np.longdouble("1e4000"),
        "np-float16": lambda: np.float16(65504), "np-int64-max": lambda: np.int64(2**63 - 1),
        "np-uint64-max": lambda: np.uint64(2**64 - 1), "np-complex": lambda: np.complex128(1 + 2j),
        "np-datetime": lambda: np.datetime64("2020-01-01"), "np-str": lambda: np.str_("x"),
        "np-bool": lambda: np.bool_(True), "np-masked": lambda: np.ma.masked_array([1.0, 2.0], [0, 1]),
        "np-matrix": lambda: np.matrix([[1.0, 2.0]]), "np-object-array": lambda: np.array([1, "x"], object),
        "np-readonly": _readonly, "np-noncontig": lambda: np.arange(12.0).reshape(3, 4)[:, ::2],
        "np-fortran": lambda: np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "np-structured": lambda: np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]),
        "memoryview": lambda: memoryview(b"abc"), "bytearray": lambda: bytearray(b"x"),
        "ellipsis": lambda: ..., "slice": lambda: slice(None, None, -1), "type": lambda: float,
        "module": lambda: np, "function": lambda: (lambda *a, **k: 1.0),
        "self-list": _self_list, "deep-list": lambda: _deep([1.0], 5000),
        "deep-tuple": lambda: _deep((1.0,), 3000), "big-int": lambda: 10**5000,
        "exception": lambda: ValueError("x"), "torch": _torch,
    }
    return makers[kind]()


ODD_KINDS = ["object", "float-raises", "eq-raises", "len-lies", "float-subclass", "str-subclass",
             "fraction", "decimal", "decimal-nan", "generator", "range", "set", "frozenset",
             "sympy-symbol", "sympy-expr", "sympy-matrix", "sympy-oo", "sympy-nan",
             "np-longdouble", "np-float16", "np-int64-max", "np-uint64-max", "np-complex",
             "np-datetime", "np-str", "np-bool", "np-masked", "np-matrix", "np-object-array",
             "np-readonly", "np-noncontig", "np-fortran", "np-structured", "memoryview",
             "bytearray", "ellipsis", "slice", "type", "module", "function", "self-list",
             "deep-list", "deep-tuple", "big-int", "exception", "torch"]


def _readonly():
    import numpy as np
    a = np.arange(3.0)
    a.flags.writeable = False
    return a


def _self_list():
    a: list = [1.0]
    a.append(a)
    return a


def _deep(inner, depth):
    for _ in range(depth):
        inner = [inner] if isinstance(inner, list) else (inner,)
    return inner


def _torch():
    try:
        import torch
    except ImportError:
        return 1.0
    return torch.ones(2, dtype=torch.float64, requires_grad=True)


def user_function(kind: str):
    """Functions a user might hand to ``sd.from_function`` or as a claim."""
    import numpy as np

    def loss(x):
        return np.sum(np.sin(x) * x)

    def two(x, y):
        return x * y + np.exp(x)

    def raises(x):
        raise UserBug("inside the user's function")

    def returns_str(x):
        return "not a number"

    def returns_none(x):
        return None

    def returns_list(x):
        return [x, x]

    def recurse(x):
        return recurse(x)

    def varargs(*args, **kwargs):
        return sum(args)

    def wrong_grad(x):
        return 3.0 * x

    def nan_grad(x):
        return x * np.nan

    def uses_python_if(x):
        return x if x > 0 else -x

    def uses_float(x):
        return float(x) * 2

    def unsupported_numpy(x):
        return np.fft.fft(x)

    def mutates(x):
        x[0] = 1.0
        return x

    def huge(x):
        return x ** 1e308

    return {"loss": loss, "two": two, "raises": raises, "returns_str": returns_str,
            "returns_none": returns_none, "returns_list": returns_list, "recurse": recurse,
            "varargs": varargs, "wrong_grad": wrong_grad, "nan_grad": nan_grad,
            "uses_python_if": uses_python_if, "uses_float": uses_float,
            "unsupported_numpy": unsupported_numpy, "mutates": mutates, "huge": huge,
            "builtin_len": len, "np_sin": np.sin, "lambda": lambda x: x}[kind]


USER_FUNCTIONS = ["loss", "two", "raises", "returns_str", "returns_none", "returns_list",
                  "recurse", "varargs", "wrong_grad", "nan_grad", "uses_python_if",
                  "uses_float", "unsupported_numpy", "mutates", "huge", "builtin_len",
                  "np_sin", "lambda"]


class Auto:
    """A point or claims to make for the call's own f, once the arguments are built."""

    def __init__(self, kind: str, style: str):
        self.kind, self.style = kind, style


def _leaves(f):
    import symdiff as sd
    if not isinstance(f, sd.Node):
        return []
    seen = {}
    for n in f.nodes():
        if n.op == "var":
            seen.setdefault(n.name, n)
    return list(seen.values())


def _point(f, style: str) -> dict:
    import numpy as np
    rng = np.random.default_rng(len(style))
    value = {"normal": lambda s: rng.normal(size=s) + 0.3, "zero": np.zeros,
             "kink": lambda s: np.zeros(s) + (np.eye(s[0]) if len(s) == 2 and s[0] == s[1] else 0),
             "nan": lambda s: np.full(s, np.nan), "huge": lambda s: np.full(s, 1e300),
             "tiny": lambda s: np.full(s, 5e-324), "int": lambda s: np.ones(s, dtype=int),
             "negative": lambda s: -np.abs(rng.normal(size=s)) - 1,
             "list": lambda s: (rng.normal(size=s) + 2).tolist()}[style]
    point = {}
    for leaf in _leaves(f):
        v = value(leaf.shape)
        point[leaf.name] = float(v) if leaf.shape == () and style != "list" else v
    return point


def _claims(f, style: str) -> dict:
    import symdiff as sd
    claims = {}
    leaves = _leaves(f)
    for i, leaf in enumerate(leaves):
        true = str(sd.diff(f, leaf).sympy(sympy_seconds=1.0))
        other = str(leaves[(i + 1) % len(leaves)].name)
        claims[leaf.name] = {"true": true, "wrong": f"({true}) + 1", "scaled": f"2*({true})",
                             "plus-where": f"{true} + where({leaf.name} > 1e7, 1, 0)"
                             if leaf.shape == () else f"{true} + 0*{leaf.name}",
                             "tiny-off": f"{true} + 1e-15", "zero": "0",
                             "swapped": other}[style]
    return claims


def resolve(value, f, top: bool = True):
    """Replace each ``Auto`` among the arguments (a list) or keyword arguments (a dict) by
    what it stands for, for ``f`` (they are never deeper)."""
    if isinstance(value, Auto):
        return _point(f, value.style) if value.kind == "point" else _claims(f, value.style)
    if top and type(value) is list:
        return [resolve(v, f, False) for v in value]
    if top and type(value) is dict:
        return {k: resolve(v, f, False) for k, v in value.items()}
    return value


def _through_symdiff(e: BaseException) -> bool:
    """Whether symdiff's (or numeric's) code is on the traceback of ``e``."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return any(frame.filename.startswith((os.path.join(here, "symdiff"),
                                          os.path.join(here, "numeric")))
               for frame in traceback.extract_tb(e.__traceback__))


class Builder:
    """Turns recipes into arguments, counting the public builder calls it makes."""

    def __init__(self, tmpdir: str):
        self.tmpdir = tmpdir

    def __call__(self, r):
        if isinstance(r, R):
            return self.recipe(r)
        if type(r) is list:
            return [self(a) for a in r]
        if type(r) is tuple:
            return tuple(self(a) for a in r)
        if type(r) is dict:
            try:
                return {self(k): self(v) for k, v in r.items()}
            except TypeError as e:   # an unhashable key (an array): no such dict exists
                if "unhashable" not in str(e):
                    raise
                raise BuildRefused("unhashable key") from None
        return r

    def recipe(self, r: R):
        import numpy as np
        if r.kind == "odd":
            return _odd(r.args[0])
        if r.kind == "fn":
            return user_function(r.args[0])
        if r.kind == "path":
            name, suffix = r.args
            return os.path.join(self.tmpdir, f"{name}{suffix}")
        if r.kind in ("point", "claims"):
            return Auto(r.kind, r.args[0])
        if r.kind == "array":
            dtype, shape, fill = r.args
            try:
                return np.full(shape, fill, dtype=dtype)
            except (ValueError, TypeError, OverflowError, MemoryError) as e:
                raise BuildRefused(f"numpy: {type(e).__name__}") from None
        args = [self(a) for a in r.args]
        return self.public(r.kind, args)

    def public(self, kind: str, args: list):
        """One call of the public API while building an argument."""
        import operator


        import symdiff as sd
        try:
            if kind == "bin":
                op, a, b = args
                return getattr(operator, op)(a, b)
            if kind == "un":
                op, a = args
                return getattr(operator, op)(a)
            if kind in ("attr", "index", "method") and not isinstance(args[0], sd.Node):
                raise BuildRefused(f"{kind} of a {type(args[0]).__name__}")  # (SymPy's result)
            if kind == "attr":
                return getattr(args[0], args[1])
            if kind == "index":
                return args[0][args[1]]
            if kind == "method":
                obj, name, pos, kw = args
                return getattr(obj, name)(*pos, **kw)
            if kind == "ufunc":
                name, pos = args
                return np_attr(name)(*pos)
            if kind == "sd":
                name, pos, kw = args
                return getattr(sd, name)(*pos, **kw)
        except sd.SymdiffError as e:
            raise BuildRefused(f"{kind}: {type(e).__name__}") from None
        except AssertionError:
            raise
        except Exception as e:
            if kind in ("bin", "un") and not isinstance(args[1], sd.Node) and \
                    not _through_symdiff(e):   # the other operand's library raised alone
                raise BuildRefused(f"{kind}: {type(args[1]).__name__}'s own operator") from None
            raise BuildFinding(f"{kind} {args[0] if isinstance(args[0], str) else ''}".strip(),
                               e) from None
        raise ValueError(f"unknown recipe {kind!r}")


# ---------------------------------------------------------------------------
# the calls
# ---------------------------------------------------------------------------

def _consume(result, tmpdir: str) -> None:
    """Use a result as a user would: print it, display it, call it."""
    import symdiff as sd
    if isinstance(result, sd.Node):
        repr(result)
        return
    if isinstance(result, (list, tuple)):
        for item in result[:4]:
            _consume(item, tmpdir)
        return
    for method in ("__str__", "_repr_html_", "_repr_latex_", "_repr_mimebundle_"):
        if type(result) is not str and hasattr(result, method) and \
                type(result).__module__.startswith("symdiff"):
            getattr(result, method)()
    if type(result).__module__.startswith("symdiff") and hasattr(result, "save"):
        result.save(os.path.join(tmpdir, "page.html"))


def np_attr(name: str):
    """``np.linalg.det`` from ``"linalg.det"``."""
    import numpy as np
    obj = np
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def call(entry: str, args: list, kwargs: dict, tmpdir: str):
    """Make one call of ``entry``; returns the result (already used)."""
    import numpy as np

    import symdiff as sd
    if entry.startswith("cli "):
        return _cli(args[0])
    if entry == "assert_gradient":
        from symdiff.testing import assert_gradient
        return assert_gradient(*args, **kwargs)
    if entry.startswith("Node."):
        node, *rest = args
        name = entry[len("Node."):]
        name = name if name == "backward then grad" else name.split()[0]
        if name == "repr":
            return repr(node)
        if name == "str":
            return str(node)
        if name == "backward then grad":
            node.backward(*rest, **kwargs)
            return [n.grad for n in node.nodes() if n.requires_grad]
        if name == "operator":
            import operator
            op, other = rest
            return getattr(operator, op)(node, other)
        if name == "ufunc":
            ufunc, *others = rest
            return np_attr(ufunc)(node, *others, **kwargs)
        if name == "getitem":
            return node[rest[0]]
        if name in ("float", "bool", "len", "iter", "array", "hash"):
            fn = {"float": float, "bool": bool, "len": len, "iter": lambda n: list(iter(n)),
                  "array": np.asarray, "hash": hash}[name]
            return fn(node)
        attr = getattr(node, name)
        return attr(*rest, **kwargs) if callable(attr) else attr
    if entry == "value_and_grad then call":
        f, wrt, point = args
        vg = sd.value_and_grad(f, wrt)
        return vg(point) if isinstance(point, dict) and not kwargs else vg(**kwargs)
    if entry == "randn after manual_seed":
        seed, *shape = args
        sd.manual_seed(seed)
        return sd.randn(*shape, **kwargs)
    return getattr(sd, entry)(*args, **kwargs)


def _cli(argv: list):
    """``symdiff`` in-process: the status must be 0, 1 or 2, an error one line."""
    from symdiff.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return ("cli", code, out.getvalue()[-2000:], err.getvalue()[:20000])


def cli_problem(code, out: str, err: str):
    """What is wrong with how a command ended, or None."""
    if "Traceback" in err or "Traceback" in out:
        return "a traceback"
    if code not in (0, 1, 2):
        return f"exit status {code}"
    if code == 2:
        if err.startswith("usage:"):   # argparse's own usage error: usage lines + one error
            return None if err.rstrip().splitlines()[-1].startswith("symdiff") else \
                "a usage error without its error line"
        if not err.startswith("symdiff: error:") or len(err.strip().splitlines()) != 1:
            return "an error that is not one line 'symdiff: error: ...'"
        if "internal error" in err:
            return "an internal error"
    return None


def budget_of(entry: str) -> float:
    """The time ``entry`` may take: SymPy's limit, plus sd.check's numeric budget where it
    runs a check, plus Graphviz's layout time where it draws."""
    seconds = SYMPY_LIMIT
    if entry in ("check", "show", "verify", "assert_gradient", "cli diff", "cli verify"):
        seconds += FD_SECONDS
    if entry in ("render", "show", "cli graph"):
        seconds += DOT_SECONDS
    return seconds


def run_one(entry: str, recipe, tmpdir: str, build: Builder) -> dict:
    """Build and make one call; the outcome as plain data."""
    import symdiff as sd
    from symdiff.budget import OutOfTime, limit
    if entry == "_hang":
        while True:
            time.sleep(0.01)
    if entry == "_crash":
        os.abort()
    if entry == "_raw":
        raise KeyError("raw")
    try:
        args, kwargs = build(recipe)
        f = next((a for a in args if isinstance(a, sd.Node)), None)
        try:
            args, kwargs = resolve(args, f), resolve(kwargs, f)
        except (sd.SymdiffError, OutOfTime):
            raise BuildRefused("no claims for f") from None
    except BuildRefused as e:
        return {"outcome": "build refused", "detail": str(e), "seconds": 0.0}
    except BuildFinding as e:
        return {"outcome": "finding", "where": f"building: {e.step}",
                "error": f"{type(e.error).__name__}: {str(e.error)[:300]}",
                "trace": "".join(traceback.format_exception(e.error))[-3000:], "seconds": 0.0}
    start = time.perf_counter()
    try:
        with limit(SYMPY_LIMIT):
            result = call(entry, args, kwargs, tmpdir)
            if isinstance(result, tuple) and result[:1] == ("cli",):
                _, code, out, err = result
                problem = cli_problem(code, out, err)
                outcome = {"outcome": f"exit {code}"}
                if problem:
                    outcome = {"outcome": "finding", "where": "command line",
                               "error": f"{problem}: exit {code}, stderr "
                                        f"({len(err.splitlines())} lines) {err[:600]!r}"}
            else:
                _consume(result, tmpdir)
                outcome = {"outcome": "returned"}
    except sd.SymdiffError as e:
        message = str(e)
        outcome = {"outcome": type(e).__name__}
        if not message.strip():
            outcome = {"outcome": "finding", "where": entry,
                       "error": f"{type(e).__name__} with an empty message"}
    except AssertionError as e:
        outcome = {"outcome": "AssertionError"}
        if entry != "assert_gradient":
            outcome = {"outcome": "finding", "where": entry, "error": f"AssertionError: {e}",
                       "trace": traceback.format_exc()[-3000:]}
    except (Exception, OutOfTime, RecursionError) as e:
        outcome = {"outcome": "finding", "where": entry,
                   "error": f"{type(e).__name__}: {str(e)[:300]}",
                   "trace": traceback.format_exc()[-3000:]}
    outcome["seconds"] = time.perf_counter() - start
    outcome["budget"] = budget_of(entry)
    alive = [t for t in threading.enumerate() if "budget" in t.name and t.is_alive()]
    if alive:   # budget workers must stop with their call (allow them 2 s to wind down)
        deadline = time.monotonic() + 2.0
        while alive and time.monotonic() < deadline:
            time.sleep(0.05)
            alive = [t for t in alive if t.is_alive()]
        if alive:
            outcome = {"outcome": "finding", "where": entry, "seconds": outcome["seconds"],
                       "budget": outcome["budget"],
                       "error": f"{len(alive)} budget worker thread(s) still running 2 s "
                                f"after the call ended ({outcome.get('outcome')})"}
    return outcome


# ---------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------

def _read(fd: int):
    head = b""
    while len(head) < 4:
        chunk = os.read(fd, 4 - len(head))
        if not chunk:
            return None
        head += chunk
    (n,) = struct.unpack("<I", head)
    body = b""
    while len(body) < n:
        chunk = os.read(fd, n - len(body))
        if not chunk:
            return None
        body += chunk
    return pickle.loads(body)


def _write(fd: int, obj) -> None:
    data = pickle.dumps(obj)
    data = struct.pack("<I", len(data)) + data
    while data:
        data = data[os.write(fd, data):]


def _warm_up() -> None:
    import symdiff as sd
    from symdiff.teaching import dot
    dot.DOT_SECONDS = DOT_SECONDS
    x = sd.var("x")
    sd.check(sd.sin(x) * x, at={"x": 0.5})
    repr(x ** 2)


def serve(requests: int, answers: int, tmpdir: str) -> None:
    """Answer ``(entry, recipe)`` requests until the parent closes the pipe."""
    try:
        import resource
        cap = MEMORY_MB * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, ValueError, OSError):
        pass
    sys.setrecursionlimit(1000)
    build = Builder(tmpdir)
    warm = False
    while True:
        request = _read(requests)
        if request is None:
            return
        entry, recipe = request
        if not warm and not entry.startswith("_"):
            _warm_up()
            warm = True
        try:
            outcome = run_one(entry, recipe, tmpdir, build)
        except BaseException as e:   # outside the call itself (the probes)
            outcome = {"outcome": "finding", "where": entry, "seconds": 0.0, "budget": 0.0,
                       "error": f"{type(e).__name__}: {str(e)[:300]}",
                       "trace": traceback.format_exc()[-3000:]}
        _write(answers, outcome)


if __name__ == "__main__":
    # run the module's own copy, so that the recipes unpickle as instances of its R
    import fuzz_worker
    fuzz_worker.serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
