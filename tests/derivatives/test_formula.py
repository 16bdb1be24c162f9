"""``formula``: derivative formulas as SymPy text, LaTeX, and Python / C code that runs.

Generated Python is executed and generated C is compiled and called through ctypes; both
are compared with the numpy reverse mode (``sd.value_and_grad``) at random points.
"""
import ctypes
import shutil
import subprocess

import numpy as np
import pytest

import symdiff as sd
from symdiff.derivatives.formula import LANGUAGES, MAX_ELEMENTS, formula


# ---- helpers -------------------------------------------------------------------------

def run_python(code, name="f"):
    namespace = {}
    exec(compile(code, "<generated>", "exec"), namespace)
    return namespace[f"grad_{name}"]


def reference(f, wrt, point):
    _, grads = sd.value_and_grad(f, wrt)(**point)
    return grads


def random_point(f, rng, away_from_zero=0.0):
    leaves = {n.name: n for n in f.nodes() if n.op == "var"}
    point = {}
    for name, n in leaves.items():
        v = rng.uniform(-1.5, 1.5, n.shape)
        if away_from_zero:
            v = np.where(np.abs(v) < away_from_zero, np.sign(v + 1e-300) * away_from_zero, v)
        point[name] = float(v) if n.shape == () else v
    return point


def assert_close(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def c_compiler():
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on this machine")
    return cc


def compile_c(code, tmp_path, name="f"):
    src, lib = tmp_path / "grad.c", tmp_path / "libgrad.so"
    src.write_text(code)
    proc = subprocess.run([c_compiler(), "-std=c99", "-Wall", "-Werror", "-shared", "-fPIC",
                           "-O1", "-o", str(lib), str(src), "-lm"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + "\n" + code
    return getattr(ctypes.CDLL(str(lib)), f"grad_{name}")


def call_c(fn, args, point, wrt):
    """Call the compiled gradient: scalars by value, arrays as flat row-major pointers."""
    dptr = ctypes.POINTER(ctypes.c_double)
    keep, cargs = [], []
    for a in args:
        if a.shape == ():
            cargs.append(ctypes.c_double(point[a.name]))
        else:
            arr = np.ascontiguousarray(point[a.name], dtype=np.float64)
            keep.append(arr)
            cargs.append(arr.ctypes.data_as(dptr))
    outs = [np.zeros(w.shape) for w in wrt]
    cargs += [o.ctypes.data_as(dptr) for o in outs]
    fn.restype = None
    fn(*cargs)
    return [float(o) if o.ndim == 0 else o for o in outs]


x, y, z = sd.var("x"), sd.var("y"), sd.var("z")


# ---- sympy and latex text --------------------------------------------------------------

def test_sympy_text_of_a_polynomial():
    assert formula(x**2 + 3, x) == "df/dx = 2*x"
    assert formula(x * y + y**2) == "df/dx = y\ndf/dy = x + 2*y"


def test_latex_of_sin_times_x():
    text = formula(sd.sin(x) * x, x, lang="latex")
    assert text.startswith("\\begin{aligned}") and text.endswith("\\end{aligned}")
    assert "\\cos" in text and "\\sin" in text
    assert "\\frac{\\partial f}{\\partial x} &=" in text


def test_name_appears_in_every_language():
    f = x**3
    assert formula(f, x, name="loss").startswith("dloss/dx = 3*x**2")
    assert "\\partial loss" in formula(f, x, lang="latex", name="loss")
    assert "def grad_loss(x):" in formula(f, x, lang="python", name="loss")
    assert "void grad_loss(double x, double *d_x)" in formula(f, x, lang="c", name="loss")


def test_common_subexpressions_become_temporaries():
    f = sd.sin(sd.exp(x * y)) * sd.exp(x * y)
    text = formula(f, [x, y])
    lines = text.splitlines()
    assert lines[0].startswith("t0 = ")
    assert sum(line.startswith("df/d") for line in lines) == 2
    latex = formula(f, [x, y], lang="latex")
    assert "t_{0} &=" in latex


def test_temporary_prefix_avoids_the_variables_names():
    t0, t1 = sd.var("t0"), sd.var("t1")
    f = sd.sin(sd.exp(t0 * t1)) * sd.exp(t0 * t1)
    text = formula(f, [t0, t1])
    temps = [line.split(" = ")[0] for line in text.splitlines() if not line.startswith("d")]
    assert temps and not {"t0", "t1"} & set(temps), text
    grad_f = run_python(formula(f, [t0, t1], lang="python"))
    point = {"t0": 0.3, "t1": -0.7}
    for got, want in zip(grad_f(**point), reference(f, [t0, t1], point)):
        assert_close(got, want)


def test_matrix_gradient_text_and_latex():
    W, v = sd.var("W", (3, 2)), sd.var("v", (2,))
    f = sd.sum(sd.tanh(W @ v))
    text = formula(f, [W, v])
    assert "df/dW = " in text and "df/dv = " in text and "tanh" in text
    assert "\\partial W}" in formula(f, [W, v], lang="latex")


def test_default_wrt_is_every_variable_sorted_by_name():
    b, a = sd.var("b"), sd.var("a")
    assert formula(a * b + b).splitlines() == ["df/da = b", "df/db = a + 1"]
    code = formula(a * b + b, lang="python")
    assert "def grad_f(a, b):" in code


# ---- errors --------------------------------------------------------------------------------

def test_unknown_language_lists_the_languages():
    with pytest.raises(sd.SymdiffError) as e:
        formula(x**2, x, lang="cobol")
    for lang in LANGUAGES:
        assert repr(lang) in str(e.value)


def test_non_scalar_f_gives_its_jacobian_and_no_hessian():
    v = sd.var("v", (3,))
    assert formula(v * x, [v, x], lang="python").count("def jac_f(v, x):") == 1
    with pytest.raises(sd.ShapeError, match="a Hessian needs a scalar f"):
        formula(v * 2, v, order=2)
    with pytest.raises(sd.SymdiffError, match="order must be 0"):
        formula(x * 2, x, order=3)


def test_c_refuses_arrays_above_the_element_limit_without_a_matrix_form():
    # a 60x60 matrix is written from its matrix form (tests/derivatives/test_matrix_c.py);
    # a 3-D array has none, and its element form is too large
    W = sd.var("W", (60, 60))
    assert "from its matrix form" in formula(sd.sum(sd.sin(W)), W, lang="c")
    T = sd.var("T", (10, 10, 30))
    with pytest.raises(sd.ClosedFormError, match="MAX_ELEMENTS"):
        formula(sd.sum(sd.sin(T)), T, lang="c")
    assert 60 * 60 > MAX_ELEMENTS


def test_names_the_generated_code_cannot_use_are_refused_or_renamed():
    with pytest.raises(sd.SymdiffError, match="numpy"):
        formula(sd.var("numpy") ** 2, lang="python")
    # C renames what it reserves (tests/reliability/test_generated_names.py compiles it)
    assert "double double_," in formula(sd.var("double") ** 2, lang="c")


# ---- generated Python, executed ----------------------------------------------------------

SCALAR_CASES = {
    "polynomial": lambda: (x**3 + 7 * x**2 * y + 5 * y + 10, [x, y]),
    "nested sin/exp": lambda: (sd.sin(sd.exp(sd.sin(x * y))) * sd.exp(sd.sin(x * y)) + z,
                               [x, y, z]),
    "relu sigmoid tanh abs maximum": lambda: (
        sd.relu(x * y) * sd.sigmoid(y) + sd.tanh(x - z) + abs(x * z) + sd.maximum(x, y * y),
        [x, y, z]),
    "division log sqrt": lambda: (sd.log(x * x + 1) / sd.sqrt(y * y + 2), [x, y]),
    "where": lambda: (sd.where(x > y, x * x * y, sd.sin(y)), [x, y]),
}


@pytest.mark.parametrize("case", sorted(SCALAR_CASES))
def test_generated_python_matches_reverse_mode_scalars(case):
    f, wrt = SCALAR_CASES[case]()
    code = formula(f, wrt, lang="python")
    assert code.startswith('"""') and "\nimport numpy\n" in code
    grad_f = run_python(code)
    rng = np.random.default_rng(1)
    for _ in range(4):
        point = random_point(f, rng, away_from_zero=0.05)
        got = grad_f(**point)
        assert isinstance(got, tuple) and len(got) == len(wrt)
        for g, want in zip(got, reference(f, wrt, point)):
            assert_close(g, want)


def test_single_variable_returns_one_gradient_and_a_list_a_tuple():
    f = x**2 * y
    assert run_python(formula(f, x, lang="python"))(x=3.0, y=2.0) == 12.0
    assert run_python(formula(f, [x], lang="python"))(x=3.0, y=2.0) == (12.0,)


def test_heaviside_is_evaluated_with_numpy_heaviside():
    code = formula(sd.relu(x) + sd.maximum(x, y), [x, y], lang="python")
    assert "numpy.heaviside(" in code and "Heaviside" not in code and "select" not in code
    grad_f = run_python(code)
    assert grad_f(x=2.0, y=1.0) == (2.0, 0.0)
    assert grad_f(x=-2.0, y=-1.0) == (0.0, 1.0)
    assert grad_f(x=1.0, y=1.0) == (1.5, 0.5)   # ties split 0.5/0.5, relu'(x>0) = 1


def test_scalar_python_code_works_elementwise_on_arrays():
    grad_f = run_python(formula(sd.sin(x) * y, [x, y], lang="python"))
    xs = np.linspace(0, 1, 5)
    dx, dy = grad_f(xs, 2.0)
    assert_close(dx, 2.0 * np.cos(xs))
    assert_close(dy, np.sin(xs))


def _mlp():
    xb, W1, b1, W2 = (sd.var("xb", (2, 3)), sd.var("W1", (3, 4)), sd.var("b1", (4,)),
                      sd.var("W2", (4,)))
    return sd.sum(sd.relu(xb @ W1 + b1) @ W2), [W1]


def _mlp_point(rng):
    while True:  # away from relu's kink, where the derivative jumps
        p = {"xb": rng.normal(size=(2, 3)), "W1": rng.normal(size=(3, 4)),
             "b1": rng.normal(size=4), "W2": rng.normal(size=4)}
        if np.min(np.abs(p["xb"] @ p["W1"] + p["b1"])) > 0.05:
            return p


ARRAY_CASES = {
    "sum x*x": lambda: (sd.sum(sd.var("v3", (3,)) * sd.var("v3", (3,))), [sd.var("v3", (3,))]),
    "sum tanh(W @ v)": lambda: (sd.sum(sd.tanh(sd.var("W", (3, 2)) @ sd.var("v", (2,)))),
                                [sd.var("W", (3, 2)), sd.var("v", (2,))]),
    "least squares": lambda: (
        sd.sum((sd.var("X", (5, 3)) @ sd.var("w", (3,)) - sd.var("yv", (5,))) ** 2),
        [sd.var("w", (3,))]),
    "mlp": _mlp,
    "scalar times vector": lambda: (sd.sum(sd.sin(x * sd.var("u", (3,)))), [x, sd.var("u", (3,))]),
    "3-d variable (element form)": lambda: (sd.sum(sd.sin(sd.var("T", (2, 2, 2))) ** 2),
                                             [sd.var("T", (2, 2, 2))]),
}


@pytest.mark.parametrize("case", sorted(ARRAY_CASES))
def test_generated_python_matches_reverse_mode_arrays(case):
    f, wrt = ARRAY_CASES[case]()
    grad_f = run_python(formula(f, wrt, lang="python"))
    rng = np.random.default_rng(2)
    for _ in range(3):
        point = _mlp_point(rng) if case == "mlp" else random_point(f, rng)
        got = grad_f(**point)
        for g, w, want in zip(got, wrt, reference(f, wrt, point)):
            assert np.shape(g) == w.shape   # exactly the variable's shape, vectors 1-D
            assert_close(g, want)


def test_python_prefers_the_matrix_form_and_reshapes_vectors():
    W, v = sd.var("W", (3, 2)), sd.var("v", (2,))
    code = formula(sd.sum(sd.tanh(W @ v)), [W, v], lang="python")
    assert "(-1, 1)" in code               # v enters as a column (of any length) ...
    assert "W[0, 0]" not in code            # ... of a matrix expression, not element by element
    assert ".dot(" in code or "matmul" in code or "@" in code


def test_python_falls_back_to_elements_without_a_matrix_form():
    T = sd.var("T", (2, 2, 2))
    code = formula(sd.sum(sd.exp(T)), T, lang="python")
    assert "T[1, 1, 1]" in code
    assert_close(run_python(code)(np.ones((2, 2, 2))), np.full((2, 2, 2), np.e))


def test_other_leaves_are_arguments_after_wrt():
    X, w, yv = sd.var("X", (5, 3)), sd.var("w", (3,)), sd.var("yv", (5,))
    code = formula(sd.sum((X @ w - yv) ** 2), w, lang="python")
    assert "def grad_f(w, X, yv):" in code


# ---- generated C, compiled and called -------------------------------------------------------

def test_generated_c_scalar_matches_reverse_mode(tmp_path):
    f = sd.sin(sd.exp(x * y)) * sd.exp(x * y) + sd.relu(x) * sd.sigmoid(y) \
        + abs(z) + sd.maximum(x, y * z) + sd.tanh(z) / (1 + x * x) + sd.where(x > z, y, x)
    wrt = [x, y, z]
    code = formula(f, wrt, lang="c")
    assert "#include <math.h>" in code
    assert "void grad_f(double x, double y, double z, double *d_x, double *d_y, double *d_z)" \
        in code
    for name in ("relu", "sigmoid", "Heaviside", "Max("):
        assert name not in code.split("*/", 1)[1], name  # the header comment may show f
    fn = compile_c(code, tmp_path)
    rng = np.random.default_rng(3)
    for _ in range(5):
        point = random_point(f, rng, away_from_zero=0.05)
        got = call_c(fn, wrt, point, wrt)
        for g, want in zip(got, reference(f, wrt, point)):
            assert_close(g, want)


def test_generated_c_heaviside_at_the_kink_follows_pytorch(tmp_path):
    fn = compile_c(formula(sd.relu(x) + sd.maximum(x, y), [x, y], lang="c"), tmp_path)
    assert call_c(fn, [x, y], {"x": 0.0, "y": 0.0}, [x, y]) == [0.5, 0.5]
    assert call_c(fn, [x, y], {"x": 0.0, "y": -1.0}, [x, y]) == [1.0, 0.0]


@pytest.mark.parametrize("case", ["sum tanh(W @ v)", "least squares", "mlp"])
def test_generated_c_arrays_match_reverse_mode(case, tmp_path):
    f, wrt = ARRAY_CASES[case]()
    code = formula(f, wrt, lang="c")
    assert "const double *" in code and "double *d_" in code
    leaves = {n.name: n for n in f.nodes() if n.op == "var"}
    names = {w.name for w in wrt}
    args = list(wrt) + sorted((n for n in leaves.values() if n.name not in names),
                              key=lambda n: n.name)
    fn = compile_c(code, tmp_path)
    rng = np.random.default_rng(4)
    for _ in range(3):
        point = _mlp_point(rng) if case == "mlp" else random_point(f, rng)
        got = call_c(fn, args, point, wrt)
        for g, want in zip(got, reference(f, wrt, point)):
            assert_close(g, want)


def test_c_arrays_are_row_major():
    W = sd.var("W", (2, 3))
    code = formula(sd.sum(W * sd.const(np.arange(6.0).reshape(2, 3)) * W), W, lang="c")
    # d/dW[1, 2] of sum(c * W**2) = 2 * c[1, 2] * W[1, 2] = 10 * W[5]
    assert "d_W[5] = 10*W[5];" in code
