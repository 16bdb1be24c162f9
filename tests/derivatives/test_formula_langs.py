"""sd.formula's JAX, PyTorch, Julia, Rust and Fortran: each output is run or compiled and its
numbers compared with symdiff's own gradient (Julia, Rust and Fortran where the toolchain is
on the machine: CI installs gfortran; rustc is there; Julia is not packaged by Debian).
Functions of array variables, Jacobians and Hessians: tests/derivatives/test_formula_arrays.py."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import symdiff as sd

x, y = sd.var("x"), sd.var("y")
F = (sd.sin(x * y) * sd.exp(x) + sd.relu(x) * sd.sigmoid(y) + x ** 3 / y + sd.step(x) * y
     + sd.maximum(x, y) + sd.tanh(x) + sd.log(y) + sd.sqrt(y) + sd.abs(x) + 2.5 * x)
POINTS = [(0.7, 1.3), (-0.4, 2.1), (1.5, 0.6)]


def _expected(px, py):
    return [float(g.eval(x=px, y=py)) for g in sd.grad(F, [x, y])]


def test_jax_runs():
    jax = pytest.importorskip("jax")
    ns: dict = {}
    exec(sd.formula(F, [x, y], lang="jax"), ns)
    for px, py in POINTS:
        got = [float(g) for g in ns["grad_f"](jax.numpy.float32(px), jax.numpy.float32(py))]
        np.testing.assert_allclose(got, _expected(px, py), rtol=1e-5, atol=1e-5)


def test_pytorch_runs_and_agrees_with_autograd():
    torch = pytest.importorskip("torch")
    ns: dict = {}
    exec(sd.formula(F, [x, y], lang="pytorch"), ns)
    for px, py in POINTS:
        tx = torch.tensor(px, dtype=torch.float64)
        ty = torch.tensor(py, dtype=torch.float64)
        got = [float(g) for g in ns["grad_f"](tx, ty)]
        np.testing.assert_allclose(got, _expected(px, py), rtol=1e-12)


def _compiled_run(tmp_path, source_name, source, build, run_args=()):
    (tmp_path / source_name).write_text(source)
    subprocess.run(build, cwd=tmp_path, check=True, capture_output=True, timeout=300)
    out = subprocess.run([str(tmp_path / "prog"), *run_args], cwd=tmp_path, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return [[float(v) for v in line.split()] for line in out.strip().splitlines()]


@pytest.mark.skipif(shutil.which("rustc") is None, reason="rustc is not installed")
def test_rust_compiles_and_runs(tmp_path):
    calls = "\n".join(f'    let (a, b) = grad_f({px:.17g}_f64, {py:.17g}_f64); '
                      f'println!("{{:.17e}} {{:.17e}}", a, b);' for px, py in POINTS)
    source = sd.formula(F, [x, y], lang="rust") + f"\nfn main() {{\n{calls}\n}}\n"
    got = _compiled_run(tmp_path, "grad.rs", source, ["rustc", "-O", "-o", "prog", "grad.rs"])
    np.testing.assert_allclose(got, [_expected(*p) for p in POINTS], rtol=1e-12)


@pytest.mark.skipif(shutil.which("gfortran") is None, reason="gfortran is not installed")
def test_fortran_compiles_and_runs(tmp_path):
    calls = "\n".join(f"    call grad_f({px:.17g}d0, {py:.17g}d0, a, b)\n"
                      "    print '(2es26.17)', a, b" for px, py in POINTS)
    source = (sd.formula(F, [x, y], lang="fortran")
              + f"\nprogram main\n    implicit none\n    real(8) :: a, b\n{calls}\n"
                "end program main\n")
    got = _compiled_run(tmp_path, "grad.f90", source,
                        ["gfortran", "-std=f2008", "-o", "prog", "grad.f90"])
    np.testing.assert_allclose(got, [_expected(*p) for p in POINTS], rtol=1e-12)


def test_julia_text_and_run_where_julia_is(tmp_path):
    text = sd.formula(F, [x, y], lang="julia")
    assert text.splitlines()[1] == "function grad_f(x, y)" and text.endswith("end\n")
    if shutil.which("julia") is None:
        return   # Julia is not in Debian's packages: the text is checked above
    calls = "\n".join(f"println(join(grad_f({px!r}, {py!r}), \" \"))" for px, py in POINTS)
    (tmp_path / "g.jl").write_text(text + calls + "\n")
    out = subprocess.run(["julia", str(tmp_path / "g.jl")], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    got = [[float(v) for v in line.split()] for line in out.strip().splitlines()]
    np.testing.assert_allclose(got, [_expected(*p) for p in POINTS], rtol=1e-12)


@pytest.mark.parametrize("lang", ["jax", "pytorch", "julia", "rust", "fortran"])
def test_one_variable(lang):
    text = sd.formula(x ** 2, x, lang=lang)
    assert "grad_f" in text and "2" in text
