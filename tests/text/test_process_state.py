"""Reading a formula changes nothing that the whole process shares.

The reader used to raise ``sys.setrecursionlimit`` by 20,000 around ``ast.parse`` (for
long chains such as x+x+...+x) and to swap the process's warning filters around it. The
recursion limit is one setting for every thread: a thread that recursed deep while it was
raised, and was still that deep when it was lowered again, aborted the whole process
("Fatal Python error: Cannot recover from stack overflow"). Long texts are now read in
pieces (``symdiff.text.pieces``) and the warnings Python's parser would print are refused
before it runs (``symdiff.text.tokens.warning_spot``).
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import threading
import warnings

import pytest

import symdiff as sd
from symdiff.errors import ParseError
from symdiff.graph.claims import parse_claim
from symdiff.text import MAX_LENGTH, parse_with
from symdiff.text.sympy_builder import parse_sympy

from counting import Counter

ROOT = pathlib.Path(__file__).resolve().parents[2]

THREADS_SCRIPT = r"""
import sys, threading, time
import symdiff as sd

text = "+".join(["x"] * 5000)        # deeper than ast.parse builds at the normal limit
stop = time.monotonic() + float(sys.argv[1])
counts = {"parses": 0, "recursions": 0}


class Held:
    # a `with` block per level, as in any recursive visitor that holds a lock: the
    # overflow then happens while an exception is being handled, where CPython aborts
    # if the thread is far past the (lowered) limit
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def deep(n):
    with Held():
        return 0 if n == 0 else 1 + deep(n - 1)


def recurse():
    while time.monotonic() < stop:
        try:
            deep(5000)
        except RecursionError:
            pass
        counts["recursions"] += 1


def read():
    while time.monotonic() < stop:
        assert sd.parse(text).op == "add"
        counts["parses"] += 1


threads = [threading.Thread(target=recurse), threading.Thread(target=read)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("ok", counts["parses"], counts["recursions"])
"""


def test_reading_a_long_formula_beside_deep_recursion_does_not_abort_the_process():
    # Before: the process aborted within about a second, in 20 runs out of 20 (3 s runs).
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", THREADS_SCRIPT, "3"], capture_output=True,
                          text=True, timeout=120, cwd=str(ROOT), env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Fatal Python error" not in proc.stderr
    word, parses, recursions = proc.stdout.split()
    assert word == "ok" and int(parses) >= 1 and int(recursions) >= 1


LONG_TEXTS = [
    "+".join(["x"] * (MAX_LENGTH // 2)),
    "f(" + "x.T" * 10000 + ", " + "-".join(["1"] * 10000) + ")",
]


def test_the_recursion_limit_and_warning_filters_are_untouched_while_parsing():
    limit, filters = sys.getrecursionlimit(), warnings.filters
    seen: set = set()
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.add((sys.getrecursionlimit(), id(warnings.filters)))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for text in LONG_TEXTS + ["1if x else 2", "'\\d'"]:
            try:
                parse_with(text, Counter())
            except ParseError:
                pass
    finally:
        done.set()
        watcher.join()
    assert seen == {(limit, id(filters))}
    assert sys.getrecursionlimit() == limit and warnings.filters is filters


def test_no_library_code_changes_the_recursion_limit_or_the_warning_filters():
    pattern = re.compile(r"setrecursionlimit\(|warnings\.(simplefilter|filterwarnings|"
                         r"resetwarnings)\(|catch_warnings\(")
    found = [f"{path.relative_to(ROOT)}:{n}" for folder in ("symdiff", "numeric")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if pattern.search(line.split("#")[0])]
    assert found == []




@pytest.mark.parametrize("text, position, fragment", [
    ("1if x else 2", 1, "invalid decimal literal"),
    ("x + 0x1for", 8, "invalid hexadecimal literal"),
    ("x*1jin y", 4, "invalid imaginary literal"),
    ("x + '\\d'", 4, "strings are not allowed"),
    ("f'\\d{x}' + x", 0, "f-strings are not allowed"),
])
def test_texts_python_would_warn_about_are_refused_without_a_warning(text, position, fragment):
    # Python's parser prints a SyntaxWarning or DeprecationWarning on these (an error
    # with -W error); the reader used to silence it by swapping the process's filters
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for read in (lambda: parse_with(text, Counter()), lambda: sd.parse(text),
                     lambda: parse_claim(text, [sd.var("x", (2,))]),
                     lambda: parse_sympy(text, {}, {})):
            with pytest.raises(ParseError) as info:
                read()
            assert fragment in info.value.message and info.value.position == position
    assert [str(w.message) for w in caught] == []


def test_names_and_comments_like_those_texts_still_read():
    assert parse_with("fine(x) + einsum(x)  # 1if x else 2 '\\d'", Counter()) == 5
    assert parse_with("x1if + x", Counter()) == 3
