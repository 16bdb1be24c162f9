"""``symdiff diff --latex`` and ``--code python|c``: formulas and code on the command line."""
import ctypes
import shutil
import subprocess

import pytest

from cli_util import run, assert_one_line_error


def test_latex_replaces_the_plain_closed_forms(capsys):
    code, out, err = run(capsys, "diff", "sin(x)*x", "--wrt", "x", "--latex")
    assert code == 0, err
    assert out.startswith("\\begin{aligned}") and out.rstrip().endswith("\\end{aligned}")
    assert "\\cos" in out and "\\frac{\\partial f}{\\partial x}" in out
    assert "df/dx =" not in out


def test_latex_with_at_still_prints_the_table(capsys):
    code, out, err = run(capsys, "diff", "x**2 + 3", "--latex", "--at", "x=7")
    assert code == 0, err
    assert out.index("\\end{aligned}") < out.index("check at x = 7: OK")
    assert "df/dx = 14" in out


def test_code_python_prints_code_that_runs(capsys):
    code, out, err = run(capsys, "diff", "x*sin(y) + y**2", "--code", "python")
    assert code == 0, err
    namespace = {}
    exec(out, namespace)
    dx, dy = namespace["grad_f"](x=1.0, y=2.0)
    assert dx == pytest.approx(0.9092974268256817)
    assert dy == pytest.approx(1.0 * -0.4161468365471424 + 4.0)


def test_code_python_for_array_variables(capsys):
    code, out, err = run(capsys, "diff", "sum(tanh(W @ v))", "--shape", "W=3,2",
                         "--shape", "v=2", "--wrt", "W", "--code", "python")
    assert code == 0, err
    import numpy as np
    namespace = {}
    exec(out, namespace)
    W, v = np.arange(6.0).reshape(3, 2) / 10, np.array([0.5, -1.0])
    (dW,) = namespace["grad_f"](W=W, v=v)
    assert dW.shape == (3, 2)
    np.testing.assert_allclose(dW, np.outer(1 - np.tanh(W @ v) ** 2, v), rtol=1e-12)


def test_code_c_prints_c_that_compiles(capsys, tmp_path):
    code, out, err = run(capsys, "diff", "x*exp(y)", "--code", "c")
    assert code == 0, err
    assert "#include <math.h>" in out
    assert "void grad_f(double x, double y, double *d_x, double *d_y)" in out
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on this machine")
    (tmp_path / "g.c").write_text(out)
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(tmp_path / "g.so"),
                    str(tmp_path / "g.c"), "-lm"], check=True)
    fn = ctypes.CDLL(str(tmp_path / "g.so")).grad_f
    fn.restype = None
    dx, dy = ctypes.c_double(), ctypes.c_double()
    fn(ctypes.c_double(2.0), ctypes.c_double(0.5), ctypes.byref(dx), ctypes.byref(dy))
    assert dx.value == pytest.approx(1.6487212707001282)
    assert dy.value == pytest.approx(2 * 1.6487212707001282)


def test_code_with_at_prints_code_then_the_check(capsys):
    code, out, err = run(capsys, "diff", "relu(x)", "--code", "python", "--at", "x=0")
    assert code == 1                       # the kink still fails the check
    assert out.index("def grad_f(x):") < out.index("check at x = 0: FAILED")
    assert "check failed" in err


@pytest.mark.parametrize("value", ["java", "", "sympy"])
def test_bad_code_value_is_a_one_line_error(capsys, value):
    code, out, err = run(capsys, "diff", "x**2", "--code", value)
    assert code == 2
    assert_one_line_error(err)
    assert "--code" in err and "python" in err
    assert out == ""


def test_latex_and_code_together_is_a_one_line_error(capsys):
    code, out, err = run(capsys, "diff", "x**2", "--latex", "--code", "c")
    assert code == 2
    assert_one_line_error(err)
    assert out == ""


def test_c_too_large_is_a_one_line_error(capsys):
    code, out, err = run(capsys, "diff", "sum(sin(W))", "--shape", "W=10,10,30", "--code", "c")
    assert code == 2
    assert_one_line_error(err)
    assert "MAX_ELEMENTS" in err and out == ""


def test_code_in_every_language_and_the_hessian_order(capsys, tmp_path):
    for lang, marker in (("jax", "import jax"), ("pytorch", "import torch"),
                         ("julia", "function grad_f"), ("rust", "pub fn grad_f"),
                         ("fortran", "subroutine grad_f")):
        code, out, err = run(capsys, "diff", "x**3*y", "--code", lang)
        assert code == 0 and marker in out, (lang, out, err)
    code, out, err = run(capsys, "diff", "x**3*y", "--wrt", "x", "--code", "python",
                         "--order", "2")
    assert code == 0 and "def hess_f(" in out
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["hess_f"](2.0, 5.0)[0][0] == pytest.approx(6 * 2.0 * 5.0)   # blocks
    for bad, says in ((["--order", "3", "--code", "c"], "expected 1"),
                      (["--order", "2"], "goes with --latex or --code")):
        code, out, err = run(capsys, "diff", "x**3*y", *bad)
        assert code == 2 and says in err
        assert_one_line_error(err)
