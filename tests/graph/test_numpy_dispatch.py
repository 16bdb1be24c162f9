"""numpy on Nodes: every supported ufunc, the registered numpy functions, the array
methods, and a clear ``sd.UnsupportedError`` for everything else.

The ufunc sweep reads ``symdiff.graph.numpy_api``, so a table row named like a ufunc (or
a function registered later) is covered the moment it exists: each ufunc's result on
Nodes, with the Node in every position and numbers and arrays beside it, must equal the
ufunc on the numbers. The methods whose numpy function another part registers (``max``,
``prod``, ``var``...) are checked against numpy once registered and must raise
``UnsupportedError`` naming the numpy function until then.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import symdiff as sd
from numeric import PRIMITIVES
from symdiff.graph import numpy_api
from symdiff.graph.numpy_api import FUNCTIONS, ufunc_row, ufunc_supported

RNG = np.random.default_rng(14)
UFUNCS = sorted({getattr(np, n).__name__ for n in dir(np)
                 if isinstance(getattr(np, n), np.ufunc)})
SUPPORTED = [n for n in UFUNCS if ufunc_supported(getattr(np, n))]
UNSUPPORTED = [n for n in UFUNCS if not ufunc_supported(getattr(np, n))]

# inputs for the ufuncs that are not "elementwise with entries drawn from the row's domain"
SPECIAL_INPUTS = {
    "matmul": lambda: [RNG.normal(size=(2, 3)), RNG.normal(size=(3,))],
    "power": lambda: [RNG.uniform(0.2, 3.0, (3,)), RNG.uniform(-2, 2, (3,))],
    "float_power": lambda: [RNG.uniform(0.2, 3.0, (3,)), RNG.uniform(-2, 2, (3,))],
    "heaviside": lambda: [np.array([-1.0, 0.0, 2.0]), 0.25],
    "vecdot": lambda: [RNG.normal(size=(2, 3)), RNG.normal(size=(3,))],
    "matvec": lambda: [RNG.normal(size=(4, 2, 3)), RNG.normal(size=(4, 3))],
    "vecmat": lambda: [RNG.normal(size=(4, 2)), RNG.normal(size=(4, 2, 3))],
}


def _inputs(name: str) -> list:
    if name in SPECIAL_INPUTS:
        return SPECIAL_INPUTS[name]()
    ufunc = getattr(np, name)
    row = ufunc_row(name)
    sample = PRIMITIVES[row].domain.sample if row else ((-3.0, 3.0),) * ufunc.nin
    return [RNG.uniform(lo, hi, (3,)) for lo, hi in sample[:ufunc.nin]]


def test_the_sweep_has_inputs_for_every_ufunc_that_is_not_plainly_elementwise():
    for name in SUPPORTED:
        row = ufunc_row(name)
        plain = row is not None and PRIMITIVES[row].kind == "elementwise" and \
            PRIMITIVES[row].arity == getattr(np, name).nin
        assert plain or name in SPECIAL_INPUTS or name in numpy_api.COMPOSITE_UFUNCS, name
    assert {"add", "exp", "matmul", "maximum", "square", "power"} <= set(SUPPORTED)


@pytest.mark.parametrize("name", SUPPORTED)
def test_every_supported_ufunc_matches_numpy_with_the_node_anywhere(name):
    ufunc = getattr(np, name)
    values = _inputs(name)
    with np.errstate(all="ignore"):
        expected = ufunc(*values)
    arrays = [i for i, v in enumerate(values) if isinstance(v, np.ndarray)]
    for k in arrays:          # the Node in each position, numbers/arrays in the others
        args = list(values)
        args[k] = sd.tensor(values[k])
        out = ufunc(*args)
        assert isinstance(out, sd.Node), (name, k)
        np.testing.assert_allclose(np.asarray(out.data, dtype=float), expected, rtol=1e-12,
                                   err_msg=f"{name} with the Node as input {k + 1}")
    # on free variables: the graph, evaluated, gives numpy's numbers
    names = [f"v{i}" for i in range(len(values))]
    free = [sd.var(n, np.shape(v)) if i in arrays else v
            for i, (n, v) in enumerate(zip(names, values))]
    graph = ufunc(*free)
    got = graph.eval(**{n: values[i] for i, n in enumerate(names) if i in arrays})
    np.testing.assert_allclose(np.asarray(got, dtype=float), expected, rtol=1e-12)


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_every_other_ufunc_is_an_unsupported_error_naming_it(name):
    ufunc = getattr(np, name)
    x = sd.var("x", (3,))
    args = [x] + [np.ones(3)] * (ufunc.nin - 1)
    with pytest.raises(sd.UnsupportedError, match=rf"numpy\.{name}\b.*sd\.supported_numpy\(\)"):
        ufunc(*args)


def test_ufunc_mixes_numbers_arrays_and_nodes():
    x, A = sd.var("x", (3,)), sd.var("A", (2, 3))
    a = np.arange(3.0)
    assert (a + x).op == "add" and (x + a).op == "add"
    assert (a * A).shape == (2, 3) and (np.float64(2.0) * x).op == "mul"
    assert np.maximum(0, A).op == "maximum" and np.maximum(A, a).shape == (2, 3)
    assert (a ** x).op == "pow_tensor" and np.power(x, 2).op == "pow"
    assert (np.ones((4, 2)) @ A).shape == (4, 3)
    assert (a > x).dtype == "bool" and np.less(x, 1.0).op == "less"
    assert np.subtract(1.0, x).eval(x=a).tolist() == [1.0, 0.0, -1.0]


@pytest.mark.parametrize("kwargs, pattern", [
    ({"out": np.zeros(3)}, r"numpy\.exp: out= cannot write into a symdiff Node"),
    ({"where": np.array([True, False, True])}, r"numpy\.exp: where= is not supported"),
    ({"dtype": np.float32}, r"numpy\.exp: dtype=.*float32.*float64 only"),
    ({"dtype": int}, r"numpy\.exp: dtype="),
    ({"casting": "unsafe"}, r"numpy\.exp: casting='unsafe' is not supported"),
    ({"order": "F"}, r"numpy\.exp: order='F' is not supported"),
    ({"subok": False}, r"numpy\.exp: subok=False is not supported"),
])
def test_ufunc_keywords_a_graph_cannot_honour_are_refused_by_name(kwargs, pattern):
    with pytest.raises(sd.UnsupportedError, match=pattern):
        np.exp(sd.var("x", (3,)), **kwargs)


def test_ufunc_keywords_that_change_nothing_are_accepted():
    x = sd.tensor([0.0, 1.0])
    out = np.exp(x, dtype=np.float64, casting="same_kind", where=True, order="K")
    assert out.data.tolist() == [1.0, math.e]


def test_ufunc_methods_reduce_accumulate_outer():
    A = sd.var("A", (2, 3))
    a = RNG.normal(size=(2, 3))
    assert np.add.reduce(A).shape == (3,)           # the ufunc methods reduce axis 0
    np.testing.assert_allclose(np.add.reduce(A).eval(A=a), a.sum(0))
    np.testing.assert_allclose(np.add.reduce(A, axis=None).eval(A=a), a.sum())
    assert np.add.reduce(A, axis=1, keepdims=True).shape == (2, 1)
    u, v = sd.var("u", (3,)), sd.var("v", (2,))
    uu, vv = RNG.normal(size=3), RNG.normal(size=2)
    np.testing.assert_allclose(np.multiply.outer(u, v).eval(u=uu, v=vv), np.outer(uu, vv))
    np.testing.assert_allclose(np.subtract.outer(A, v).eval(A=a, v=vv),
                               np.subtract.outer(a, vv))
    assert np.subtract.outer(A, v).shape == (2, 3, 2)
    for name in ("at", "reduceat"):
        with pytest.raises(sd.UnsupportedError, match=rf"numpy\.add\.{name}"):
            getattr(np.add, name)(A, [0], 1.0) if name == "at" else np.add.reduceat(A, [0])
    with pytest.raises(sd.UnsupportedError, match=r"numpy\.add\.reduce: out="):
        np.add.reduce(A, out=np.zeros(3))
    with pytest.raises(sd.UnsupportedError, match=r"numpy\.subtract\.reduce"):
        np.subtract.reduce(A)


@pytest.mark.parametrize("ufunc, method, fn", [
    (np.multiply, "reduce", np.prod), (np.maximum, "reduce", np.max),
    (np.minimum, "reduce", np.min), (np.add, "accumulate", np.cumsum)])
def test_ufunc_methods_that_are_numpy_functions_follow_their_registration(ufunc, method, fn):
    A = sd.var("A", (2, 3))
    a = RNG.uniform(0.5, 2.0, (2, 3))
    call = getattr(ufunc, method)
    if fn in FUNCTIONS:      # registered (by the reductions part): numpy's numbers
        np.testing.assert_allclose(call(A, axis=1).eval(A=a), call(a, axis=1), rtol=1e-12)
    else:                    # not yet: refused, naming both spellings
        with pytest.raises(sd.UnsupportedError,
                           match=rf"numpy\.{ufunc.__name__}\.{method}.*numpy\.{fn.__name__}"):
            call(A, axis=1)


# ---- numpy functions ----------------------------------------------------------------------

A0 = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
X0 = RNG.normal(size=(4, 3))
V0 = RNG.normal(size=3)
T0 = RNG.normal(size=(2, 3, 4))

FUNCTION_CASES = [
    ("sum", lambda np_, A, X, v, T: np_.sum(X)),
    ("sum axis", lambda np_, A, X, v, T: np_.sum(T, axis=(0, 2))),
    ("sum keepdims", lambda np_, A, X, v, T: np_.sum(X, axis=0, keepdims=True)),
    ("sum initial", lambda np_, A, X, v, T: np_.sum(v, initial=2.5)),
    ("sum dtype", lambda np_, A, X, v, T: np_.sum(X, 1, np.float64)),
    ("mean", lambda np_, A, X, v, T: np_.mean(T, axis=-1)),
    ("mean keepdims", lambda np_, A, X, v, T: np_.mean(X, 0, keepdims=True)),
    ("where", lambda np_, A, X, v, T: np_.where(X > 0, X, 0.1 * X)),
    ("where array cond", lambda np_, A, X, v, T: np_.where(np.array([1.0, 0.0, 2.0]), v, -v)),
    ("dot 0-d", lambda np_, A, X, v, T: np_.dot(2.0, v)),
    ("dot 1-1", lambda np_, A, X, v, T: np_.dot(v, v)),
    ("dot 2-1", lambda np_, A, X, v, T: np_.dot(X, v)),
    ("dot 1-2", lambda np_, A, X, v, T: np_.dot(v, A)),
    ("dot 2-2", lambda np_, A, X, v, T: np_.dot(X, A)),
    ("dot 3-2", lambda np_, A, X, v, T: np_.dot(T.transpose(0, 2, 1), A)),
    ("dot 1-3", lambda np_, A, X, v, T: np_.dot(v, T)),
    ("dot 2-3", lambda np_, A, X, v, T: np_.dot(X, T)),
    ("dot 3-3", lambda np_, A, X, v, T: np_.dot(T, T.transpose(1, 2, 0))),
    ("matmul", lambda np_, A, X, v, T: np_.matmul(X, A)),
    ("linalg.matmul", lambda np_, A, X, v, T: np_.linalg.matmul(X, v)),
    ("transpose", lambda np_, A, X, v, T: np_.transpose(T)),
    ("transpose axes", lambda np_, A, X, v, T: np_.transpose(T, (1, 0, 2))),
    ("permute_dims", lambda np_, A, X, v, T: np_.permute_dims(T, (2, 0, 1))),
    ("matrix_transpose", lambda np_, A, X, v, T: np_.matrix_transpose(T)),
    ("reshape", lambda np_, A, X, v, T: np_.reshape(T, (4, -1))),
    ("reshape int", lambda np_, A, X, v, T: np_.reshape(X, 12)),
    ("ravel", lambda np_, A, X, v, T: np_.ravel(X)),
    ("broadcast_to", lambda np_, A, X, v, T: np_.broadcast_to(v, (2, 3))),
    ("trace", lambda np_, A, X, v, T: np_.trace(A)),
    ("det", lambda np_, A, X, v, T: np_.linalg.det(A)),
    ("inv", lambda np_, A, X, v, T: np_.linalg.inv(A)),
    ("abs", lambda np_, A, X, v, T: np_.abs(X)),
    ("tanh", lambda np_, A, X, v, T: np_.tanh(X)),
    ("zeros_like", lambda np_, A, X, v, T: np_.zeros_like(X) + X),
    ("ones_like", lambda np_, A, X, v, T: np_.ones_like(v) * v),
    ("full_like", lambda np_, A, X, v, T: np_.full_like(v, 2.5) - v),
    ("copy", lambda np_, A, X, v, T: np_.copy(X)),
    ("softmax", lambda np_, A, X, v, T: np_.exp(v) / np_.sum(np_.exp(v))),
    # -- var and std: graphs of rows
    ("var", lambda np_, A, X, v, T: np_.var(v)),
    ("var axis keepdims", lambda np_, A, X, v, T: np_.var(T, axis=(0, 2), keepdims=True)),
    ("var ddof", lambda np_, A, X, v, T: np_.var(X, axis=0, ddof=1)),
    ("var correction", lambda np_, A, X, v, T: np_.var(X, correction=1)),
    ("var mean=", lambda np_, A, X, v, T: np_.var(X, axis=1, mean=np_.mean(X, 1, keepdims=True))),
    ("std", lambda np_, A, X, v, T: np_.std(X, axis=1)),
    ("std ddof keepdims", lambda np_, A, X, v, T: np_.std(T, axis=-1, ddof=1, keepdims=True)),
    ("layer norm", lambda np_, A, X, v, T: (X - np_.mean(X, axis=1, keepdims=True))
     / np_.sqrt(np_.var(X, axis=1, keepdims=True) + 1e-5)),
]


@pytest.mark.parametrize("label, fn", FUNCTION_CASES, ids=[c[0] for c in FUNCTION_CASES])
def test_numpy_functions_on_nodes_give_numpys_numbers_and_gradients(label, fn):
    expected = fn(np, A0, X0, V0, T0)
    names = dict(A=(3, 3), X=(4, 3), v=(3,), T=(2, 3, 4))
    free = {n: sd.var(n, s) for n, s in names.items()}
    graph = fn(np, **free)
    assert isinstance(graph, sd.Node)
    at = {"A": A0, "X": X0, "v": V0, "T": T0}
    used = {n: at[n] for n in sorted(sd.graph.walks.free_names(graph))}
    np.testing.assert_allclose(graph.eval(**used), expected, rtol=1e-10, atol=1e-12)
    # bound tensors compute at once, as PyTorch does
    bound = fn(np, *(sd.tensor(at[n]) for n in names))
    np.testing.assert_allclose(bound.data, expected, rtol=1e-10, atol=1e-12)
    # the gradient: closed form vs reverse mode vs finite differences
    scalar = sd.sum(graph * RNG.normal(size=graph.shape)) if graph.shape else graph
    report = sd.check(scalar, at=used)
    assert report.ok, str(report)


def test_shape_queries_are_python_values():
    T = sd.var("T", (2, 3, 4))
    assert np.ndim(T) == 3 and type(np.ndim(T)) is int
    assert np.shape(T) == (2, 3, 4) and all(type(d) is int for d in np.shape(T))
    assert np.size(T) == 24 and np.size(T, 1) == 3 and type(np.size(T)) is int
    assert len(T) == 2 and type(T.shape[0]) is int and type(len(T)) is int
    assert type(T.reshape(-1).shape[0]) is int and type(T.sum(axis=0).shape[0]) is int


@pytest.mark.parametrize("call, pattern", [
    (lambda x: np.where(x > 0), r"numpy\.where\(condition\) with one argument.*np\.where\("
                                r"condition, x, y\)"),
    (lambda x: np.sum(x, out=np.zeros(())), r"numpy\.sum: out= cannot write"),
    (lambda x: np.sum(x, where=x > 0), r"numpy\.sum: where= is not supported"),
    (lambda x: np.mean(x, dtype=np.float32), r"numpy\.mean: dtype="),
    (lambda x: np.reshape(x, (3,), order="F"), r"numpy\.reshape: order='F'"),
    (lambda x: np.dot(x, x, out=np.zeros(())), r"numpy\.dot: out="),
    (lambda x: np.zeros_like(x, dtype=int), r"numpy\.zeros_like: dtype="),
    (lambda x: np.isfinite(x), r"numpy\.isfinite is not supported"),
    (lambda x: np.sort(x), r"numpy\.sort is not supported.*sd\.supported_numpy\(\)"),
    (lambda x: np.fft.fft(x), r"numpy\.fft\.fft is not supported"),
    (lambda x: np.linalg.qr(x.reshape(3, 1)), r"numpy\.linalg\.qr is not supported"),
    (lambda x: np.round(x), r"numpy\.round is not supported"),
    (lambda x: np.unique(x), r"numpy\.unique is not supported"),
    (lambda x: np.allclose(x, 1.0), r"numpy\.allclose is not supported"),
    (lambda x: np.argsort(x), r"numpy\.argsort is not supported"),
    (lambda x: np.equal(x, 1.0), r"numpy\.equal is not supported"),
])
def test_numpy_functions_symdiff_cannot_do_are_unsupported_errors(call, pattern):
    with pytest.raises(sd.UnsupportedError, match=pattern) as e:
        call(sd.var("x", (3,)))
    assert isinstance(e.value, sd.SymdiffError) and isinstance(e.value, TypeError)


def test_values_that_need_no_gradient_behave_as_their_arrays():
    t = sd.tensor([3.0, 1.0, 2.0])
    assert np.sort(t).tolist() == [1.0, 2.0, 3.0]          # a plain numpy result
    assert np.allclose(t, [3.0, 1.0, 2.0]) and np.isfinite(t).all()
    assert np.asarray(t).tolist() == [3.0, 1.0, 2.0]
    w = sd.tensor([3.0, 1.0], requires_grad=True)
    with pytest.raises(sd.UnsupportedError, match=r"numpy\.sort"):
        np.sort(w)                      # its gradient would be lost: refused
    assert isinstance(np.exp(t), sd.Node)                 # supported: still a graph


def test_a_free_node_has_no_numbers_to_give():
    x = sd.var("x", (3,))
    with pytest.raises(sd.UnsupportedError, match=r"has no value: numpy asked for its numbers \(np\.asarray.*free variables \(x\)"):
        np.asarray(x)
    with pytest.raises(sd.UnsupportedError, match=r"float\(\) needs a number.*np\.exp"):
        math.exp(sd.var("y"))
    with pytest.raises(sd.UnsupportedError, match="float"):
        float(sd.var("y") * 2)


def test_int_and_round_of_a_value_are_numbers_and_of_a_free_node_are_refused():
    assert int(sd.tensor(3.7)) == 3 and round(sd.tensor(3.7)) == 4
    assert round(sd.tensor(3.14159), 2) == 3.14
    with pytest.raises(sd.UnsupportedError, match=r"int\(\) needs a number.*x\.shape\[0\]"):
        int(sd.var("x"))
    with pytest.raises(sd.UnsupportedError, match=r"round\(\) needs a number"):
        round(sd.var("x") * 2)


def test_supported_numpy_lists_the_mapping():
    names = sd.supported_numpy()
    assert names == sorted(set(names))
    for expected in ("numpy.sum", "numpy.mean", "numpy.where", "numpy.dot", "numpy.matmul",
                     "numpy.linalg.det", "numpy.linalg.inv", "numpy.exp", "numpy.abs",
                     "numpy.absolute", "numpy.maximum", "numpy.square", "numpy.shape"):
        assert expected in names, expected
    assert "numpy.sort" not in names and "numpy.floor" not in names
    assert {numpy_api.numpy_name(f) for f in FUNCTIONS} <= set(names)


# ---- array methods ---------------------------------------------------------------------

def test_array_methods_that_exist_give_numpys_numbers():
    X = sd.var("X", (4, 3))
    v = sd.var("v", (3,))
    at = {"X": X0, "v": V0}
    cases = [
        (X.sum(), X0.sum()), (X.sum(axis=0), X0.sum(axis=0)), (X.sum(1, keepdims=True),
                                                               X0.sum(1, keepdims=True)),
        (X.mean(), X0.mean()), (X.mean(axis=1), X0.mean(axis=1)), (X.dot(v), X0.dot(V0)),
        (X.T, X0.T), (X.transpose(), X0.transpose()), (X.reshape(2, 6), X0.reshape(2, 6)),
        (X.ravel(), X0.ravel()), (X.flatten(), X0.flatten()), (X[:3].trace(), X0[:3].trace()),
    ]
    for node, expected in cases:
        used = {n: at[n] for n in sd.graph.walks.free_names(node)}
        np.testing.assert_allclose(node.eval(**used), expected, rtol=1e-12)
    assert X.astype(float) is X and X.astype(np.float64) is X and X.astype("float64") is X
    assert X.copy() is X and X.conj() is X
    assert (X.shape, X.ndim, X.size) == ((4, 3), 2, 12)


@pytest.mark.parametrize("method, fn, args", [
    ("max", np.max, {"axis": 0}), ("min", np.min, {"axis": 1}), ("prod", np.prod, {}),
    ("var", np.var, {"axis": 0, "ddof": 1}), ("std", np.std, {"axis": 1}),
    ("cumsum", np.cumsum, {"axis": 0}), ("clip", np.clip, {"min": -0.5, "max": 0.5}),
    ("squeeze", np.squeeze, {}), ("swapaxes", np.swapaxes, {"axis1": 0, "axis2": 1}),
])
def test_array_methods_follow_the_registration_of_their_numpy_function(method, fn, args):
    x0 = RNG.uniform(0.5, 2.0, (4, 1, 3)) if method == "squeeze" else X0
    X = sd.var("X", x0.shape)
    if fn in FUNCTIONS:          # registered: numpy's numbers
        np.testing.assert_allclose(getattr(X, method)(**args).eval(X=x0),
                                   fn(x0, **args), rtol=1e-12)
    else:                        # not yet: the UnsupportedError of the numpy function
        with pytest.raises(sd.UnsupportedError, match=rf"numpy\.{fn.__name__} is not"):
            getattr(X, method)(**args)


def test_var_refuses_what_numpy_would_answer_with_nan():
    with pytest.raises(sd.ArgumentError, match=r"numpy\.var: ddof=3 leaves no degrees of "
                                               r"freedom: 3 entries"):
        np.var(sd.var("x", (3,)), ddof=3)
    with pytest.raises(sd.ArgumentError, match=r"numpy\.std: give ddof or correction"):
        np.std(sd.var("x", (3,)), ddof=1, correction=1)
    with pytest.raises(sd.UnsupportedError, match=r"numpy\.var: where="):
        np.var(sd.var("x", (3,)), where=np.array([True, False, True]))


def test_astype_float_of_a_comparison_is_its_zero_one_mask():
    x = sd.var("x", (3,))
    mask = (x > 0).astype(float)
    assert mask.dtype == "float64" and mask.op == "where"
    x0 = np.array([-1.0, 2.0, 0.5])
    np.testing.assert_allclose((mask * x).eval(x=x0), (x0 > 0).astype(float) * x0)
    # the mask carries no gradient: d/dx sum(mask * x**2) = mask * 2x
    _, (g,) = sd.value_and_grad(sd.sum(mask * x ** 2), [x])(x=x0)
    np.testing.assert_allclose(g, (x0 > 0) * 2 * x0)


def test_astype_to_another_dtype_is_refused():
    with pytest.raises(sd.UnsupportedError, match=r"astype\(<class 'int'>\).*float64 only"):
        sd.var("x").astype(int)
    with pytest.raises(sd.UnsupportedError, match=r"astype\('float32'\)"):
        sd.var("x").astype("float32")


@pytest.mark.parametrize("use", [
    lambda x: bool(x), lambda x: 1 if x > 0 else 0, lambda x: x and 1, lambda x: x or 1,
    lambda x: not x, lambda x: max(x, 0.0), lambda x: [i for i in range(3) if x[i]],
])
def test_a_node_in_python_control_flow_says_to_use_np_where(use):
    with pytest.raises(sd.UnsupportedError, match=r"truth value.*np\.where\(cond, a, b\).*"
                                                  r"sd\.where"):
        use(sd.var("x", (3,)))


def test_a_node_in_a_python_while_says_to_use_np_where():
    x = sd.var("x")
    with pytest.raises(sd.UnsupportedError, match=r"np\.where"):
        while x < 1.0:
            x = x + 1


@pytest.mark.parametrize("use, pattern", [
    (lambda x: x.__setitem__(0, 1.0), r"item assignment \(x\[i\] = \.\.\.\) cannot be traced"),
    (lambda x: x // 2, r"the // operator \(numpy\.floor_divide\)"),
    (lambda x: 2 % x, r"the % operator"),
    (lambda x: (x > 0) & (x < 1), r"the & operator.*np\.where"),
    (lambda x: ~(x > 0), r"the ~ operator"),
])
def test_what_arrays_allow_and_graphs_cannot_is_refused(use, pattern):
    with pytest.raises(sd.UnsupportedError, match=pattern):
        use(sd.var("x", (3,)))


def test_trace_with_an_offset_is_numpys():
    A = sd.var("A", (3, 4))
    a = RNG.normal(size=(3, 4))
    for k in (-1, 0, 1, 2):
        np.testing.assert_allclose(np.trace(A, offset=k).eval(A=a), np.trace(a, offset=k))


def test_len_of_a_0d_node_is_refused_as_numpy_refuses_it():
    with pytest.raises(sd.ArgumentError, match=r"len\(\) of .*a 0-d node has no length") as e:
        len(sd.var("x", (3,))[0])
    assert isinstance(e.value, TypeError)
