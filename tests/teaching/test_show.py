"""Notebook output: Node._repr_latex_, sd.show (formula + SVG graph + check report)."""
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import symdiff as sd
from symdiff.teaching import dot


def test_node_repr_latex_is_the_closed_form():
    x = sd.var("x")
    assert (sd.sin(x) * x)._repr_latex_() == r"$x \sin{\left(x \right)}$"
    W = sd.var("W", (2, 3))
    assert sd.diff(sd.sum(W * W), W)._repr_latex_() == "$2 W$"


def test_node_repr_latex_of_huge_or_formless_graphs_is_none():
    x = sd.var("x")
    n = x
    for _ in range(300):
        n = sd.sin(n)
    assert n._repr_latex_() is None
    assert sd.sum(sd.var("T", (2, 2, 2))**2)._repr_latex_() is None   # no matrix form


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_show_has_formula_svg_and_check_report():
    a, b = sd.var("a"), sd.var("b")
    s = sd.show((a + b) * (b + 1), at={"a": 3.0, "b": 1.0})
    page = s._repr_html_()
    assert "$$" not in page and "<math" in page and "<svg" in page and "reverse mode" in page
    svg = page[page.index("<svg"):page.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "value 8" in text and "grad 6" in text
    assert s.report.ok and s.report.reverse_mode["b"] == 6.0
    assert "OK" in str(s)


def test_show_without_dot_falls_back_to_dot_text(monkeypatch):
    monkeypatch.setattr(dot.shutil, "which", lambda name: None)
    x = sd.var("x")
    s = sd.show(x**2 + 3, at={"x": 7.0})
    assert s.svg is None and "digraph" in s.dot
    assert "<pre>digraph" in s._repr_html_()
    assert any("apt-get install graphviz" in n or "graphviz" in n.lower() for n in s.notes)


def test_show_of_a_large_graph_says_why_there_is_no_picture():
    x = sd.var("x", (3,))
    n = x
    for _ in range(250):
        n = sd.tanh(n)
    s = sd.show(sd.sum(n), at={"x": np.ones(3)})
    assert s.dot is None and any("no graph" in note for note in s.notes)
    assert s.report is not None and s.report.ok


# ---- every notebook front end: MIME bundles -------------------------------------------

def test_node_bundle_has_plain_text_and_latex():
    x = sd.var("x")
    b = (sd.sin(x) * x)._repr_mimebundle_()
    assert b == {"text/plain": repr(sd.sin(x) * x), "text/latex": r"$x \sin{\left(x \right)}$"}
    n = x
    for _ in range(300):
        n = sd.sin(n)
    assert set(n._repr_mimebundle_()) == {"text/plain"}   # no closed form worth printing


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_show_bundle_has_every_type_and_no_dollar_math_in_html():
    a, b = sd.var("a"), sd.var("b")
    bundle = sd.show((a + b) * (b + 1), at={"a": 3.0, "b": 1.0})._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "text/latex", "image/svg+xml"}
    assert "$" not in bundle["text/html"] and "<math display='block'>" in bundle["text/html"]
    ET.fromstring(bundle["text/html"][bundle["text/html"].index("<math"):
                                      bundle["text/html"].index("</math>") + 7]
                  .replace("&InvisibleTimes;", ""))
    assert bundle["text/latex"].startswith(r"$\displaystyle f = ")
    assert ET.fromstring(bundle["image/svg+xml"]).tag.endswith("svg")
    assert bundle["text/plain"].startswith("f = ")


def test_show_html_without_mathml_shows_the_formula_as_text():
    s = sd.show(sd.var("x") ** 2 + 3)
    s.mathml = None
    html = s._repr_mimebundle_()["text/html"]
    assert "<code>f = x**2 + 3</code>" in html and "$" not in html


def test_explain_and_to_dot_stay_strings_and_display_richly(monkeypatch):
    a, b = sd.var("a"), sd.var("b")
    e = sd.explain((a + b) * (b + 1), at={"a": 3, "b": 1})
    bundle = e._repr_mimebundle_()
    assert bundle["text/plain"] == str(e) and type(bundle["text/plain"]) is str
    assert bundle["text/html"].startswith("<pre") and "∂e/∂c = d = 2" in bundle["text/html"]
    d = sd.to_dot((a + b) * (b + 1), at={"a": 3, "b": 1})
    assert isinstance(d, str) and d.startswith("digraph")
    if shutil.which("dot"):
        assert "<svg" in d._repr_mimebundle_()["image/svg+xml"]
    monkeypatch.setattr(dot.shutil, "which", lambda name: None)
    assert d._repr_mimebundle_() == {"text/plain": str(d)}   # no Graphviz: the text
