"""sd.formula of Jacobians and Hessians, and of functions of array variables, in every
language that runs code: each output is executed (Python, JAX, PyTorch) or compiled and
called (C through ctypes; Fortran and Rust as one program each) and its numbers compared
with sd.jacobian / sd.hessian evaluated numerically and with central differences, at a
few points. One build per compiled language for the whole module."""
from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

import symdiff as sd

x, A, y, s = sd.var("x", (2,)), sd.var("A", (3, 2)), sd.var("y", (3,)), sd.var("s")
VEC = sd.sin(A @ x) * s + y * x[0] + sd.relu(A @ x) * sd.sigmoid(y)   # shape (3,)
LOSS = sd.sum(sd.exp(A @ x) * y) * s + sd.sum(x ** 3) + s ** 2 * x[1]   # scalar

# name -> (f, wrt, order): what each generated function computes
CASES = {
    "jac": (VEC, [x, s, A], 1),          # Jacobians (3, 2), (3,), (3, 3, 2)
    "hess": (LOSS, x, 2),                # one (2, 2) Hessian
    "blocks": (LOSS, [x, s], 2),         # Hessian blocks (2, 2), (2,), (2,), ()
    "grad": (LOSS, [x, A], 1),           # gradients of array variables
    "value": (sd.hessian(LOSS, x), None, 0),   # a Hessian graph printed as it stands
}
FUNCTION = {"jac": "jac_jac", "hess": "hess_hess", "blocks": "hess_blocks",
            "grad": "grad_grad", "value": "value"}
RNG = np.random.default_rng(7)
POINTS = [{"x": RNG.uniform(-1, 1, 2), "A": RNG.uniform(-1, 1, (3, 2)),
           "y": RNG.uniform(-1, 1, 3), "s": float(RNG.uniform(0.5, 1.5))} for _ in range(3)]


def text(case, lang):
    f, wrt, order = CASES[case]
    return sd.formula(f, wrt, lang=lang, name=case, order=order)


def arguments(case):
    """The generated function's arguments in order: wrt, then the others by name."""
    f, wrt, order = CASES[case]
    leaves = {n.name: n for n in f.nodes() if n.is_leaf and n.op == "var"}
    first = [] if wrt is None else ([wrt] if isinstance(wrt, sd.Node) else list(wrt))
    names = [w.name for w in first]
    return first + sorted((leaves[k] for k in leaves if k not in names), key=lambda n: n.name)


def expected(case, point):
    """The arrays the function returns, flat and in order, from symdiff's own graphs."""
    f, wrt, order = CASES[case]
    if order == 0:
        nodes = [f]
    elif order == 1:
        nodes = sd.jacobian(f, wrt) if f.shape else sd.grad(f, wrt)
    elif isinstance(wrt, sd.Node):
        nodes = [sd.hessian(f, wrt)]
    else:
        nodes = [h for row in sd.hessian(f, wrt) for h in row]
    return [np.asarray(n.eval(**point), dtype=float) for n in nodes]


def differences(case, point, h=1e-6):
    """The same arrays by central differences: of f for a Jacobian or gradient, of the
    gradient for a Hessian (order 0 is the Hessian of x)."""
    f, wrt, order = CASES[case]
    if order == 0:
        f, wrt, order = LOSS, x, 2
    ws = [wrt] if isinstance(wrt, sd.Node) else wrt
    inner = [(f, None)] if order == 1 else [(sd.grad(f, [w])[0], w) for w in ws]
    out = []
    for g, _ in inner:
        for w in ws:
            base = np.asarray(point[w.name], dtype=float)
            d = np.zeros(g.shape + base.shape)
            for idx in np.ndindex(*base.shape):
                hi, lo = base.copy(), base.copy()
                hi[idx] += h
                lo[idx] -= h
                up = g.eval(**{**point, w.name: hi if base.shape else float(hi)})
                dn = g.eval(**{**point, w.name: lo if base.shape else float(lo)})
                d[(Ellipsis,) + idx] = (np.asarray(up) - np.asarray(dn)) / (2 * h)
            out.append(d)
    return out


def flat(result):
    """A generated function's result as a flat list of float arrays."""
    if isinstance(result, tuple):
        return [a for r in result for a in flat(r)]
    return [np.asarray(result.tolist() if hasattr(result, "tolist") else result, dtype=float)]


def compare(got, case, point):
    want = expected(case, point)
    assert len(got) == len(want)
    for g, w, d in zip(got, want, differences(case, point)):
        g = np.asarray(g, dtype=float).reshape(w.shape)
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g, d, rtol=1e-5, atol=1e-6)


# ---- Python, JAX, PyTorch: executed ----------------------------------------------------

@pytest.mark.parametrize("lang", ["python", "jax", "pytorch"])
def test_python_like_languages_run(lang):
    if lang == "jax":
        jax = pytest.importorskip("jax")
        was = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", True)   # float64, as the other languages
        try:
            _run_python_like(lang)
        finally:
            jax.config.update("jax_enable_x64", was)
    else:
        _run_python_like(lang)


def _run_python_like(lang):
    convert = {"python": lambda v: v, "jax": lambda v: v}
    if lang == "pytorch":
        torch = pytest.importorskip("torch")
        convert["pytorch"] = lambda v: torch.tensor(v, dtype=torch.float64)
    for case in CASES:
        ns: dict = {}
        exec(text(case, lang), ns)
        fn = ns[FUNCTION[case]]
        for point in POINTS:
            args = [convert[lang](point[a.name]) for a in arguments(case)]
            compare(flat(fn(*args)), case, point)


def test_python_jacobian_and_hessian_are_size_generic():
    """Where a matrix form exists the Python runs at sizes other than the graph's."""
    jac = sd.formula(A @ x, x, lang="python")
    hess = sd.formula(sd.sum((A @ x - y) ** 2), x, lang="python", order=2)
    assert "numpy.shape(" in jac and "A.T @ A" in hess
    ns: dict = {}
    exec(jac + hess.replace("import numpy", ""), ns)
    A5 = np.arange(20.0).reshape(5, 4)
    np.testing.assert_allclose(ns["jac_f"](np.ones(4), A5), A5)
    np.testing.assert_allclose(ns["hess_f"](np.ones(4), A5, np.ones(5)), 2 * A5.T @ A5)


# ---- C, Fortran, Rust: one build each ----------------------------------------------------

@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("formula_arrays")


def test_c_compiles_and_agrees(build_dir):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on this machine")
    src, lib = build_dir / "all.c", build_dir / "liball.so"
    src.write_text("".join(text(case, "c") for case in CASES))
    proc = subprocess.run([cc, "-std=c99", "-Wall", "-Werror", "-shared", "-fPIC", "-O1",
                           "-o", str(lib), str(src), "-lm"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    so = ctypes.CDLL(str(lib))
    dptr = ctypes.POINTER(ctypes.c_double)
    for case in CASES:
        fn = getattr(so, FUNCTION[case])
        fn.restype = None
        for point in POINTS:
            keep, cargs = [], []
            for a in arguments(case):
                if a.shape == ():
                    cargs.append(ctypes.c_double(point[a.name]))
                else:
                    keep.append(np.ascontiguousarray(point[a.name], dtype=np.float64))
                    cargs.append(keep[-1].ctypes.data_as(dptr))
            outs = [np.zeros(w.shape) for w in expected(case, point)]
            fn(*cargs, *[o.ctypes.data_as(dptr) for o in outs])
            compare(outs, case, point)


CONT = ", &\n        "   # Fortran's free form: lines of at most 132 characters


def _fortran_main():
    lines = ["program main", "    implicit none"]
    calls = []
    for case in CASES:
        args = arguments(case)
        outs = expected(case, POINTS[0])
        for k, point in enumerate(POINTS):
            names = []
            for j, a in enumerate(args):
                v = np.asarray(point[a.name], dtype=float)
                name = f"{case}_{k}_in{j}"
                names.append(name)
                lines.insert(2, f"    real(8) :: {name}"
                             + (f"({', '.join(map(str, v.shape))})" if v.shape else ""))
                vals = CONT.join(f"{e:.17e}".replace("e", "d") for e in v.ravel())
                calls.append(f"    {name} = {vals}" if not v.shape else
                             f"    {name} = reshape([{vals}], [{', '.join(map(str, v.shape))}]"
                             + (f", order=[{', '.join(map(str, range(v.ndim, 0, -1)))}])"
                                if v.ndim > 1 else ")"))
            onames = [f"{case}_{k}_out{j}" for j in range(len(outs))]
            for o, w in zip(onames, outs):
                lines.insert(2, f"    real(8) :: {o}"
                             + (f"({', '.join(map(str, w.shape))})" if w.shape else ""))
            calls.append(f"    call {FUNCTION[case]}({CONT.join(names + onames)})")
            for o, w in zip(onames, outs):   # row-major, one line per output
                items = [o if not w.shape else f"{o}({','.join(str(i + 1) for i in idx)})"
                         for idx in np.ndindex(*w.shape)]
                calls.append(f"    print '(*(es26.17))', {CONT.join(items)}")
    return "\n".join(lines + calls + ["end program main"]) + "\n"


def _run(build_dir, source_name, source, command):
    (build_dir / source_name).write_text(source)
    proc = subprocess.run(command, cwd=build_dir, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + "\n" + source
    out = subprocess.run([str(build_dir / command[command.index("-o") + 1])], cwd=build_dir,
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return [np.array([float(v) for v in line.split()]) for line in out.strip().splitlines()]


def _check_lines(lines):
    for case in CASES:
        for point in POINTS:
            n = len(expected(case, point))
            compare(lines[:n], case, point)
            lines = lines[n:]
    assert not lines


@pytest.mark.skipif(shutil.which("gfortran") is None, reason="gfortran is not installed")
def test_fortran_compiles_and_agrees(build_dir):
    source = "".join(text(case, "fortran") for case in CASES) + _fortran_main()
    lines = _run(build_dir, "all.f90", source,
                 ["gfortran", "-std=f2008", "-o", "fprog", "all.f90"])
    _check_lines(lines)


def _rust_main():
    calls = []
    for case in CASES:
        for point in POINTS:
            args = []
            for a in arguments(case):
                v = np.asarray(point[a.name], dtype=float)
                args.append(f"{float(v):.17e}_f64" if not v.shape else
                            "&[" + ", ".join(f"{e:.17e}_f64" for e in v.ravel()) + "]")
            n = len(expected(case, point))
            calls.append(f"    let r = {FUNCTION[case]}({', '.join(args)});")
            parts = ["r"] if n == 1 else [f"r.{j}" for j in range(n)]
            calls += [f"    show(&{p});" for p in parts]
    return ("trait Show { fn show(&self); }\n"
            "impl Show for f64 { fn show(&self) { println!(\"{:.17e}\", self); } }\n"
            "impl Show for Vec<f64> { fn show(&self) { let t: Vec<String> = self.iter()"
            ".map(|v| format!(\"{:.17e}\", v)).collect(); println!(\"{}\", t.join(\" \")); } }\n"
            "fn show<T: Show>(v: &T) { v.show(); }\n"
            "fn main() {\n" + "\n".join(calls) + "\n}\n")


@pytest.mark.skipif(shutil.which("rustc") is None, reason="rustc is not installed")
def test_rust_compiles_and_agrees(build_dir):
    source = "".join(text(case, "rust") for case in CASES) + _rust_main()
    _check_lines(_run(build_dir, "all.rs", source, ["rustc", "-O", "-o", "rprog", "all.rs"]))


def test_julia_text_and_run_where_julia_is(build_dir):
    source = "".join(text(case, "julia") for case in CASES)
    assert "function hess_blocks(x, s, A, y)" in source
    assert "x[1]" in source and "x[0]" not in source   # Julia counts from 1
    if shutil.which("julia") is None:
        return   # Julia is not in Debian's packages: the text is checked above
    calls = []
    for case in CASES:
        for point in POINTS:
            args = []
            for a in arguments(case):
                v = np.asarray(point[a.name], dtype=float)
                args.append(repr(float(v)) if not v.shape else
                            f"permutedims(reshape({list(v.ravel())}, "
                            f"{tuple(reversed(v.shape))}), {tuple(range(v.ndim, 0, -1))})"
                            if v.ndim > 1 else repr(list(v)))
            calls.append(f"for r in flat({FUNCTION[case]}({', '.join(args)})) "
                         "println(join(vec(permutedims(r, ndims(r):-1:1)), \" \")) end")
    helper = ("flat(r::Tuple) = vcat([flat(e) for e in r]...)\n"
              "flat(r) = Any[r isa Number ? fill(r) : r]\n")
    (build_dir / "all.jl").write_text(source + helper + "\n".join(calls) + "\n")
    out = subprocess.run(["julia", str(build_dir / "all.jl")], capture_output=True,
                         text=True, check=True, timeout=300).stdout
    _check_lines([np.array([float(v) for v in line.split()])
                  for line in out.strip().splitlines()])


# ---- limits ------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["rust", "fortran"])   # C: from the matrix form (test_matrix_c)
def test_element_forms_past_the_limit_are_a_clear_error(lang):
    big = sd.var("big", (60,))
    with pytest.raises(sd.ClosedFormError, match="MAX_ELEMENTS"):
        sd.formula(sd.sum(sd.exp(big)) ** 2, big, lang=lang, order=2)


def test_the_sympy_budget_bounds_jacobians_and_hessians():
    with pytest.raises(sd.ClosedFormError, match=r"sd.formula\(lang='c', order=2\)"):
        sd.formula(LOSS, [x, A, s], lang="c", order=2, sympy_seconds=1e-3)


def test_order_zero_prints_the_graph_and_refuses_names_the_code_uses():
    H = sd.hessian(LOSS, x)
    assert "def value(A, s, x, y):" in sd.formula(H, lang="python", order=0, name="value")
    assert "void f(const double *A, double s, const double *x" in sd.formula(H, lang="c", order=0)
    with pytest.raises(sd.SymdiffError, match="would hide a name"):
        sd.formula(H, lang="c", order=0, name="sin")
