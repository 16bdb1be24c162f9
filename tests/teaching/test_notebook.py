"""docs/teaching.ipynb runs in a real kernel (nbclient + ipykernel, the browser test extra)
and its outputs carry the MIME types JupyterLab, VS Code and Colab render: LaTeX for the
formula, SVG for pictures, HTML without ``$$`` math, readable plain text everywhere.

The committed notebook keeps its outputs (so it reads on GitHub); the test checks they are
of the same kinds as a fresh run's. Remake them with
``SYMDIFF_UPDATE_NOTEBOOK=1 pytest tests/teaching/test_notebook.py``.
"""
import os
import pathlib
import shutil

import pytest

nbformat = pytest.importorskip("nbformat", reason="the browser test extra is absent")
nbclient = pytest.importorskip("nbclient", reason="the browser test extra is absent")
pytest.importorskip("ipykernel", reason="the browser test extra is absent")

pytestmark = pytest.mark.skipif(shutil.which("dot") is None,
                                reason="Graphviz's dot is not installed")

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "docs" / "teaching.ipynb"
ROOT = NOTEBOOK.parents[1]


def _by_tag(nb):
    return {c.metadata["tags"][0]: c for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("tags")}


def _kinds(cell):
    return [(o.output_type, sorted(o.get("data", {}))) for o in cell.outputs]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notebook")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    fresh = nbformat.from_dict(nb)
    for c in fresh.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    # the kernel imports this checkout, installed or not
    env_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path
    try:
        nbclient.NotebookClient(fresh, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp)}}).execute()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    if os.environ.get("SYMDIFF_UPDATE_NOTEBOOK"):
        nbformat.write(fresh, NOTEBOOK)
    return nb, fresh, tmp


def test_no_cell_fails_and_every_cell_shows_something(executed):
    _, fresh, _ = executed
    for c in fresh.cells:
        if c.cell_type == "code":
            assert c.outputs, c.source
            assert all(o.output_type != "error" for o in c.outputs), c.outputs


def test_a_node_is_latex_and_plain_text(executed):
    out = _by_tag(executed[1])["node"].outputs[0].data
    assert out["text/latex"] == r"$\left(a + b\right) \left(b + 1\right)$"
    assert out["text/plain"].startswith("Node((a + b)*(b + 1)")


def test_show_carries_html_without_dollar_math_svg_and_latex(executed):
    out = _by_tag(executed[1])["show"].outputs[0].data
    assert set(out) == {"text/plain", "text/html", "text/latex", "image/svg+xml"}
    assert "$" not in out["text/html"] and "<math" in out["text/html"]
    assert "<svg" in out["text/html"] and "grad 6" in out["image/svg+xml"]
    assert "check at a = 3, b = 1: OK" in out["text/plain"]


def test_the_picture_and_the_explanation_read_well(executed):
    cells = _by_tag(executed[1])
    dot = cells["dot"].outputs[0].data
    assert dot["text/plain"].startswith("digraph symdiff {")     # not a quoted repr
    assert "<svg" in dot["image/svg+xml"] and "value 8" in dot["image/svg+xml"]
    text = cells["explain"].outputs[0].data
    assert "  b.grad += d.grad * ∂d/∂b = 4 * 1 = 6   (2 + 4)" in text["text/plain"].splitlines()
    assert text["text/html"].startswith("<pre") and "$" not in text["text/html"]
    check = cells["check"].outputs[0].data
    assert "check at a = 3, b = 1: OK" in check["text/html"]


def test_the_stepping_page_is_written_and_linked(executed):
    _, fresh, tmp = executed
    html = _by_tag(fresh)["page"].outputs[0].data["text/html"]
    assert 'href="backprop.html"' in html
    page = (tmp / "backprop.html").read_text(encoding="utf-8")
    assert "b.grad += d.grad * ∂d/∂b = 4 * 1 = 6" in page and "<svg" in page


def test_tensors_give_olahs_numbers(executed):
    out = _by_tag(executed[1])["tensors"].outputs[0].data
    assert out["text/plain"] == "(array(2.), array(6.), array(2.), array(4.))"


def test_the_committed_outputs_are_of_the_same_kinds_as_a_fresh_run(executed):
    stored, fresh, _ = executed
    assert [c.source for c in stored.cells] == [c.source for c in fresh.cells]
    for a, b in zip(stored.cells, fresh.cells):
        if a.cell_type == "code":
            assert _kinds(a) == _kinds(b), a.source
