"""The examples and the docs run, and print the tutorials' numbers.

* every ``examples/*.py`` runs in a subprocess and exits 0 (each ends with ``sd.check``);
* the numbers the tutorials print are in the output;
* the random examples (03, 04) are imported and compared against a hand-written numpy
  backward pass from the same initial arrays;
* every ```python block of README.md and docs/*.md runs (each file's blocks in order, in one
  namespace), and a python block followed directly by a ```text block must print exactly
  that text: the docs cannot rot.
"""
import contextlib
import importlib.util
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOCS = [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if p.exists()]

# what each tutorial prints (an example not listed here is still run and must exit 0)
EXPECTED_OUTPUT = {
    "01_square_plus_three.py": ["14.0\n", "df/dx = 2*x"],
    "02_cubic_polynomial.py": ["[[ 22.  45.  74.]\n [109. 150. 197.]\n [250. 309. 374.]]",
                               "f'(t) = 3*t**2 + 14*t + 5"],
    "03_linear_regression.py": ["Gradient of b: [1.]", "dy/dw = x"],
    "04_one_hidden_layer.py": ["Gradient of b2: [1.]", "gradient check: OK"],
    "05_olah_graph.py": ["tensor([8.], grad_fn=<MulBackward>)", "[2.]\n[6.]\n",
                         "[2.] [6.] [2.] [4.] [1.]"],
    "06_product_and_square.py": ["z = 15.0\nGradient of x: 3.0\nGradient of y: 8.0\n"],
}


def test_every_example_has_expectations():
    assert EXAMPLES, "no examples found"
    assert set(EXPECTED_OUTPUT) <= {p.name for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path):
    p = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    assert "check" in p.stdout.lower()       # each example ends by checking its gradient
    for fragment in EXPECTED_OUTPUT.get(path.name, []):
        assert fragment in p.stdout, f"{fragment!r} not in the output of {path.name}"


def load(name):
    path = ROOT / "examples" / name
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def close(a, b):
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-12, atol=1e-300)


# ---- the fixed examples, in process ------------------------------------------------------

def test_square_plus_three(capsys):
    out = load("01_square_plus_three.py").main()
    assert out["x_grad"] == 14.0 and out["f"] == 52.0 and out["check"].ok


def test_cubic_polynomial(capsys):
    out = load("02_cubic_polynomial.py").main()
    expected = [[22, 45, 74], [109, 150, 197], [250, 309, 374]]
    np.testing.assert_array_equal(out["x_grad"], expected)
    assert out["check"].ok


def test_olah_graph(capsys):
    out = load("05_olah_graph.py").main()
    assert out["e"] == "tensor([8.], grad_fn=<MulBackward>)"
    for name, value in zip("abcde", (2.0, 6.0, 2.0, 4.0, 1.0)):
        np.testing.assert_array_equal(out["grad"][name], [value])
    assert out["check"].ok


def test_product_and_square(capsys):
    out = load("06_product_and_square.py").main()
    assert (out["z"], out["x_grad"], out["y_grad"]) == (15.0, 3.0, 8.0)
    assert out["check"].ok


# ---- the random examples against numpy by hand --------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 42])
def test_linear_regression_against_numpy(capsys, seed):
    out = load("03_linear_regression.py").main(seed)
    x, w, b = (out["start"][k] for k in "xwb")
    assert x.shape == w.shape == b.shape == (1,)
    assert close(out["y"], w * x + b)
    # y = w x + b:  dy/dx = w, dy/dw = x, dy/db = 1
    assert close(out["grad"]["x"], w)
    assert close(out["grad"]["w"], x)
    assert close(out["grad"]["b"], np.ones(1))
    assert close(out["updated"]["w"], w - 0.01 * x)
    assert close(out["updated"]["b"], b - 0.01)
    assert out["check"].ok


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_one_hidden_layer_against_numpy(capsys, seed):
    out = load("04_one_hidden_layer.py").main(seed)
    x, w1, b1, w2, b2 = (out["start"][k] for k in ("x", "w1", "b1", "w2", "b2"))
    assert [a.shape for a in (x, w1, b1, w2, b2)] == [(1, 10), (10, 5), (5,), (5, 1), (1,)]
    # forward
    a = x @ w1 + b1
    h = np.maximum(a, 0.0)
    y = h @ w2 + b2
    assert close(out["y"], y)
    # backward, by hand
    gy = np.ones_like(y)
    gw2 = h.T @ gy
    gb2 = gy.sum(axis=0)
    ga = (gy @ w2.T) * (a > 0)
    gw1 = x.T @ ga
    gb1 = ga.sum(axis=0)
    gx = ga @ w1.T
    for name, g in [("x", gx), ("w1", gw1), ("b1", gb1), ("w2", gw2), ("b2", gb2)]:
        assert close(out["grad"][name], g), name
    # one SGD step
    for name, p, g in [("w1", w1, gw1), ("b1", b1, gb1), ("w2", w2, gw2), ("b2", b2, gb2)]:
        assert close(out["updated"][name], p - 0.01 * g), name
    assert out["check"].ok


@pytest.mark.parametrize("name", ["03_linear_regression.py", "04_one_hidden_layer.py"])
def test_random_examples_follow_the_seed(capsys, name):
    module = load(name)
    first, again, other = module.main(7), module.main(7), module.main(8)
    for k, v in first["start"].items():
        np.testing.assert_array_equal(v, again["start"][k])
    assert any(not np.array_equal(v, other["start"][k]) for k, v in first["start"].items())


# ---- the docs ------------------------------------------------------------------------------

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


def doc_blocks(path):
    """(python source, expected output or None) for each ```python block, in order."""
    text = path.read_text()
    fences = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    blocks = []
    for i, (lang, body, _, end) in enumerate(fences):
        if lang != "python":
            continue
        expected = None
        if i + 1 < len(fences):
            nlang, nbody, nstart, _ = fences[i + 1]
            if nlang == "text" and not text[end:nstart].strip():
                expected = nbody
        blocks.append((body, expected))
    return blocks


@pytest.mark.parametrize("path", DOCS, ids=[p.relative_to(ROOT).as_posix() for p in DOCS])
def test_doc_code_runs_and_prints_what_the_doc_says(path, monkeypatch, tmp_path):
    blocks = doc_blocks(path)
    if path.name in ("README.md", "getting-started.md"):
        assert blocks, f"{path.name} has no python blocks"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"doc_{path.stem}"}
    for n, (source, expected) in enumerate(blocks, 1):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(source, f"{path.name}, python block {n}", "exec"), namespace)
        if expected is not None:
            got = [line.rstrip() for line in buffer.getvalue().strip("\n").splitlines()]
            want = [line.rstrip() for line in expected.strip("\n").splitlines()]
            assert got == want, f"{path.name}, python block {n}: the output shown is stale"


def test_readme_first_screen_commands():
    readme = (ROOT / "README.md").read_text()
    head = readme[:2500]
    assert 'pip install -e . && symdiff diff "x**2 + 3" --wrt x --at x=7' in head
    assert 'pip install -e ".[dev]" && python -m pytest' in head
