"""The stepping page without a browser: its steps come from the text explanation's entries,
the file is self-contained, and bad requests get clear errors (the browser tests are in
test_page_browser.py)."""
import json
import re
import shutil

import numpy as np
import pytest

import symdiff as sd
from cli_util import assert_one_line_error, run
from symdiff.teaching import dot
from symdiff.teaching.analysis import analyze
from symdiff.teaching.page import build_steps

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is absent")


def olah():
    a, b = sd.var("a"), sd.var("b")
    return (a + b) * (b + 1)


def test_explain_is_still_the_text_as_a_str():
    e = sd.explain(olah(), at={"a": 3, "b": 1})
    assert isinstance(e, str) and e.startswith("Forward pass (inputs first):")
    assert "  b.grad += d.grad * ∂d/∂b = 4 * 1 = 6   (2 + 4)" in e.splitlines()
    assert e.splitlines()[-1] == str(e).splitlines()[-1]


def test_every_step_is_a_line_of_the_text_explanation():
    """One source, two views: the page's step texts are the explanation's lines."""
    f = olah()
    text = sd.explain(f, at={"a": 3, "b": 1})
    steps = build_steps(analyze(f, at={"a": 3, "b": 1}))
    lines = {line.strip() for line in text.splitlines()}
    for s in steps:
        if not s["text"].startswith("path "):
            assert all(t.strip() in lines for t in s["text"].splitlines()), s["text"]
    phases = [s["phase"] for s in steps]
    assert phases == ["forward"] * 5 + ["backward"] * 6 + ["paths"] * 5
    grads = [s["grad"] for s in steps if s.get("grad")]
    assert [g for _, g in grads] == ["grad 1", "grad 2", "grad 4", "grad 2", "grad 2", "grad 6"]


def test_array_steps_carry_shapes_and_no_path_view():
    W, v = sd.var("W", (2, 3)), sd.var("v", (3,))
    info = analyze(sd.sum(W @ v), at={"W": np.ones((2, 3)), "v": np.arange(3.0)})
    steps = build_steps(info)
    assert {s["phase"] for s in steps} == {"forward", "backward"}
    assert any("shape (2, 3)" in s["text"] for s in steps)


@needs_dot
def test_the_page_is_one_self_contained_file(tmp_path):
    path = sd.explain(olah(), at={"a": 3, "b": 1}).save(tmp_path / "backprop.html")
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 1
    assert 'id="step"' in html and 'id="next"' in html and 'id="back"' in html
    urls = set(re.findall(r"https?://[^\"' ]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", html)
    data = json.loads(re.search(r'<script id="symdiff-steps" type="application/json">(.*?)'
                                r"</script>", html, re.S).group(1))
    assert len(data["steps"]) == 16
    ids = set(re.findall(r'<g id="([ne]\d+)" class="(?:node|edge)"', html))
    for s in data["steps"]:
        assert set(s["current"]) <= ids and set(s["lit"]) <= ids


@needs_dot
def test_the_command_line_writes_the_page(tmp_path, capsys):
    out_file = tmp_path / "backprop.html"
    code, out, err = run(capsys, "explain", "(a+b)*(b+1)", "--at", "a=3,b=1", "--html",
                         str(out_file))
    assert code == 0 and out.strip() == f"wrote {out_file}" and err == ""
    assert "b.grad += d.grad * ∂d/∂b = 4 * 1 = 6" in out_file.read_text(encoding="utf-8")


def test_without_graphviz_the_error_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(dot.shutil, "which", lambda name: None)
    e = sd.explain(olah(), at={"a": 3, "b": 1})
    with pytest.raises(sd.GraphvizNotFoundError, match="apt-get install graphviz"):
        e.save(tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
    code, _, err = run(capsys, "explain", "a*b", "--at", "a=3,b=1", "--html",
                       str(tmp_path / "y.html"))
    assert code == 2
    assert_one_line_error(err)
    assert "brew install graphviz" in err


@needs_dot
def test_bad_file_names_and_large_graphs_are_refused(tmp_path):
    e = sd.explain(olah(), at={"a": 3, "b": 1})
    with pytest.raises(sd.RenderError, match="ending in .html"):
        e.save(tmp_path / "x.svg")
    with pytest.raises(sd.RenderError, match="cannot write"):
        e.save(tmp_path / "no-such-dir" / "x.html")
    x = sd.var("x")
    n = x
    for _ in range(250):
        n = sd.sin(n)
    with pytest.raises(sd.GraphTooLargeError) as explained:
        sd.explain(n, at={"x": 1.0})
    with pytest.raises(sd.GraphTooLargeError) as drawn:
        sd.to_dot(n, at={"x": 1.0})
    # the same refusal as the picture's, naming its caller
    assert str(explained.value).replace("explain:", "to_dot:") == str(drawn.value)


def test_the_docs_example_page_has_the_steps_of_a_fresh_one():
    """docs/backprop.html (linked from the README and the tutorial) is made by
    ``symdiff explain "(a+b)*(b+1)" --at a=3,b=1 --html docs/backprop.html``; its steps must be
    those the code makes now (the layout may differ between Graphviz versions)."""
    import pathlib
    page = pathlib.Path(__file__).resolve().parents[2] / "docs" / "backprop.html"
    data = json.loads(re.search(r'<script id="symdiff-steps" type="application/json">(.*?)'
                                r"</script>", page.read_text(encoding="utf-8"), re.S).group(1))
    fresh = build_steps(analyze(olah(), at={"a": 3, "b": 1}))
    assert data["steps"] == json.loads(json.dumps(fresh, ensure_ascii=False))
