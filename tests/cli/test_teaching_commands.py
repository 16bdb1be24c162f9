"""``symdiff graph`` and ``symdiff explain`` on Olah's example e = (a + b) * (b + 1)."""
import shutil
import xml.etree.ElementTree as ET

import pytest

from cli_util import run

OLAH = ["(a+b)*(b+1)", "--at", "a=3,b=1"]


def test_graph_prints_dot_with_values_gradients_and_edge_partials(capsys):
    code, out, err = run(capsys, "graph", *OLAH)
    assert code == 0, err
    assert out.startswith("digraph")
    for label in ("value 3", "value 1", "value 4", "value 2", "value 8", "grad 2", "grad 6",
                  "∂e/∂c = d\\n= 2", "∂e/∂d = c\\n= 4", "∂c/∂a = 1", "∂d/∂b = 1"):
        assert label in out, label


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graph_renders_svg(capsys, tmp_path):
    path = tmp_path / "olah.svg"
    code, out, err = run(capsys, "graph", *OLAH, "-o", str(path))
    assert code == 0, err
    assert str(path) in out
    root = ET.parse(path).getroot()
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for label in ("value 8", "grad 6", "∂e/∂c = d", "= 4"):
        assert label in text, label


def test_graph_writes_dot_file_without_graphviz(capsys, tmp_path):
    path = tmp_path / "olah.dot"
    code, _, err = run(capsys, "graph", *OLAH, "-o", str(path))
    assert code == 0, err
    assert "∂e/∂d = c" in path.read_text()


def test_graph_bad_suffix_is_a_one_line_error(capsys, tmp_path):
    code, out, err = run(capsys, "graph", *OLAH, "-o", str(tmp_path / "olah.bmpx"))
    assert code == 2
    assert err.startswith("symdiff: error:") and len(err.strip().splitlines()) == 1


def test_explain_prints_the_chain_rule_steps_in_order(capsys):
    code, out, err = run(capsys, "explain", *OLAH)
    assert code == 0, err
    steps = ["e.grad = 1", "c.grad += e.grad * ∂e/∂c = 1 * 2 = 2",
             "d.grad += e.grad * ∂e/∂d = 1 * 4 = 4", "b.grad += c.grad * ∂c/∂b = 2 * 1 = 2",
             "b.grad += d.grad * ∂d/∂b = 4 * 1 = 6"]
    positions = [out.index(s) for s in steps]
    assert positions == sorted(positions)
    assert "∂e/∂b = ∂e/∂c·∂c/∂b + ∂e/∂d·∂d/∂b = 2·1 + 4·1 = 6" in out


def test_explain_rejects_a_bad_expression(capsys):
    code, _, err = run(capsys, "explain", "(a+", "--at", "a=1")
    assert code == 2 and err.startswith("symdiff: error:")


# ---- verify -------------------------------------------------------------------------

POLY = "x**3 + 7*x**2 + 5*x + 10"


def test_verify_right_claim_exits_0(capsys):
    code, out, err = run(capsys, "verify", POLY, "--claim", "x=3*x**2 + 14*x + 5")
    assert code == 0, err
    assert "OK" in out.splitlines()[0] and "proven by SymPy" in out


def test_verify_wrong_claim_exits_1_with_a_real_counterexample(capsys):
    code, out, err = run(capsys, "verify", POLY, "--claim", "x=3*x**2 + 7*x + 5")
    assert code == 1
    assert "WRONG" in out and "counterexample: x = " in out
    x = float(out.split("counterexample: x = ")[1].split()[0])
    assert (3 * x**2 + 7 * x + 5) != (3 * x**2 + 14 * x + 5)
    assert "symdiff: verify: wrong" in err


def test_verify_matrix_claim_in_printed_notation(capsys):
    shapes = ["--shape", "A=3,2", "--shape", "x=2", "--shape", "b=3"]
    code, out, _ = run(capsys, "verify", "sum((A @ x - b)**2)", *shapes,
                       "--claim", "x=2*A.T*(A*x - b)")
    assert code == 0, out
    code, out, _ = run(capsys, "verify", "sum((A @ x - b)**2)", *shapes,
                       "--claim", "x=A.T*(A*x - b)")
    assert code == 1 and "x[0]" in out


def test_verify_at_a_kink_reports_one_sided_slopes(capsys):
    code, out, _ = run(capsys, "verify", "relu(x)", "--claim", "x=Heaviside(x, 0)", "--at", "x=0")
    assert code == 1
    assert "not differentiable" in out.lower() and "left 0, right 1" in out


@pytest.mark.parametrize("claim", ["x", "=2*x", "y=2*x", "x=__import__('os')"])
def test_verify_bad_claims_are_one_line_errors(capsys, claim):
    code, _, err = run(capsys, "verify", "x**2", "--claim", claim)
    assert code == 2
    assert err.startswith("symdiff: error:") and len(err.strip().splitlines()) == 1


def test_verify_needs_a_claim(capsys):
    code, _, err = run(capsys, "verify", "x**2")
    assert code == 2 and "--claim" in err
