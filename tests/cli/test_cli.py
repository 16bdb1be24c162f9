"""The ``symdiff`` command line: in-process through ``main([...])`` and as real processes."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cli_util import run, assert_one_line_error
from symdiff.cli import parse_at, parse_shapes


# ---- diff: the happy path ----------------------------------------------------------

def test_diff_prints_closed_forms_value_gradient_and_table(capsys):
    code, out, err = run(capsys, "diff", "x**2 + 3", "--wrt", "x", "--at", "x=7")
    assert code == 0, err
    assert "f = x**2 + 3" in out
    assert "df/dx = 2*x" in out
    assert "f = 52" in out
    assert "df/dx = 14" in out
    assert "check at x = 7: OK" in out
    assert "closed form" in out and "reverse mode" in out and "finite diff" in out
    assert err == ""


def test_diff_without_at_prints_only_closed_forms(capsys):
    code, out, err = run(capsys, "diff", "x*y + y**2")
    assert code == 0
    assert out.splitlines() == ["f = x*y + y**2", "df/dx = y", "df/dy = x + 2*y"]


def test_closed_forms_out_of_sympy_time_are_said_and_the_numbers_still_come(capsys):
    # SymPy's simplification can be exponential (found by the CLI fuzzer): the command
    # gives it one budget, --sympy-seconds; 0 here, so that nothing reaches SymPy
    code, out, err = run(capsys, "diff", "tanh(log(1 + exp(sin(x))))", "--at", "x=0.5",
                         "--sympy-seconds", "0")
    assert code == 0, err
    assert "f = (no closed form: SymPy did not finish within the command's budget of 0 s; " \
           "--sympy-seconds sets it)" in out
    assert "df/dx = (no closed form: SymPy did not finish within the command's budget" in out
    assert "check at x = 0.5: OK" in out
    code, out, err = run(capsys, "diff", "tanh(log(1 + exp(sin(x))))", "--latex",
                         "--sympy-seconds=0")
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert "SymPy did not finish the formula within the command's budget of 0 s" in err


@pytest.mark.parametrize("wrt", [["--wrt", "x,y"], ["--wrt", "x", "--wrt", "y"], []])
def test_wrt_repeated_comma_separated_or_default(capsys, wrt):
    code, out, _ = run(capsys, "diff", "x*y + y**2", *wrt, "--at", "x=2,y=3")
    assert code == 0
    assert "df/dx = 3" in out and "df/dy = 8" in out and "f = 15" in out


def test_wrt_subset_and_repeated_at(capsys):
    code, out, _ = run(capsys, "diff", "x*y + y**2", "--wrt", "y", "--at", "x=2", "--at", "y=3")
    assert code == 0
    assert "df/dy = x + 2*y" in out and "df/dy = 8" in out
    assert "df/dx" not in out


def test_array_values_with_shape(capsys):
    code, out, err = run(capsys, "diff", "sum(W @ v)", "--shape", "W=2,3",
                         "--at", "W=[[1,2,3],[4,5,6]]", "--at", "v=[1,0,2]")
    assert code == 0, err
    assert "f = 23" in out
    assert "df/dv = [5. 7. 9.]" in out
    assert "[[1. 0. 2.]" in out          # df/dW = ones(2) outer v


def test_array_value_implies_shape(capsys):
    code, out, err = run(capsys, "diff", "sum(v**2)", "--at", "v=[1,2,3]")
    assert code == 0, err
    assert "df/dv = [2. 4. 6.]" in out


# ---- diff: a failing check ---------------------------------------------------------------

def test_kink_fails_the_check_with_exit_1_and_says_why(capsys):
    code, out, err = run(capsys, "diff", "relu(x)", "--at", "x=0")
    assert code == 1
    assert "FAILED" in out
    assert "relu is not differentiable here" in out
    assert "relu" in err and "Traceback" not in err


def test_outside_the_domain_fails_the_check(capsys):
    code, out, err = run(capsys, "diff", "log(x)", "--at", "x=-1")
    assert code == 1
    assert "log outside its domain" in err


# ---- diff: bad input -> exit 2 and one line on stderr -------------------------------------

@pytest.mark.parametrize("argv, fragment", [
    (["diff", "x +* 2", "--at", "x=1"], "position 3"),
    (["diff", "__import__('os').system('echo hi')"], "not allowed"),
    (["diff", "foo(x)"], "unknown function 'foo'"),
    (["diff", "x**2", "--wrt", "z", "--at", "x=1"], "unknown variable 'z'"),
    (["diff", "x**2", "--wrt", "z"], "unknown variable 'z'"),
    (["diff", "x**2", "--at", "x"], "expected name=value"),
    (["diff", "x**2", "--at", "x=abc"], "not a number"),
    (["diff", "x**2", "--at", "x=__import__('os')"], "not a number"),
    (["diff", "x**2", "--at", "x=[1,'a']"], "not a number"),
    (["diff", "x**2", "--at", "x=1,x=2"], "given twice"),
    (["diff", "x**2", "--at", "y=1"], "'y' is not a variable"),
    (["diff", "x*y", "--at", "x=1"], "'y'"),
    (["diff", "x**2", "--shape", "x=two"], "--shape"),
    (["diff", "x**2", "--shape", "W=2,3"], "'W' is not a variable"),
    (["diff", "sum(W)", "--shape", "W=2,3", "--at", "W=[1,2]"], "shape"),
    (["diff", "x**2", "--at", "x=[1,2]"], "scalar"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert_one_line_error(err)
    assert fragment in err
    assert out == ""


@pytest.mark.parametrize("argv", [[], ["diff"], ["nonsense"], ["diff", "x", "--bogus"]])
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "usage:" in err and "Traceback" not in err


def test_help_exits_0(capsys):
    code, out, _ = run(capsys, "diff", "--help")
    assert code == 0 and "--wrt" in out and "--at" in out and "--shape" in out


# ---- the small parsers -----------------------------------------------------------------

def test_parse_at_splits_only_at_top_level_commas():
    point = parse_at(["x=7,W=[[1,2],[3,4]]", "y = -2.5e-1"])
    assert point["x"] == 7.0 and point["y"] == -0.25
    np.testing.assert_array_equal(point["W"], [[1, 2], [3, 4]])


def test_parse_shapes():
    assert parse_shapes(["W=2,3", "v=(3,)", "s="]) == {"W": (2, 3), "v": (3,), "s": ()}


# ---- real processes: python -m symdiff and the installed console script ------------------

def _env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def _check_process(cmd):
    p = subprocess.run(cmd + ["diff", "x**2 + 3", "--wrt", "x", "--at", "x=7"],
                       capture_output=True, text=True, timeout=120, env=_env())
    assert p.returncode == 0, p.stderr
    assert "2*x" in p.stdout and "14" in p.stdout
    bad = subprocess.run(cmd + ["diff", "x +* 2"], capture_output=True, text=True, timeout=120,
                         env=_env())
    assert bad.returncode == 2
    assert_one_line_error(bad.stderr)
    kink = subprocess.run(cmd + ["diff", "relu(x)", "--at", "x=0"], capture_output=True,
                          text=True, timeout=120, env=_env())
    assert kink.returncode == 1, kink.stderr
    assert "Traceback" not in kink.stderr


def test_python_dash_m_symdiff():
    _check_process([sys.executable, "-m", "symdiff"])


def test_installed_console_script():
    script = shutil.which("symdiff")
    assert script is not None, "the symdiff console script is not on PATH: pip install -e ."
    _check_process([script])
