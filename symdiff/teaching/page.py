"""The stepping page: one self-contained HTML file that steps through backpropagation.

``write_page(info, path)`` (``sd.explain(f, at=...).save(path)``, ``symdiff explain ...
--html FILE``) draws the analysed graph with Graphviz's ``dot`` as inline SVG and adds a
list of steps made from the same entries as the text explanation
(``symdiff.teaching.steps``): the forward pass node by node (the node's value appears),
the backward sweep edge by edge (the edge lights, its local partial appears, the target's
``.grad +=`` line shows the running total on the node), then, for small scalar graphs,
Olah's sums over paths (each path with its product, then the sum; clicking an input jumps
there). Next / Back buttons, the arrow keys, a step counter, Play (a step a second) and
the URL fragment ``#step=7`` move between steps. The current step's text is in the element
with id ``step``; the SVG node or edge it is about carries the class ``current`` (edges of
the paths being summed: ``lit``). Script and style are inline; the page loads nothing.

``build_steps(info)`` is the step list as data (what the page's script replays).

May import the standard library, ``symdiff.symbolic.display`` (the title's formula, under
its display budget), ``symdiff.teaching.analysis``, ``labels``, ``steps`` and ``dot``.

>>> import symdiff as sd
>>> from symdiff.teaching.analysis import analyze
>>> a, b = sd.var("a"), sd.var("b")
>>> steps = build_steps(analyze((a + b) * (b + 1), at={"a": 3, "b": 1}))
>>> [(s["phase"], s["text"]) for s in steps][4:7]
[('forward', 'e = c * d = 8'), ('backward', 'e.grad = 1'), ('backward', 'c.grad += e.grad * ∂e/∂c = 1 * 2 = 2')]
"""
from __future__ import annotations

import html
import json
import os
import pathlib
from typing import Any, Optional

from symdiff.symbolic.display import short_text
from symdiff.teaching.analysis import GraphInfo
from symdiff.teaching.dot import (INSTALL_HINT, GraphvizNotFoundError, RenderError, _dot_text,
                                  pipe)
from symdiff.teaching.labels import fmt
from symdiff.teaching.steps import (backward_lines, forward_lines, partial_text, path_lines,
                                    path_product)

__all__ = ["write_page", "build_steps", "page_html"]


def build_steps(info: GraphInfo) -> list:
    """The page's steps, in order: dicts with ``phase`` (forward, backward, paths),
    ``text`` (the line of the text explanation), ``detail``, ``current`` and ``lit`` (SVG
    ids to highlight) and what the step reveals: ``value`` (a node id), ``grad`` ([node
    id, text]) and ``partial`` (an edge id)."""
    nid = {id(n): f"n{k}" for k, n in enumerate(info.nodes)}
    eid = {id(e): f"e{k}" for k, e in enumerate(info.edges)}
    out_name = info.names[id(info.f)]
    steps: list = []

    def step(phase: str, text: str, detail: str = "", current: tuple = (), lit: tuple = (),
             **reveal: Any) -> None:
        steps.append({"phase": phase, "text": text, "detail": detail,
                      "current": list(current), "lit": list(lit), **reveal})

    for n, line in forward_lines(info):
        detail = "forward pass: " + ("an input" if n.is_leaf else
                                     "the op is evaluated on its inputs' values")
        step("forward", line, detail, [nid[id(n)]], value=nid[id(n)])
    for e, line, total in backward_lines(info):
        if e is None:
            detail = f"backward sweep: the seed, ∂{out_name}/∂{out_name} = 1"
            grad = [nid[id(info.f)], f"grad {fmt(total)}"] if total is not None else None
            step("backward", line, detail, [nid[id(info.f)]], grad=grad)
            continue
        child, parent = info.names[id(e.child)], info.names[id(e.parent)]
        detail = (f"the gradient flows from {child} to {parent} along the edge; "
                  f"local partial {partial_text(e, info)}")
        grad = [nid[id(e.parent)], f"grad {fmt(total)}"] if total is not None else None
        step("backward", line, detail, [eid[id(e)]], [nid[id(e.parent)]], grad=grad,
             partial=eid[id(e)])
    numbers = info.grads is not None
    for x, paths, lines in path_lines(info):
        name = info.names[id(x)]
        for k, p in enumerate(paths):
            via = " → ".join([name] + [info.names[id(e.child)] for e in reversed(p)])
            partials = "·".join(e.partial(info.names) for e in p)
            text = f"path {k + 1} of {len(paths)} from {name}: {via}: {partials}"
            if numbers:
                text += " = " + "·".join(fmt(e.value) for e in p) + f" = {fmt(path_product(p))}"
            step("paths", text, f"Olah: the product of the partials along one path from "
                 f"{name} to {out_name}", [eid[id(e)] for e in p], [nid[id(x)]], input=nid[id(x)])
        step("paths", "\n".join(lines), f"Olah: ∂{out_name}/∂{name} is the sum over all "
             f"paths of their products", [nid[id(x)]], [eid[id(e)] for p in paths for e in p],
             input=nid[id(x)], sum=True)
    return steps


def write_page(info: GraphInfo, path: str | os.PathLike,
               seconds: Optional[float] = None) -> pathlib.Path:
    """Write the stepping page of ``info`` to ``path`` (``.html`` or ``.htm``); Graphviz's
    ``dot`` lays the graph out within ``seconds`` (None: ``DOT_SECONDS``)."""
    if not isinstance(path, (str, os.PathLike)):
        raise RenderError(f"save: path must be a file name (str or pathlib.Path), not "
                          f"{type(path).__name__}")
    path = pathlib.Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise RenderError(f"save: the stepping page is an HTML file: give a name ending in "
                          f".html, not {str(path)!r}")
    text = page_html(info, seconds)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise RenderError(f"save: cannot write {str(path)!r} ({type(e).__name__}: "
                          f"{e.strerror or e})") from None
    return path


def page_html(info: GraphInfo, seconds: Optional[float] = None) -> str:
    """The page's HTML text (see the module docstring)."""
    try:
        svg = pipe(_dot_text(info, ids=True, legend=False, tooltips=True), "svg",
                   "the stepping page's graph", seconds).decode("utf-8")
    except GraphvizNotFoundError:
        raise GraphvizNotFoundError(
            f"save: the stepping page draws the graph with Graphviz's dot program, which is "
            f"not installed here; {INSTALL_HINT}. The text (str of the explanation) needs "
            f"no Graphviz.") from None
    svg = svg[svg.find("<svg"):]
    steps = build_steps(info)
    out = info.names[id(info.f)]
    title = "Backpropagation, step by step"
    if info.scalar():   # a matrix closed form reads badly in a title; arrays by the graph
        title += f": {out} = {short_text(info.f, limit=40)}"
    if info.values is not None and info.scalar():
        point = ", ".join(f"{info.names[id(x)]} = {fmt(info.values[id(x)])}"
                          for x in info.inputs)
        title += f" at {point}" if point else ""
    data = json.dumps({"steps": steps, "output": out}, ensure_ascii=False)
    data = data.replace("</", "<\\/")   # never closes the script element
    items = "\n".join(
        f'<li data-step="{k + 1}" class="{s["phase"]}">{html.escape(s["text"].splitlines()[0])}'
        f"</li>" for k, s in enumerate(steps))
    return _TEMPLATE.format(title=html.escape(title), svg=svg, data=data, items=items,
                            count=len(steps), css=_CSS, js=_JS)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<h1>{title}</h1>
<div id="controls">
<button id="back" type="button" title="previous step (←)">◀ Back</button>
<button id="next" type="button" title="next step (→)">Next ▶</button>
<button id="play" type="button" title="a step every second">Play</button>
<span id="counter">Step 1 / {count}</span>
<span id="phase"></span>
</div>
<pre id="step"></pre>
<p id="detail"></p>
<div id="main">
<div id="graph">{svg}</div>
<ol id="steps">
{items}
</ol>
</div>
<p class="hint">→ / ← step, Home / End jump, click a step or (on the paths) an input.
Link to a step with #step=N. Made by symdiff.</p>
<script id="symdiff-steps" type="application/json">{data}</script>
<script>{js}</script>
</body>
</html>
"""

_CSS = """
body { font-family: system-ui, Helvetica, Arial, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .5em 0; }
#controls button { font-size: 1em; padding: .3em .9em; margin-right: .3em; }
#counter { margin-left: 1em; font-weight: bold; }
#phase { margin-left: 1em; color: #555; text-transform: uppercase; font-size: .85em; }
#step { font-size: 1.15em; background: #fff8e1; border-left: 4px solid #d62728;
        padding: .5em .8em; white-space: pre-wrap; min-height: 1.4em; }
#detail { color: #555; margin: .2em 0 .8em 0; min-height: 1.2em; }
#main { display: flex; gap: 2em; align-items: flex-start; }
#graph svg { max-width: 100%; height: auto; }
#steps { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85em;
         max-height: 80vh; overflow-y: auto; min-width: 22em; }
#steps li { cursor: pointer; padding: .1em .3em; color: #777; }
#steps li.done { color: #222; }
#steps li.current { background: #fde0dc; color: #000; }
.hint { color: #777; font-size: .85em; }
.sd-hidden { visibility: hidden; }
g.node.current ellipse, g.node.current polygon, g.node.current path {
  stroke: #d62728; stroke-width: 3px; }
g.edge.current path { stroke: #d62728; stroke-width: 3px; }
g.edge.current polygon { stroke: #d62728; fill: #d62728; }
g.edge.current text { fill: #d62728; font-weight: bold; }
g.node.lit ellipse, g.node.lit polygon, g.node.lit path { stroke: #ff7f0e; stroke-width: 3px; }
g.edge.lit path { stroke: #ff7f0e; stroke-width: 3px; }
g.edge.lit polygon { stroke: #ff7f0e; fill: #ff7f0e; }
g.node.input { cursor: pointer; }
"""

# The state at step k is replayed from step 1 (values shown, running grads, partials
# shown), so Back and jumps need no undo logic.
_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("symdiff-steps").textContent);
  var steps = data.steps, n = steps.length, at = 0, timer = null;
  var svg = document.querySelector("#graph svg");
  var items = document.querySelectorAll("#steps li");
  var nodes = {}, edges = {};
  svg.querySelectorAll("g.node").forEach(function (g) {
    var t = g.querySelectorAll("text"), v = null, gr = null;
    t.forEach(function (x) {
      if (x.textContent.indexOf("value ") === 0) v = x;
      if (x.textContent.indexOf("grad ") === 0) gr = x;
    });
    nodes[g.id] = {g: g, value: v, grad: gr};
  });
  svg.querySelectorAll("g.edge").forEach(function (g) {
    edges[g.id] = {g: g, labels: g.querySelectorAll("text")};
  });
  var hidePartial = {};
  steps.forEach(function (s) { if (s.partial) hidePartial[s.partial] = true; });
  var firstPath = {};
  steps.forEach(function (s, k) { if (s.input && s.sum) firstPath[s.input] = k; });
  Object.keys(firstPath).forEach(function (id) {
    var g = nodes[id] && nodes[id].g;
    if (!g) return;
    g.classList.add("input");
    g.addEventListener("click", function () { stop(); go(firstPath[id]); });
  });
  function el(id) { return nodes[id] ? nodes[id].g : (edges[id] ? edges[id].g : null); }
  function show(k) {
    var shown = {}, grads = {}, partials = {};
    for (var i = 0; i <= k; i++) {
      var s = steps[i];
      if (s.value) shown[s.value] = true;
      if (s.grad) grads[s.grad[0]] = s.grad[1];
      if (s.partial) partials[s.partial] = true;
    }
    Object.keys(nodes).forEach(function (id) {
      var x = nodes[id];
      if (x.value) x.value.classList.toggle("sd-hidden", !shown[id]);
      if (x.grad) {
        x.grad.classList.toggle("sd-hidden", !(id in grads));
        if (id in grads) x.grad.textContent = grads[id];
      }
      x.g.classList.remove("current", "lit");
    });
    Object.keys(edges).forEach(function (id) {
      var x = edges[id];
      x.g.classList.remove("current", "lit");
      x.labels.forEach(function (t) {
        t.classList.toggle("sd-hidden", !!hidePartial[id] && !partials[id]);
      });
    });
    var s = steps[k];
    s.current.forEach(function (id) { var g = el(id); if (g) g.classList.add("current"); });
    s.lit.forEach(function (id) { var g = el(id); if (g) g.classList.add("lit"); });
    document.getElementById("step").textContent = s.text;
    document.getElementById("detail").textContent = s.detail;
    document.getElementById("counter").textContent = "Step " + (k + 1) + " / " + n;
    document.getElementById("phase").textContent = s.phase;
    items.forEach(function (li, i) {
      li.classList.toggle("current", i === k);
      li.classList.toggle("done", i < k);
    });
    document.getElementById("back").disabled = k === 0;
    document.getElementById("next").disabled = k === n - 1;
    if (items[k] && items[k].scrollIntoView) items[k].scrollIntoView({block: "nearest"});
  }
  function go(k) {
    at = Math.max(0, Math.min(n - 1, k));
    show(at);
    try { history.replaceState(null, "", "#step=" + (at + 1)); } catch (e) {}
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    document.getElementById("play").textContent = "Play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (at === n - 1) go(0);
    document.getElementById("play").textContent = "Pause";
    timer = setInterval(function () {
      if (at >= n - 1) { stop(); return; }
      go(at + 1);
    }, 1000);
  }
  function fromHash() {
    var m = /step=(\d+)/.exec(location.hash);
    return m ? parseInt(m[1], 10) - 1 : 0;
  }
  document.getElementById("next").addEventListener("click", function () { stop(); go(at + 1); });
  document.getElementById("back").addEventListener("click", function () { stop(); go(at - 1); });
  document.getElementById("play").addEventListener("click", play);
  items.forEach(function (li, i) {
    li.addEventListener("click", function () { stop(); go(i); });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") { stop(); go(at + 1); }
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") { stop(); go(at - 1); }
    else if (ev.key === "Home") { stop(); go(0); }
    else if (ev.key === "End") { stop(); go(n - 1); }
    else return;
    ev.preventDefault();
  });
  window.addEventListener("hashchange", function () {
    if (fromHash() !== at) { stop(); go(fromHash()); }
  });
  window.symdiffPage = {go: go, steps: steps, at: function () { return at; }};
  go(fromHash());
})();
"""
