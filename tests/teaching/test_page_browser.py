"""The stepping page in a real browser: Debian's chromium driven by Playwright.

The page is written by the command line, opened from disk (file://) and stepped with the
arrow keys, the Next / Back buttons, Play, clicks on inputs and the ``#step=N`` fragment;
the tests read the ``#step`` text, the SVG element with the class ``current``, the running
grads on the nodes and the path sums of Olah's example e = (a + b)(b + 1) at a = 3, b = 1,
and check that the page asks the network for nothing.

Needs the ``browser`` test extra (``pip install -e .[browser]``: playwright) and
``/usr/bin/chromium`` (``apt-get install chromium``; never ``playwright install``); .ci/run
installs both. The docs' screenshot (docs/img/backprop-step.png) is remade with
``SYMDIFF_UPDATE_SCREENSHOT=1 pytest tests/teaching/test_page_browser.py -k screenshot``.
"""
import contextlib
import io
import json
import os
import pathlib
import shutil
import struct

import pytest

import symdiff as sd
from symdiff.cli import main

CHROMIUM = "/usr/bin/chromium"
ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOT = ROOT / "docs" / "img" / "backprop-step.png"
SHOT_INFO = ROOT / "docs" / "img" / "backprop-step.json"

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test extra is absent")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed"),
]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture(scope="module")
def olah(tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "backprop.html"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["explain", "(a+b)*(b+1)", "--at", "a=3,b=1", "--html", str(path)])
    assert code == 0 and out.getvalue().strip() == f"wrote {path}"
    return path


class Page:
    """A browser tab on a saved page, recording requests and script errors."""

    def __init__(self, browser, path, fragment=""):
        self.tab = browser.new_page(viewport={"width": 1100, "height": 720})
        self.url = path.as_uri()
        self.requests, self.errors = [], []
        self.tab.on("request", lambda r: self.requests.append(r.url))
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))
        self.tab.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.tab.goto(self.url + fragment)

    def step(self):
        return self.tab.inner_text("#step")

    def counter(self):
        return self.tab.inner_text("#counter")

    def current(self):
        """ids of the SVG elements with the class ``current``."""
        return self.tab.eval_on_selector_all("#graph svg .current", "els => els.map(e => e.id)")

    def lit(self):
        return self.tab.eval_on_selector_all("#graph svg .lit", "els => els.map(e => e.id)")

    def node_text(self, node_id):
        """The node's visible label lines."""
        return self.tab.eval_on_selector_all(
            f"#{node_id} text",
            "els => els.filter(e => !e.classList.contains('sd-hidden')).map(e => e.textContent)")

    def press(self, key, times=1):
        for _ in range(times):
            self.tab.keyboard.press(key)

    def close(self):
        self.tab.close()


@pytest.fixture
def page(browser, olah):
    p = Page(browser, olah)
    yield p
    assert p.errors == []
    # the file itself, nothing else: no network, no other file
    assert {u.split("#")[0] for u in p.requests} == {p.url}, p.requests
    p.close()


def _ids(name_to_node):
    """SVG ids by node name, from the same analysis the page was made from."""
    from symdiff.teaching.analysis import analyze
    a, b = sd.var("a"), sd.var("b")
    info = analyze((a + b) * (b + 1), at={"a": 3, "b": 1})
    nodes = {info.names[id(n)]: f"n{k}" for k, n in enumerate(info.nodes)}
    edges = {(info.names[id(e.parent)], info.names[id(e.child)]): f"e{k}"
             for k, e in enumerate(info.edges)}
    return nodes, edges


NODES, EDGES = _ids(None)


def test_forward_pass_node_by_node(page):
    assert page.counter() == "Step 1 / 16"
    assert page.step() == "a = 3"
    assert page.current() == [NODES["a"]]
    assert "value 3" in page.node_text(NODES["a"])
    assert page.node_text(NODES["c"]) == ["c = a + b"]     # value not yet computed
    page.press("ArrowRight", 2)
    assert page.step() == "c = a + b = 4" and page.current() == [NODES["c"]]
    assert page.node_text(NODES["c"]) == ["c = a + b", "value 4"]   # no grad yet
    page.press("ArrowRight", 2)
    assert page.step() == "e = c * d = 8" and page.counter() == "Step 5 / 16"


def test_backward_sweep_edge_by_edge_with_running_totals(page):
    page.press("ArrowRight", 5)
    assert page.step() == "e.grad = 1" and page.current() == [NODES["e"]]
    assert "grad 1" in page.node_text(NODES["e"])
    assert page.node_text(EDGES["c", "e"]) == []            # the partial is not shown yet
    page.tab.click("#next")
    assert page.step() == "c.grad += e.grad * ∂e/∂c = 1 * 2 = 2"
    assert page.current() == [EDGES["c", "e"]]             # the edge lights
    assert page.lit() == [NODES["c"]]
    assert page.node_text(EDGES["c", "e"]) == ["∂e/∂c = d", "= 2"]
    assert "grad 2" in page.node_text(NODES["c"])
    assert "the gradient flows from e to c" in page.tab.inner_text("#detail")
    page.tab.click("#next")
    assert page.step() == "d.grad += e.grad * ∂e/∂d = 1 * 4 = 4"
    assert "grad 4" in page.node_text(NODES["d"])
    page.press("ArrowRight", 2)
    assert page.step() == "b.grad += c.grad * ∂c/∂b = 2 * 1 = 2"
    assert page.current() == [EDGES["b", "c"]]
    assert "grad 2" in page.node_text(NODES["b"])
    page.press("ArrowRight")
    assert page.step() == "b.grad += d.grad * ∂d/∂b = 4 * 1 = 6   (2 + 4)"
    assert page.current() == [EDGES["b", "d"]]
    assert "grad 6" in page.node_text(NODES["b"])
    page.tab.click("#back")                                 # Back undoes the last +=
    assert page.counter() == "Step 10 / 16"
    assert "grad 2" in page.node_text(NODES["b"]) and page.current() == [EDGES["b", "c"]]
    page.press("ArrowLeft", 5)
    assert page.step() == "e = c * d = 8"
    assert not any(t.startswith("grad") for t in page.node_text(NODES["c"]))


def test_path_sums_and_clicking_an_input(page):
    page.press("End")
    assert page.counter() == "Step 16 / 16"
    assert page.step().splitlines()[0] == "∂e/∂b = ∂e/∂c·∂c/∂b + ∂e/∂d·∂d/∂b = 2·1 + 4·1 = 6"
    assert sorted(page.lit()) == sorted([EDGES["c", "e"], EDGES["b", "c"], EDGES["d", "e"],
                                         EDGES["b", "d"]])
    assert page.tab.is_disabled("#next")
    page.tab.click(f"#{NODES['a']}")                        # the input a: its path and sum
    assert page.step().startswith("∂e/∂a = ∂e/∂c·∂c/∂a = 2·1 = 2")
    assert page.current() == [NODES["a"]]
    assert sorted(page.lit()) == sorted([EDGES["c", "e"], EDGES["a", "c"]])
    page.press("ArrowRight")
    assert page.step() == "path 1 of 2 from b: b → c → e: ∂e/∂c·∂c/∂b = 2·1 = 2"
    page.press("ArrowRight")
    assert page.step() == "path 2 of 2 from b: b → d → e: ∂e/∂d·∂d/∂b = 4·1 = 4"
    assert sorted(page.current()) == sorted([EDGES["d", "e"], EDGES["b", "d"]])


def test_the_fragment_links_a_step_and_follows_it(browser, olah):
    p = Page(browser, olah, "#step=7")
    try:
        assert p.counter() == "Step 7 / 16"
        assert p.step() == "c.grad += e.grad * ∂e/∂c = 1 * 2 = 2"
        p.press("ArrowRight")
        assert p.tab.url.endswith("#step=8")
        p.tab.evaluate("location.hash = '#step=11'")
        p.tab.wait_for_function("document.getElementById('counter').textContent"
                                " === 'Step 11 / 16'")
        assert "(2 + 4)" in p.step()
        assert p.errors == [] and {u.split("#")[0] for u in p.requests} == {olah.as_uri()}
    finally:
        p.close()


def test_play_advances_every_second_and_stops(page):
    page.tab.click("#play")
    assert page.tab.inner_text("#play") == "Pause"
    page.tab.wait_for_function("document.getElementById('counter').textContent"
                               " === 'Step 2 / 16'", timeout=3000)
    page.tab.click("#play")
    assert page.tab.inner_text("#play") == "Play"
    page.tab.wait_for_timeout(1300)
    assert page.counter() == "Step 2 / 16"


def test_the_page_asks_the_network_for_nothing(browser, olah):
    p = Page(browser, olah)
    try:
        html = olah.read_text(encoding="utf-8")
        for banned in ("http://", "https://", "<link", "src="):
            # the only URLs are the SVG's XML namespaces
            assert banned not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") \
                .replace('xmlns:xlink="http://www.w3.org/1999/xlink"', ""), banned
        p.press("End")
        p.press("Home")
        assert p.requests == [olah.as_uri()]
    finally:
        p.close()


def test_an_array_graph_steps_and_shows_entries_on_hover(browser, tmp_path):
    W, v = sd.var("W", (2, 3)), sd.var("v", (3,))
    f = sd.sum(sd.tanh(W @ v))
    path = sd.explain(f, at={"W": [[1, 2, 3], [4, 5, 6]], "v": [1, 0, 2]}).save(
        tmp_path / "array.html")
    p = Page(browser, path)
    try:
        n = int(p.counter().split("/")[1])
        p.press("End")
        assert p.counter() == f"Step {n} / {n}"
        assert p.step().startswith("v.grad += ∂a/∂v applied to a.grad")
        titles = p.tab.eval_on_selector_all("#graph svg a", "els => els.map(e => "
                                            "e.getAttribute('xlink:title') || e.getAttribute("
                                            "'title'))")
        assert any("value [[1. 2. 3.]\n [4. 5. 6.]]" in t for t in titles), titles
        assert "shape (2, 3)" in " ".join(p.node_text("n0"))
        assert p.errors == []
    finally:
        p.close()


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_the_docs_screenshot_is_of_the_page_as_it_is(browser, olah):
    """The screenshot in the docs records what it shows (docs/img/backprop-step.json); the
    page made now must have the same steps and the same text at that step."""
    p = Page(browser, olah)
    try:
        if os.environ.get("SYMDIFF_UPDATE_SCREENSHOT"):
            p.tab.goto(olah.as_uri() + "#step=11")
            p.tab.screenshot(path=str(SHOT), full_page=True)
            SHOT_INFO.write_text(json.dumps({
                "command": 'symdiff explain "(a+b)*(b+1)" --at a=3,b=1 --html backprop.html',
                "fragment": "#step=11", "counter": p.counter(), "step": p.step(),
                "current": p.current(), "size": list(_png_size(SHOT))}, ensure_ascii=False,
                indent=1) + "\n", encoding="utf-8")
        info = json.loads(SHOT_INFO.read_text(encoding="utf-8"))
        p.tab.goto(olah.as_uri() + info["fragment"])
        assert p.tab.evaluate("document.getElementById('counter').textContent") \
            == info["counter"]
        assert p.step() == info["step"] and p.current() == info["current"]
        assert list(_png_size(SHOT)) == info["size"] and info["size"][0] >= 800
    finally:
        p.close()
