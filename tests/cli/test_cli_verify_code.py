"""``symdiff verify --code FILE:FUNC --grad FILE:FUNC`` (and ``--vjp``): the user's own file
is imported; exit 0 right, 1 wrong, 2 bad input with one line on stderr."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cli_util import run, assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]
HANDWRITTEN = ROOT / "tests" / "handwritten.py"

MODEL = """\
import numpy as np

rng = np.random.default_rng(0)
X_train = rng.standard_normal((8, 2))
t_train = np.where(rng.standard_normal(8) > 0, 1.0, -1.0)


def loss(w, X, t):
    return np.log(1 + np.exp(-t * (X @ w))).mean()


def grad_loss(w, X, t):
    s = 1 / (1 + np.exp(t * (X @ w)))
    return -(X.T @ (t * s)) / len(t)


def grad_loss_no_mean(w, X, t):
    s = 1 / (1 + np.exp(t * (X @ w)))
    return -(X.T @ (t * s))


def grad_raises(w, X, t):
    return X @ t


def grad_wrong_shape(w, X, t):
    return np.zeros(3)


def loss_star(*args):
    return args[0].sum()
"""

LAYERS = HANDWRITTEN.read_text() + textwrap.dedent("""
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((4, 3))
    w0 = rng.standard_normal((3, 3))
    b0 = rng.standard_normal(3)
    gamma0 = rng.standard_normal(3)
    bn_param = {"mode": "train", "eps": 1e-5}
""")


@pytest.fixture
def files(tmp_path, monkeypatch):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "layers.py").write_text(LAYERS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


POINT = ["--at", "w=0.1,-0.2", "--at", "X=X_train,t=t_train", "--wrt", "w"]


def test_right_gradient_code_exits_0(capsys, files):
    code, out, err = run(capsys, "verify", "--code", "model.py:loss",
                         "--grad", "model.py:grad_loss", *POINT)
    assert code == 0 and err == "", err
    lines = out.splitlines()
    assert lines[0] == "verify grad_loss, the gradient of loss: OK"
    assert lines[1].startswith("w: verified (checked numerically at ")
    assert "at w = [0.1, -0.2]" in out and "held at their values in at: X, t" in out


def test_wrong_gradient_code_exits_1_with_a_counterexample(capsys, files):
    code, out, err = run(capsys, "verify", "--code", "model.py:loss",
                         "--grad", "model.py:grad_loss_no_mean", *POINT)
    assert code == 1
    assert err == "symdiff: verify: wrong\n"
    assert "w: WRONG (2 of 2 entries differ at the counterexample)" in out
    assert "counterexample: w = [0.1, -0.2]" in out and "w[0]" in out and "w[1]" in out


def test_backward_passes_with_vjp(capsys, files):
    at = ["--at", "x=x0,w=w0,b=b0"]
    code, out, err = run(capsys, "verify", "--code", "layers.py:affine_forward",
                         "--vjp", "layers.py:affine_backward", *at)
    assert code == 0, out + err
    assert out.splitlines()[0] == "verify affine_backward, the backward pass of affine_forward: OK"
    code, out, err = run(capsys, "verify", "--code", "layers.py:affine_forward",
                         "--vjp", "layers.py:affine_backward_missing_transpose", *at)
    assert code == 1 and "x: WRONG (" in out and "dout = " in out
    # a dict from the file passes through; the classic batch-norm bug is caught
    at = ["--at", "x=x0,gamma=gamma0,beta=b0,bn_param=bn_param"]
    code, out, _ = run(capsys, "verify", "--code", "layers.py:batchnorm_forward",
                       "--vjp", "layers.py:batchnorm_backward", *at)
    assert code == 0, out
    code, out, _ = run(capsys, "verify", "--code", "layers.py:batchnorm_forward",
                       "--vjp", "layers.py:batchnorm_backward_without_dvar", *at)
    assert code == 1 and "x: WRONG (" in out and "gamma: verified" in out


@pytest.mark.parametrize("argv, message", [
    (["--code", "nothere.py:loss", "--grad", "model.py:grad_loss", *POINT],
     "--code: no such file: 'nothere.py'"),
    (["--code", "model.py:lost", "--grad", "model.py:grad_loss", *POINT],
     "--code: model.py has no function 'lost' (its functions: grad_loss, grad_loss_no_mean, "
     "grad_raises, grad_wrong_shape, loss, loss_star)"),
    (["--code", "model.py", "--grad", "model.py:grad_loss", *POINT],
     "--code: expected FILE:FUNCTION (e.g. model.py:loss), got 'model.py'"),
    (["--code", "model.py:X_train", "--grad", "model.py:grad_loss", *POINT],
     "--code: 'X_train' in model.py is a ndarray, not a function"),
    (["--code", "broken.py:loss", "--grad", "model.py:grad_loss", *POINT],
     "--code: importing broken.py raised ZeroDivisionError (line 2): division by zero"),
    (["--code", "syntax.py:loss", "--grad", "model.py:grad_loss", *POINT],
     "--code: syntax.py has a syntax error at line 1"),
    (["--grad", "model.py:grad_loss", *POINT],
     "--grad goes with --code FILE:FUNC"),
    (["--code", "model.py:loss", *POINT],
     "--code: give the gradient function with --grad FILE:FUNC, or a backward pass"),
    (["--code", "model.py:loss", "--grad", "model.py:grad_loss", "--vjp", "model.py:grad_loss",
      *POINT], "(one of the two)"),
    (["x**2", "--code", "model.py:loss", "--grad", "model.py:grad_loss", *POINT],
     "--code checks a Python function; give it without an expression"),
    (["x**2", "--claim", "x=2*x", "--wrt", "x"], "--wrt goes with --code"),
    ([], "verify: give a formula and --claim, or --code FILE:FUNC"),
    (["--code", "model.py:loss", "--grad", "model.py:grad_loss", "--at", "w=0.1,0.2"],
     "missing a required argument: 'X'"),
    (["--code", "model.py:loss", "--grad", "model.py:grad_loss", "--at", "w=1,X=X_test,t=t"],
     "--at X: 'X_test' is not a number, a list, or a name defined in model.py"),
    (["--code", "model.py:loss", "--grad", "model.py:grad_raises", *POINT],
     "grad_raises raised ValueError (at model.py:23, in grad_raises) at w = [0.1, -0.2]"),
    (["--code", "model.py:loss", "--grad", "model.py:grad_wrong_shape", *POINT],
     r"grad_wrong_shape returned an array of shape (3,) for w, which has shape (2,)"),
    (["--code", "model.py:loss_star", "--grad", "model.py:grad_loss", "--at", "w=1"],
     "loss_star takes *args"),
    (["--code", "model.py:loss", "--grad", "model.py:grad_loss", "--shape", "w=2", *POINT],
     "--shape: not used with --code"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, files, argv, message):
    (files / "broken.py").write_text("import numpy\n1 / 0\n")
    (files / "syntax.py").write_text("def loss(w:\n")
    code, out, err = run(capsys, "verify", *argv)
    assert code == 2, out + err
    assert_one_line_error(err)
    assert message in err, err


def test_help_says_the_file_is_run(capsys):
    code, out, _ = run(capsys, "verify", "--help")
    assert code == 0
    assert "IMPORTED AND RUN AS PYTHON" in " ".join(out.split())
    assert "--code FILE:FUNC" in out and "--vjp FILE:FUNC" in out


def test_as_a_real_process(files):
    p = subprocess.run([sys.executable, "-m", "symdiff", "verify", "--code", "model.py:loss",
                        "--grad", "model.py:grad_loss_no_mean", *POINT],
                       capture_output=True, text=True, timeout=120, cwd=files,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 1, p.stderr
    assert "w: WRONG" in p.stdout and "Traceback" not in p.stderr
