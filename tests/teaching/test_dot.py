"""to_dot / render: Olah's picture with values, grads and local partials on the edges."""
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import symdiff as sd
from symdiff.teaching import dot as dotmod
from symdiff.teaching.analysis import GraphTooLargeError, analyze
from symdiff.teaching.dot import GraphvizNotFoundError, RenderError, render, to_dot

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
AT = {"a": 3.0, "b": 1.0}


def olah_vars():
    a, b = sd.var("a"), sd.var("b")
    return (a + b) * (b + 1)


def olah_tensors():
    a = sd.tensor(3.0, requires_grad=True, name="a")
    b = sd.tensor(1.0, requires_grad=True, name="b")
    c = a + b
    d = b + 1
    e = c * d
    return a, b, c, d, e


def node_lines(text):
    """id -> label of the drawn nodes (legend excluded)."""
    out = {}
    for m in re.finditer(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$', text, re.M):
        out[m.group(1)] = (m.group(2), m.group(3))
    return out


def edge_labels(text):
    return [m.group(1) for m in re.finditer(r'^  n\d+ -> n\d+ \[.*label="((?:[^"\\]|\\.)*)"\];$',
                                            text, re.M)]


# ---- Olah's example ------------------------------------------------------------------

@pytest.mark.parametrize("build", ["vars", "parse", "tensors"])
def test_olah_values_grads_and_edge_partials(build):
    if build == "vars":
        text = to_dot(olah_vars(), at=AT)
    elif build == "parse":
        text = to_dot(sd.parse("(a+b)*(b+1)"), at=AT)
    else:
        text = to_dot(olah_tensors()[-1])  # bound tensors: their own values
    labels = sorted(lbl for lbl, _ in node_lines(text).values())
    assert labels == sorted([
        "a\\nvalue 3\\ngrad 2", "b\\nvalue 1\\ngrad 6",
        "c = a + b\\nvalue 4\\ngrad 2", "d = b + 1\\nvalue 2\\ngrad 4",
        "e = c * d\\nvalue 8\\ngrad 1", "1"])
    edges = edge_labels(text)
    for want in ["∂e/∂c = d\\n= 2", "∂e/∂d = c\\n= 4", "∂c/∂a = 1", "∂c/∂b = 1", "∂d/∂b = 1"]:
        assert want in edges, (want, edges)
    assert len(edges) == 6  # five derivative edges and the constant 1 -> d


def test_olah_edges_point_from_input_to_consumer():
    text = to_dot(olah_vars(), at=AT)
    ids = {lbl.split("\\n")[0]: nid for nid, (lbl, _) in node_lines(text).items()}
    c, e = ids["c = a + b"], ids["e = c * d"]
    assert f'{c} -> {e} [label="∂e/∂c = d\\n= 2"];' in text


def test_without_values_only_symbols():
    text = to_dot(olah_vars())
    assert "value" not in text.split("subgraph")[0].replace("for values", "")
    assert "∂e/∂c = d" in text and "\\n= 2" not in text
    assert "pass at={...}" in text


def test_grads_equal_the_numeric_evaluator():
    x, y = sd.var("x"), sd.var("y")
    f = sd.exp(sd.sin(x) * y) / (x + y**2) - sd.tanh(x * y)
    at = {"x": 0.7, "y": -1.3}
    info = analyze(f, at)
    value, grads = sd.value_and_grad(f, [x, y])(**at)
    assert float(info.values[id(f)]) == pytest.approx(value, rel=1e-14)
    leaf = {info.names[id(n)]: n for n in info.inputs}
    assert float(info.grads[id(leaf["x"])]) == pytest.approx(grads[0], rel=1e-12)
    assert float(info.grads[id(leaf["y"])]) == pytest.approx(grads[1], rel=1e-12)


def test_node_grad_is_sum_over_out_edges_of_child_grad_times_partial():
    x = sd.var("x")
    f = sd.sin(x) * x + sd.exp(x)
    info = analyze(f, {"x": 0.3})
    for n in info.nodes:
        outs = [e for e in info.edges if e.parent is n and e.flows]
        if not outs:
            continue
        total = sum(float(info.grads[id(e.child)]) * float(e.value) for e in outs)
        assert float(info.grads[id(n)]) == pytest.approx(total, rel=1e-12)


def test_symbolic_partials_from_sympy_with_node_names():
    x = sd.var("x")
    text = to_dot(sd.exp(sd.sin(x)) * x, at={"x": 0.0})
    assert "∂a/∂x = cos(x)\\n= 1" in text
    assert "∂b/∂a = exp(a)\\n= 1" in text
    assert "∂c/∂b = x\\n= 0" in text and "∂c/∂x = b\\n= 1" in text
    y = sd.var("y")
    text = to_dot(x / y, at={"x": 1, "y": 2})
    assert "∂a/∂y = -x/y**2\\n= -0.25" in text


def test_kinks_follow_the_table_relu_prime_at_zero_is_zero():
    x = sd.var("x")
    text = to_dot(sd.relu(x) * 3, at={"x": 0.0})
    assert "∂a/∂x = Heaviside(x, 0)\\n= 0" in text


def test_where_and_comparisons():
    y = sd.var("y")
    text = to_dot(sd.where(y > 0, y * y, -y), at={"y": 2.0})
    assert "(1 if a else 0)\\n= 1" in text
    assert "0 (not differentiated)" in text
    assert "y\\nvalue 2\\ngrad 4" in text


# ---- naming ----------------------------------------------------------------------------

def test_user_names_and_node_names():
    a, b = sd.var("a"), sd.var("b")
    s = a + b
    t = b + 1
    f = s * t
    text = to_dot(f, at=AT, names={"s": s, "loss": f})
    assert "s = a + b" in text and "loss = s * c" in text  # t gets the first free letter
    assert "∂loss/∂s = c\\n= 2" in text
    t.name = "t"
    assert "∂loss/∂t = s\\n= 4" in to_dot(f, at=AT, names={"s": s, "loss": f})


def test_names_errors():
    f = olah_vars()
    with pytest.raises(sd.SymdiffError, match="must map to a node of the graph"):
        to_dot(f, names={"z": sd.var("q") * 2})
    with pytest.raises(sd.SymdiffError, match="two different nodes"):
        to_dot(f, names={"a": f})


def test_automatic_names_run_out_of_letters_then_v1():
    x = sd.var("x")
    f = x
    for _ in range(30):
        f = sd.sin(f)
    text = to_dot(f, at={"x": 0.1})
    assert "a = sin(x)" in text and "z = sin(y)" in text  # x is taken: 25 letters
    assert "v1 = sin(z)" in text and "v5 = sin(v4)" in text


def test_variables_made_twice_are_one_node():
    f = sd.var("x") * sd.var("x")
    text = to_dot(f, at={"x": 3.0})
    assert len(node_lines(text)) == 2
    assert text.count("∂a/∂x = x\\n= 3") == 2  # two edges, one per argument
    assert "x\\nvalue 3\\ngrad 6" in text


# ---- marks, colours, legend ---------------------------------------------------------------

def test_retain_grad_marked_and_leaves_coloured():
    a, b, c, d, e = olah_tensors()
    c.retain_grad()
    k = sd.tensor(5.0, name="k")  # no grad
    text = to_dot(e * k)
    nodes = {lbl.split("\\n")[0]: attrs for lbl, attrs in node_lines(text).values()}
    assert "peripheries=2" in nodes["c = a + b"]
    assert "peripheries=2" not in nodes["d = b + 1"]
    assert "fillcolor=lightblue" in nodes["a"] and "fillcolor=lightblue" in nodes["b"]
    assert "fillcolor=lightgray" in nodes["k"] and "fillcolor=lightgray" in nodes["1"]
    assert "darkolivegreen1" in nodes["f = e * k"]
    assert re.search(r'n\d+ -> n\d+ \[style=dashed, color=gray60, label="∂f/∂k = e\\n= 8'
                     r'\\n\(no gradient flows\)"\]', text)


def test_legend_in_picture_and_docstring():
    text = to_dot(olah_vars(), at=AT)
    legend = text[text.index("subgraph cluster_legend"):]
    for word in ["leaf that requires grad", "lightblue", "retain_grad()", "peripheries=2",
                 "darkolivegreen1", "local partial"]:
        assert word in legend
    for word in ["light blue", "double border", "green", "dashed"]:
        assert word in dotmod.__doc__


# ---- arrays ------------------------------------------------------------------------------

def test_array_graph_shapes_compact_values_and_rules():
    W, x = sd.var("W", shape=(3, 2)), sd.var("x", shape=(2,))
    h = sd.relu(W @ x + np.array([1.0, 2.0, 3.0]))
    L = sd.sum(h * h)
    at = {"W": np.arange(6.0).reshape(3, 2) - 2, "x": np.array([1.0, -1.0])}
    text = to_dot(L, at=at)
    assert "W\\nshape (3, 2)\\nvalue [-2, -1, 0, …] ‖·‖=4.36" in text
    assert "∂a/∂W: g ↦ g @ xᵀ" in text and "∂a/∂x: g ↦ Wᵀ @ g" in text
    assert "x\\nshape (2,)\\nvalue [1, -1]\\ngrad [8, 14]" in text
    _, (gW, gx) = sd.value_and_grad(L, [W, x])(**at)
    assert gx.tolist() == [8.0, 14.0]
    info = analyze(L, at)
    np.testing.assert_allclose(info.grads[id(W)], gW)


def test_non_scalar_output_grads_of_sum():
    x = sd.var("x", shape=(3,))
    text = to_dot(x * x, at={"x": [1.0, 2.0, 3.0]})
    assert "the grads are those of sum(f)" in text
    assert "x\\nshape (3,)\\nvalue [1, 2, 3]\\ngrad [2, 4, 6]" in text


def test_bad_values_are_the_evaluators_errors():
    with pytest.raises(sd.MissingVariableError):
        to_dot(olah_vars(), at={"a": 1.0})
    with pytest.raises(sd.ExtraVariableError):
        to_dot(olah_vars(), at={"a": 1.0, "b": 2.0, "zz": 3.0})


# ---- large graphs --------------------------------------------------------------------------

def chain(n):
    x = sd.var("x")
    f = x
    for _ in range(n):
        f = sd.sin(f)
    return f


def test_large_graph_refused_fast_without_recursion():
    f = chain(100_000)
    t = time.perf_counter()
    with pytest.raises(GraphTooLargeError, match="more than 200 nodes") as info:
        to_dot(f, at={"x": 0.1})
    assert time.perf_counter() - t < 0.5
    assert isinstance(info.value, sd.SymdiffError)
    assert not isinstance(info.value, RecursionError)
    limit = sys.getrecursionlimit()
    assert "max_nodes" in str(info.value)
    with pytest.raises(GraphTooLargeError):
        render(f, "never.dot", max_nodes=100)
    assert sys.getrecursionlimit() == limit


def test_max_nodes_raises_the_limit():
    text = to_dot(chain(250), at={"x": 0.1}, max_nodes=300)
    assert len(node_lines(text)) == 251


# ---- escaping ------------------------------------------------------------------------------

def test_dot_quoting():
    assert dotmod._q('say "hi"\\n\nnext') == '"say \\"hi\\"\\\\n\\nnext"'


# ---- rendering -----------------------------------------------------------------------------

def svg_texts(path):
    root = ET.parse(path).getroot()
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text]


@needs_dot
def test_render_svg_for_real(tmp_path):
    p = render(olah_vars(), tmp_path / "olah.svg", at=AT)
    assert p == tmp_path / "olah.svg"
    texts = svg_texts(p)
    for want in ["c = a + b", "value 4", "grad 6", "e = c * d", "value 8", "∂e/∂c = d", "= 2",
                 "∂e/∂d = c", "= 4", "∂c/∂a = 1", "Legend"]:
        assert want in texts, (want, texts)


@needs_dot
def test_render_svg_with_indexing_and_structural_labels(tmp_path):
    X = sd.var("X", shape=(2, 3))
    f = sd.sum(X[..., 1:] @ sd.const(np.ones((2, 2))))
    texts = svg_texts(render(f, tmp_path / "index.svg", at={"X": np.ones((2, 3))}))
    assert "a = X[..., 1:]" in texts and "∂c/∂a: g ↦ g @ bᵀ" in texts


@needs_dot
@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF-")])
def test_render_png_pdf_magic_bytes(tmp_path, suffix, magic):
    p = render(olah_vars(), tmp_path / f"olah{suffix}", at=AT)
    data = p.read_bytes()
    assert data.startswith(magic) and len(data) > 1000


def test_render_dot_writes_the_text(tmp_path):
    p = render(olah_vars(), str(tmp_path / "olah.dot"), at=AT)
    assert p.read_text(encoding="utf-8") == to_dot(olah_vars(), at=AT)


def test_render_unknown_suffix(tmp_path):
    with pytest.raises(RenderError, match=r"\.svg, \.png, \.pdf, \.dot"):
        render(olah_vars(), tmp_path / "olah.jpg", at=AT)
    assert not (tmp_path / "olah.jpg").exists()


def test_render_without_dot_on_path_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no dot anywhere
    with pytest.raises(GraphvizNotFoundError) as info:
        render(olah_vars(), tmp_path / "olah.svg", at=AT)
    msg = str(info.value)
    assert "sudo apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert "pip install graphviz installs a Python wrapper without dot" in msg
    assert "a .dot file needs no Graphviz" in msg
    assert isinstance(info.value, sd.SymdiffError)
    assert not (tmp_path / "olah.svg").exists()


def test_render_when_dot_cannot_be_run(tmp_path, monkeypatch):
    # which() finds something, but it is not a program that can run
    fake = tmp_path / "dot"
    fake.write_text("not a program", encoding="utf-8")
    monkeypatch.setattr(dotmod.shutil, "which", lambda name: str(fake))
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        render(olah_vars(), tmp_path / "olah.png", at=AT)


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_render_needs_dot_but_not_the_python_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    p = render(olah_vars(), tmp_path / "olah.svg", at=AT)
    assert p.read_bytes().lstrip().startswith(b"<?xml")
    render(olah_vars(), tmp_path / "olah.dot", at=AT)
    assert (tmp_path / "olah.dot").exists()


def test_a_failing_dot_is_a_render_error_with_its_message(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setattr(dotmod.shutil, "which", lambda name: str(fake))
    with pytest.raises(RenderError, match="dot failed on olah.svg: syntax error in line 1"):
        render(olah_vars(), tmp_path / "olah.svg", at=AT)


def test_g_is_not_an_automatic_name_next_to_rules_on_g():
    x = sd.var("x", shape=(2,))
    f = x
    for _ in range(7):
        f = sd.sin(f)
    text = to_dot(sd.sum(f @ f))
    assert "h = sin(f)" in text and "g = " not in text
    assert "∂i/∂h: g ↦ g @ hᵀ" in text
    y = sd.var("y")
    f = y
    for _ in range(7):
        f = sd.sin(f)
    assert "g = sin(f)" in to_dot(f)  # elementwise only: g is free to use


# ---- pictures for slides -----------------------------------------------------------------

def _olah():
    a, b = sd.var("a"), sd.var("b")
    return (a + b) * (b + 1)


def test_slide_options_change_only_what_they_name():
    plain = sd.to_dot(_olah(), at={"a": 3, "b": 1})
    slide = sd.to_dot(_olah(), at={"a": 3, "b": 1}, legend=False, title=None,
                       hide_constants=True, rankdir="LR", dpi=150)
    assert "Legend" in plain and "Legend" not in slide
    assert "labelloc=t" in plain and "label=" not in slide.splitlines()[1]
    assert "rankdir=BT" in plain and "rankdir=LR, fontname=Helvetica, dpi=150" in slide
    assert 'n3 [label="1"' in plain and "n3 " not in slide and "n3 ->" not in slide
    assert 'label="d = b + 1\\nvalue 2\\ngrad 4"' in slide   # the constant reads in its op
    titled = sd.to_dot(_olah(), title='Olah "e"')
    assert 'label="Olah \\"e\\""' in titled


def test_bad_slide_options_are_named():
    with pytest.raises(sd.RenderError, match="rankdir must be one of BT, TB, LR, RL"):
        sd.to_dot(_olah(), rankdir="up")
    with pytest.raises(sd.RenderError, match="render: dpi must be"):
        sd.render(_olah(), "x.png", dpi="high")
    with pytest.raises(sd.RenderError, match="title must be text or None"):
        sd.to_dot(_olah(), title=3)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_dpi_scales_png_pictures_and_the_command_line_has_the_options(tmp_path, capsys):
    import struct

    def size(p):
        return struct.unpack(">II", p.read_bytes()[16:24])
    low = sd.render(_olah(), tmp_path / "low.png", at={"a": 3, "b": 1}, dpi=50, legend=False)
    high = sd.render(_olah(), tmp_path / "high.png", at={"a": 3, "b": 1}, dpi=150,
                     legend=False)
    assert 2.8 < size(high)[0] / size(low)[0] < 3.2
    from symdiff.cli import main
    assert main(["graph", "(a+b)*(b+1)", "--at", "a=3,b=1", "--rankdir", "LR",
                 "--no-legend", "--no-title", "--hide-constants"]) == 0
    out = capsys.readouterr().out
    assert "rankdir=LR" in out and "Legend" not in out and 'label="1"' not in out
    assert main(["graph", "a*b", "--title", "t", "--no-title"]) == 2
    assert "give one of them" in capsys.readouterr().err
