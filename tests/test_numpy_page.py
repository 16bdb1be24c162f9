"""docs/numpy.md and README.md's count of numpy names and rows are generated from the code
(``tests/numpy_page.py``): they must equal what it generates today, so a row or a numpy
function added without regenerating them fails here, with the command that fixes it."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy_page

HOW = f"out of date: regenerate with `{numpy_page.COMMAND}` and commit the result"


def _page_numpy_version(text: str) -> str:
    marker = "primitives (numpy "
    return text.split(marker, 1)[1].split(")", 1)[0] if marker in text else ""


@functools.lru_cache(maxsize=None)
def _fresh(what: str) -> str:
    """``numpy_page.<what>()`` in a fresh interpreter: what the code generates, whatever
    other tests in this process registered or patched meanwhile (under xdist a worker's
    earlier tests made the count one higher)."""
    here = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(here.parent), str(here), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", f"import numpy_page, sys; "
                           f"sys.stdout.write(numpy_page.{what}())"],
                          capture_output=True, text=True, env=env, cwd=here, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_numpy_page_is_what_the_code_generates():
    committed = numpy_page.PAGE.read_text(encoding="utf-8")
    fresh = _fresh("render")
    if _page_numpy_version(committed) == numpy_page.numpy_version():
        assert committed == fresh, f"docs/numpy.md is {HOW}"
    else:
        # another numpy has other ufunc names (numpy 2 added aliases such as acos): the
        # numpy functions and the table of primitives must still be the code's
        section = "## numpy functions"
        assert committed.split(section, 1)[1].split("## numpy ufuncs")[0] == \
            fresh.split(section, 1)[1].split("## numpy ufuncs")[0], f"docs/numpy.md is {HOW}"
        table = "## The table of primitives"
        assert committed.split(table, 1)[1] == fresh.split(table, 1)[1], \
            f"docs/numpy.md is {HOW}"


def test_the_readme_counts_the_names_and_rows():
    readme = numpy_page.README.read_text(encoding="utf-8")
    assert "[docs/numpy.md](docs/numpy.md)" in readme
    found = numpy_page.README_SENTENCE.search(readme)
    assert found, "README.md lost the sentence counting numpy names and rows"
    if _page_numpy_version(numpy_page.PAGE.read_text(encoding="utf-8")) == \
            numpy_page.numpy_version():
        assert found.group(0) == _fresh("readme_sentence"), f"README.md is {HOW}"
    else:
        rows = numpy_page.counts()[3]
        assert f"the {rows} rows of the table" in found.group(0), f"README.md is {HOW}"


def test_every_row_and_supported_name_is_on_the_page():
    page = numpy_page.render()
    import symdiff as sd
    from numeric import PRIMITIVES
    for name in sd.supported_numpy():
        assert f"`{name}`" in page, name
    for row in PRIMITIVES:
        assert f"| `{row}` |" in page, row


def test_the_check_can_fail(tmp_path, monkeypatch):
    stale = tmp_path / "numpy.md"
    stale.write_text(numpy_page.render().replace("`numpy.sum`", "`numpy.summ`"),
                     encoding="utf-8")
    monkeypatch.setattr(numpy_page, "PAGE", stale)
    try:
        test_the_numpy_page_is_what_the_code_generates()
    except AssertionError as e:
        assert numpy_page.COMMAND in str(e)
    else:
        raise AssertionError("a stale page passed")
