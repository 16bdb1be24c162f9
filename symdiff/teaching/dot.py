"""Graphviz pictures of a graph: values and gradients on the nodes, local partials on the edges.

Chris Olah's computational-graph picture, where "the key is to understand derivatives on
the edges": each node shows its value and its gradient ``grad = ∂f/∂node`` (PyTorch's
``.grad``), each edge the local partial derivative of the node it feeds with respect to
the node it comes from, symbolically and as a number at the point. The backward sweep
is then visible: a node's grad is the sum over its out-edges of the consumer's grad
times the edge's partial.

Legend (also drawn as a cluster in the picture):

- light blue box: a leaf that requires grad (``sd.var``, ``sd.tensor(..., requires_grad=True)``)
- light gray box: a constant, or a tensor with ``requires_grad=False`` (no grad)
- green: the output ``f``; its grad is the seed 1 (for an ``f`` of several elements the
  grads are those of ``sum(f)``, seed ones, and the picture says so in its title)
- double border: a node on which ``retain_grad()`` was called
- ellipse ``c = a + b``: an op, labelled with the row's ``display`` from the table
- edge ``∂e/∂c = d`` / ``= 2``: the local partial of the consumer with respect to its
  input, symbolic (``sympy.diff`` of the row's formula for elementwise rows, a short
  rule such as ``g ↦ g @ bᵀ`` for structural and reduction rows) and its value at the
  point; dashed gray edges carry no gradient

Numbers come from the numeric evaluator: forward values and gradients from the lowered
program's own two sweeps (the table's hand-written VJPs in reverse topological order),
edge partials from the same VJPs with the incoming gradient set to 1 (so kinks follow the
table's conventions: relu'(0) = 0). Interior nodes are named ``names`` (user's), else
their ``.name``, else the unused single lowercase letters in topological order (not ``g``
in graphs with structural ops, whose edges use ``g`` for the incoming gradient), then
``v1, v2, ...``. Values are shown when ``at`` is given or when every leaf is bound
(tensors, constants). Graphs over ``max_nodes`` nodes are refused (``GraphTooLargeError``).

This module holds the DOT text (``to_dot``), files (``render``) and Graphviz's ``dot``
(``pipe``, run with a timeout) with their errors; the names, numbers and partials it draws come from
``symdiff.teaching.analysis`` and ``symdiff.teaching.labels``, the only modules of the
package it imports, besides ``symdiff.errors``, ``symdiff.graph`` and numpy (hover texts).

>>> import symdiff as sd
>>> a, b = sd.var("a"), sd.var("b")
>>> text = to_dot((a + b) * (b + 1), at={"a": 3, "b": 1})
>>> print("\\n".join(line for line in text.splitlines() if "->" in line and "legend" not in line))
  n0 -> n2 [label="∂c/∂a = 1"];
  n1 -> n2 [label="∂c/∂b = 1"];
  n1 -> n4 [label="∂d/∂b = 1"];
  n3 -> n4 [style=dashed, color=gray60, label="constant"];
  n2 -> n5 [label="∂e/∂c = d\\n= 2"];
  n4 -> n5 [label="∂e/∂d = c\\n= 4"];
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
from typing import Any, Mapping, Optional

import numpy as np

from symdiff.errors import SymdiffError
from symdiff.graph.node import Node
from symdiff.graph.values import as_real
from symdiff.teaching.analysis import Edge, GraphInfo, analyze
from symdiff.teaching.labels import expression, fmt

__all__ = ["to_dot", "render", "pipe", "RenderError", "GraphvizNotFoundError", "DotText"]

# the commands as a user types them (sudo: apt-get needs root); pip's graphviz package, which
# the `viz` extra installs, is a Python wrapper without the dot program
INSTALL_HINT = ("install Graphviz's dot program with sudo apt-get install graphviz "
                "(Debian/Ubuntu), brew install graphviz (macOS) or conda install graphviz "
                "(pip install graphviz installs a Python wrapper without dot)")
DOT_SECONDS = 10.0
"""Time Graphviz's ``dot`` gets to lay out a picture (``render(..., seconds=)``); its layout
time grows very fast with crossing edges, so past it ``render`` raises ``RenderError``."""
RANKDIRS = ("BT", "TB", "LR", "RL")
DEFAULT_TITLE = object()
"""``title=``'s default: the picture says what it shows (None: no title)."""
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}


class RenderError(SymdiffError, ValueError):
    """``render`` cannot produce the requested file (unknown suffix, Graphviz failed)."""


class GraphvizNotFoundError(RenderError, RuntimeError):
    """Graphviz's ``dot`` program is missing or cannot be run."""


# ---------------------------------------------------------------------------
# DOT text
# ---------------------------------------------------------------------------

class DotText(str):
    """The DOT text of ``to_dot`` (a ``str``); notebooks show it as the picture."""

    def _ipython_display_(self) -> None:
        """IPython shows a ``str`` subclass's text/plain as a quoted repr, whatever its
        bundle says; displaying the bundle raw keeps the text readable."""
        from IPython.display import display   # only ever called inside IPython
        display(self._repr_mimebundle_(), raw=True)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """``text/plain`` (the DOT text) and, when Graphviz is installed and lays the
        picture out within ``DOT_SECONDS``, ``image/svg+xml``."""
        bundle = {"text/plain": str(self)}
        try:
            svg = pipe(str(self), "svg").decode("utf-8")
        except RenderError:   # no Graphviz, or too slow: the text is still the answer
            return bundle
        bundle["image/svg+xml"] = svg[svg.find("<svg"):]
        return bundle


def _q(s: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(d: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items())


def _node_label(n: Node, info: GraphInfo) -> str:
    name = info.names[id(n)]
    if n.op == "const":
        head = name if n.size == 1 else f"{name} = {fmt(n._value)}"
    elif n.is_leaf:
        head = name
    else:
        head = f"{name} = {expression(n, info.names)}"
    lines = [head]
    if n.shape:
        lines.append(f"shape {n.shape}")
    if info.values is not None and n.op != "const":
        lines.append(f"value {fmt(info.values[id(n)])}")
    if info.grads is not None and id(n) in info.grads:
        lines.append(f"grad {fmt(info.grads[id(n)])}")
    return "\n".join(lines)


def _edge_label(e: Edge, info: GraphInfo) -> str:
    if e.symbolic is None:
        return "constant"
    sep = ": " if e.rule else " = "
    label = f"{e.partial(info.names)}{sep}{e.symbolic}"
    if e.value is not None and (e.expr is None or not e.expr.is_Number):
        label += f"\n= {fmt(e.value)}"
    if e.symbolic.startswith("0 ("):
        return label
    if not e.flows:
        label += "\n(no gradient flows)"
    return label


def to_dot(f: Node, at: Optional[Mapping[str, Any]] = None,
           names: Optional[Mapping[str, Node]] = None, max_nodes: int = 200, *,
           legend: bool = True, title: Any = DEFAULT_TITLE, hide_constants: bool = False,
           rankdir: str = "BT", dpi: Optional[float] = None) -> DotText:
    """Graphviz DOT text of ``f``'s graph: ops, values, grads, local partials on the edges.

    See the module docstring for the legend. ``at`` gives values for the variables by
    name (bound tensors use their own values); ``names`` maps a name to an interior node.
    For slides: ``legend=False`` leaves the legend out, ``title=`` replaces the title
    (None: no title), ``hide_constants=True`` leaves constant nodes out (their values
    still read in the ops' labels), ``rankdir`` lays the graph out bottom to top ("BT",
    inputs at the bottom), "TB", "LR" or "RL", and ``dpi`` sets the resolution of PNG
    pictures.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> text = to_dot(sd.sin(x) * x, at={"x": 0.0})
    >>> "∂a/∂x = cos(x)" in text, 'label="a = sin(x)\\\\nvalue 0\\\\ngrad 0"' in text
    (True, True)
    >>> slide = to_dot(sd.sin(x) * 2, legend=False, title=None, hide_constants=True,
    ...                rankdir="LR")
    >>> "Legend" in slide, 'label="2"' in slide, "rankdir=LR" in slide
    (False, False, True)
    """
    style = _style(legend, title, hide_constants, rankdir, dpi, "to_dot")
    info = analyze(f, at, names, max_nodes, "to_dot")
    return DotText(_dot_text(info, **style))


def _style(legend: bool, title: Any, hide_constants: bool, rankdir: str,
           dpi: Optional[float], who: str) -> dict:
    """The picture options, checked: a bad one is a ``RenderError`` naming it."""
    if rankdir not in RANKDIRS:
        raise RenderError(f"{who}: rankdir must be one of {', '.join(RANKDIRS)} (BT: inputs "
                          f"at the bottom, LR: left to right), not {rankdir!r}")
    if dpi is not None:
        try:
            ok = isinstance(dpi, (int, float)) and not isinstance(dpi, bool) and 0 < dpi <= 2400
        except TypeError:
            ok = False
        if not ok:
            raise RenderError(f"{who}: dpi must be a number of dots per inch in (0, 2400], "
                              f"not {dpi!r}")
    if title is not DEFAULT_TITLE and title is not None and not isinstance(title, str):
        raise RenderError(f"{who}: title must be text or None, not {type(title).__name__}")
    return {"legend": bool(legend), "title": title, "hide_constants": bool(hide_constants),
            "rankdir": rankdir, "dpi": dpi}




def _dot_text(info: GraphInfo, *, ids: bool = False, legend: bool = True,
              title: Any = DEFAULT_TITLE, rankdir: str = "BT", hide_constants: bool = False,
              dpi: Optional[float] = None, tooltips: bool = False) -> str:
    """The DOT text of an analysed graph. ``ids`` gives the SVG elements stable ids (node
    ``n<k>`` for ``info.nodes[k]``, edge ``e<k>`` for ``info.edges[k]``) and ``tooltips``
    each node a hover text with its values entry by entry (the stepping page); the rest are
    ``render``'s options."""
    out_name = info.names[id(info.f)]
    if title is DEFAULT_TITLE:
        title = f"symdiff: values, grads (∂{out_name}/∂node) and local partials on the edges"
        if info.values is None:
            title = "symdiff: local partials on the edges (pass at={...} for values and grads)"
        elif info.grads is None:
            title = "symdiff: values (f does not depend on anything that requires grad)"
        if info.seed_note:
            title += "\n" + info.seed_note
    graph = f"rankdir={rankdir}, fontname=Helvetica"
    if title:
        graph += f", labelloc=t, label={_q(str(title))}"
    if dpi is not None:
        graph += f", dpi={float(dpi):g}"
    out = ["digraph symdiff {",
           f"  graph [{graph}];",
           "  node [fontname=Helvetica, fontsize=11];",
           "  edge [fontname=Helvetica, fontsize=10];"]
    ids_of = {id(n): f"n{k}" for k, n in enumerate(info.nodes)}
    for n in info.nodes:
        if hide_constants and n.op == "const":
            continue
        a: dict = {"label": _q(_node_label(n, info))}
        if ids:
            a["id"] = _q(ids_of[id(n)])
        if n.is_leaf:
            a["shape"] = "box"
            a["style"] = '"filled,rounded"'
            a["fillcolor"] = "lightblue" if id(n) in info.varies else "lightgray"
        else:
            a["shape"] = "ellipse"
        if n is info.f:
            a["style"] = '"filled,rounded"' if n.is_leaf else "filled"
            a["fillcolor"] = "darkolivegreen1"
        if n._retain:
            a["peripheries"] = "2"
        if tooltips:
            a["tooltip"] = _q(_tooltip(n, info))
        out.append(f"  {ids_of[id(n)]} [{_attrs(a)}];")
    for k, e in enumerate(info.edges):
        if hide_constants and e.parent.op == "const":
            continue
        a = {"id": _q(f"e{k}")} if ids else {}
        if not e.flows:
            a.update({"style": "dashed", "color": "gray60"})
        a["label"] = _q(_edge_label(e, info))
        out.append(f"  {ids_of[id(e.parent)]} -> {ids_of[id(e.child)]} [{_attrs(a)}];")
    if legend:
        out += _legend()
    out.append("}")
    return "\n".join(out) + "\n"


def _tooltip(n: Node, info: GraphInfo) -> str:
    """Hover text: the node's name and expression, shape, and its value entry by entry."""
    lines = [info.names[id(n)] if n.is_leaf else
             f"{info.names[id(n)]} = {expression(n, info.names)}"]
    if n.shape:
        lines.append(f"shape {n.shape}")
    value = n._value if n.op == "const" else (info.values or {}).get(id(n))
    if value is not None:
        lines.append("value " + np.array2string(np.asarray(value), precision=6,
                                                threshold=400, max_line_width=100))
    return "\n".join(lines)


def _legend() -> list:
    box = 'shape=box, style="filled,rounded"'
    return [
        "  subgraph cluster_legend {",
        '    label="Legend"; fontname=Helvetica; style=dashed; color=gray60;',
        "    node [fontname=Helvetica, fontsize=9];",
        f'    legend_leaf [label="leaf that requires grad", {box}, fillcolor=lightblue];',
        f'    legend_const [label="constant / no grad", {box}, fillcolor=lightgray];',
        '    legend_out [label="output f (grad = seed 1)", style=filled, '
        'fillcolor=darkolivegreen1];',
        '    legend_retain [label="retain_grad() called", peripheries=2];',
        '    legend_op [label="name = op(inputs)\\nvalue: forward value\\n'
        'grad: ∂f/∂node (total)"];',
        '    legend_in [label="input", shape=plaintext];',
        '    legend_in -> legend_op [label="∂out/∂in = local partial\\n= its value at the point\\n'
        '(dashed: no gradient flows)"];',
        "  }",
    ]


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------

def render(f: Node, path: str | os.PathLike, at: Optional[Mapping[str, Any]] = None,
           names: Optional[Mapping[str, Node]] = None, max_nodes: int = 200,
           seconds: Optional[float] = None, *, dpi: Optional[float] = None,
           legend: bool = True, title: Any = DEFAULT_TITLE, hide_constants: bool = False,
           rankdir: str = "BT") -> pathlib.Path:
    """Write the picture of ``to_dot(f, ...)`` to ``path``; the suffix picks the format.

    ``.svg``, ``.png`` and ``.pdf`` run Graphviz's ``dot`` (the system Graphviz), which
    gets ``seconds`` to lay the picture out (None: ``DOT_SECONDS``, 10 s; past it,
    ``RenderError``); ``.dot`` (or ``.gv``) writes the DOT text and needs no Graphviz.
    ``dpi``, ``legend``, ``title``, ``hide_constants`` and ``rankdir`` are ``to_dot``'s
    options for slides (``dpi=200`` for a sharp PNG).

    >>> import tempfile, pathlib, symdiff as sd
    >>> a, b = sd.var("a"), sd.var("b")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = render((a + b) * (b + 1), pathlib.Path(tmp) / "olah.dot", at={"a": 3, "b": 1})
    ...     (p.name, p.read_text(encoding="utf-8").startswith("digraph"))
    ('olah.dot', True)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise RenderError(f"render: path must be a file name (str or pathlib.Path), not "
                          f"{type(path).__name__}")
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise RenderError(f"render: cannot tell the format from {str(path)!r}: use a file name "
                          f"ending in {', '.join(FORMATS)}")
    _style(legend, title, hide_constants, rankdir, dpi, "render")   # errors name render
    text = to_dot(f, at, names, max_nodes, legend=legend, title=title,
                  hide_constants=hide_constants, rankdir=rankdir, dpi=dpi)
    fmt_name = FORMATS[suffix]
    data = text.encode("utf-8") if fmt_name is None else pipe(text, fmt_name, path.name,
                                                               seconds)
    try:
        path.write_bytes(data)
    except (OSError, ValueError) as e:   # no such folder, a name too long, a null byte
        raise RenderError(f"render: cannot write {str(path)[:200]!r} "
                          f"({type(e).__name__}: {str(e)[:200]})") from None
    return path


def pipe(text: str, fmt_name: str, what: str = "the graph",
         seconds: Optional[float] = None) -> bytes:
    """DOT text rendered by Graphviz's ``dot`` into ``fmt_name`` ("svg", "png", "pdf"),
    within ``seconds`` (None: ``DOT_SECONDS``); ``GraphvizNotFoundError`` says how to
    install Graphviz when it is missing, ``RenderError`` when ``dot`` fails or runs out of
    time. With Graphviz installed (the tests render for real in
    ``tests/teaching/test_dot.py``)::

        svg = pipe("digraph { a -> b }", "svg").decode()
    """
    # nan or inf reached subprocess's timeout arithmetic (ValueError, OverflowError)
    limit = DOT_SECONDS if seconds is None else as_real(seconds, "render", "seconds", 0.0,
                                                        strict=True)
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizNotFoundError(f"render: Graphviz's dot program is not on PATH; "
                                    f"{INSTALL_HINT}. Writing a .dot file needs no Graphviz.")
    try:
        # dot itself, not the graphviz package's pipe: that has no timeout, and dot's
        # layout time has no bound (a 61-node chain of products ran for minutes)
        done = subprocess.run([exe, f"-T{fmt_name}"], input=text.encode("utf-8"),
                              capture_output=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"render: Graphviz's dot did not finish laying out {what} within {limit:g} s (its "
            "layout time grows very fast with crossing edges); write a .dot file instead, "
            "draw a smaller part of the graph, or give dot longer with sd.render(..., "
            "seconds=)") from None
    except OSError as e:
        raise GraphvizNotFoundError(f"render: Graphviz's dot program could not be run "
                                    f"({type(e).__name__}); {INSTALL_HINT}") from None
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"render: Graphviz's dot failed on {what}: {err}")
    return done.stdout
