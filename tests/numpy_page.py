"""Writes docs/numpy.md, the list of numpy functions that work on symdiff Nodes and of the
rows of the table of primitives, from the code itself (``symdiff.graph.numpy_api`` and
``numeric.PRIMITIVES``), and the sentence of README.md that counts them.

``tests/test_numpy_page.py`` fails when the committed page or sentence differs from what
this module generates, so neither can go stale. Regenerate both with

    python tests/numpy_page.py

A row or registration added later is described from what it already carries: a row's
``doc``, ``sympy``, ``display`` and ``domain.note``; a registration's ``note=`` (or the
first line of its implementation's docstring).

>>> page = render()
>>> page.startswith("# numpy on symdiff Nodes") and "| `numpy.sum` |" in page
True
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:        # run as a script from a checkout that is not installed
    sys.path.insert(0, str(ROOT))

import symdiff as sd  # noqa: E402
from numeric import PRIMITIVES  # noqa: E402
from symdiff.graph import dispatch, numpy_api  # noqa: E402

PAGE = ROOT / "docs" / "numpy.md"
README = ROOT / "README.md"
COMMAND = "python tests/numpy_page.py"
README_SENTENCE = re.compile(r"lists the \d+ numpy names that work on Nodes and the \d+ "
                             r"rows of the table of primitives")


def numpy_version() -> str:
    """numpy's major.minor: the set of ufuncs (numpy 2 added aliases) depends on it."""
    return ".".join(np.__version__.split(".")[:2])


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("``", "`").replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _first_line(doc: str) -> str:
    lines = [line.strip() for line in (doc or "").strip().splitlines()]
    return lines[0] if lines else ""


def _sd_function(name: str) -> str:
    short = name.rsplit(".", 1)[-1]
    return f"`sd.{short}`" if short in sd.__all__ and callable(getattr(sd, short)) else ""


def counts() -> tuple[int, int, int, int]:
    """(numpy names, of which ufuncs, of which functions, rows of the table)."""
    names = sd.supported_numpy()
    functions = {numpy_api.numpy_name(f) for f in numpy_api.FUNCTIONS}
    return len(names), len(set(names) - functions), len(functions), len(PRIMITIVES)


def readme_sentence() -> str:
    n, _, _, rows = counts()
    return (f"lists the {n} numpy names that work on Nodes and the {rows} rows of the "
            "table of primitives")


def _ufunc_rows() -> list[str]:
    lines = ["| numpy | on Nodes | closed form | domain |", "|---|---|---|---|"]
    for name in sorted(u for u in dir(np) if isinstance(getattr(np, u), np.ufunc)):
        ufunc = getattr(np, name)
        if not numpy_api.ufunc_supported(ufunc):
            continue
        real = ufunc.__name__
        row = numpy_api.ufunc_row(real)
        if real == "power":
            what, form, domain = "rows `pow` (a constant exponent) and `pow_tensor`", \
                "x**p, x**y", PRIMITIVES["pow_tensor"].domain.note
        elif row is not None:
            prim = PRIMITIVES[row]
            what = f"row `{row}`" + (f" ({prim.doc})" if prim.doc else "")
            form = prim.sympy if prim.kind == "elementwise" else prim.display
            domain = prim.domain.note
        else:
            what, form, domain = "a graph of rows", numpy_api.COMPOSITE_UFUNCS[real][1], ""
        alias = f" (= `numpy.{real}`)" if real != name else ""
        lines.append(f"| `numpy.{name}`{alias} | {_cell(what)} | {_code(_cell(form))} | "
                     f"{_cell(domain)} |")
    return lines


def _method_lines() -> list[str]:
    lines = []
    for method, table in (("reduce", dispatch.REDUCE_METHODS),
                          ("accumulate", dispatch.ACCUMULATE_METHODS)):
        for ufunc, fn in table.items():
            state = "supported" if fn in numpy_api.FUNCTIONS else "not supported yet"
            lines.append(f"- `numpy.{ufunc}.{method}(x, axis=0)` is "
                         f"`{numpy_api.numpy_name(fn)}(x, axis=0)`: {state}")
    lines.append("- `ufunc.outer(a, b)` of every two-input ufunc above broadcasts `a` against "
                 "`b` (`numpy.multiply.outer(u, v)` is the outer product)")
    lines.append("- `ufunc.at` and `ufunc.reduceat` are refused (`at` writes in place)")
    return lines


def _function_rows() -> list[str]:
    lines = ["| numpy | symdiff | on Nodes |", "|---|---|---|"]
    entries = sorted((numpy_api.numpy_name(fn), fn) for fn in numpy_api.FUNCTIONS)
    for name, fn in entries:
        impl = numpy_api.FUNCTIONS[fn]
        about = [t for t in (_first_line(impl.__doc__ or ""), numpy_api.NOTES.get(fn, "")) if t]
        lines.append(f"| `{name}` | {_sd_function(name)} | {_cell('; '.join(about))} |")
    return lines


def _table_rows() -> list[str]:
    lines = ["| row | kind | inputs | closed form | label | domain, kinks | params | "
             "about | symdiff |", "|---|---|---|---|---|---|---|---|---|"]
    for prim in PRIMITIVES.values():
        lines.append(
            f"| `{prim.name}` | {prim.kind} | {prim.arity} | {_code(_cell(prim.sympy))} | "
            f"{_code(_cell(prim.display))} | {_cell(prim.domain.note)} | "
            f"{_cell(', '.join(prim.params))} | {_cell(prim.doc)} | {_sd_function(prim.name)} |")
    return lines


def render() -> str:
    """The page, as the code says it today."""
    n, n_ufuncs, n_functions, rows = counts()
    parts = [
        "# numpy on symdiff Nodes",
        "",
        f"<!-- Generated by {COMMAND} from symdiff.graph.numpy_api and the table of "
        f"primitives (numpy {numpy_version()}); tests/test_numpy_page.py fails when this "
        "page is out of date. Do not edit by hand. -->",
        "",
        "A function written for numpy arrays runs on symdiff variables: numpy's ufuncs and",
        "functions meet Nodes (numpy's `__array_ufunc__` and `__array_function__` protocols)",
        "and build the graph, so `sd.from_function(loss, w=(5,), X=X, t=t)` gives a Node with",
        "a closed form, gradients, pictures and `sd.check`. Nodes also have the array",
        "methods numpy code uses (`.sum() .mean() .dot() .T .reshape() .ravel() .astype(float)",
        ".shape .ndim .size`, and `.max() .var() ...` as their numpy functions are listed",
        "below). Anything else raises `sd.UnsupportedError` naming the numpy function, and",
        "`sd.supported_numpy()` returns the names listed here.",
        "",
        f"**{n} numpy names** work on Nodes ({n_ufuncs} ufuncs and {n_functions} functions), "
        f"and the table of primitives has **{rows} rows**.",
        "",
        "What a graph cannot do is refused by name: `out=` (a Node is immutable), a `where=`",
        "mask (use `np.where`), a dtype other than float64, numpy's casting and layout",
        "controls, item assignment `x[i] = ...`, `np.asarray(x)` of a Node that depends on",
        "variables (it has no numbers), and a Node in a Python `if`, `while`, `and`, `or` or",
        "`bool()` (use `np.where(cond, a, b)`). A Node that holds values and requires no",
        "gradient (a constant, a plain tensor) behaves as its array in the numpy functions",
        "symdiff does not differentiate, as a PyTorch tensor does. `==` and `!=` compare",
        "Nodes by identity (Nodes are dictionary keys): choose entries with comparisons",
        "such as `x > 0`.",
        "",
        "numpy's own `ndarray.dot` asks its argument for numbers, so `A.dot(w)` with an",
        "array `A` made inside the function is refused (write `A @ w` or `np.dot(A, w)`);",
        "the arrays passed to `sd.from_function` (and arithmetic on them) have a `.dot` that",
        "takes Nodes, so data `X.dot(W)` works. `(x > 0).astype(float)` is the 0/1 mask.",
        "",
        "## numpy functions",
        "",
        *_function_rows(),
        "",
        "## numpy ufuncs",
        "",
        "Every table row named like a numpy ufunc is that ufunc; a few ufuncs are small",
        "graphs of rows. Inputs may be Nodes, numpy arrays and numbers in any position.",
        "",
        *_ufunc_rows(),
        "",
        "Methods of the ufuncs:",
        "",
        *_method_lines(),
        "",
        "## The table of primitives",
        "",
        "Every op is one row of `numeric/primitives.py`. Elementwise rows show their SymPy",
        "formula in `x, y, z` (the inputs in order); the others the SymPy matrix expression",
        "they build. The domain column is where the row is defined and where it has kinks.",
        "",
        *_table_rows(),
        "",
    ]
    return "\n".join(parts)


def readme_with_sentence(text: str) -> str:
    """README.md's text with its sentence counting the names and rows brought up to date."""
    return README_SENTENCE.sub(readme_sentence(), text)


def main() -> int:
    PAGE.write_text(render(), encoding="utf-8")
    README.write_text(readme_with_sentence(README.read_text(encoding="utf-8")),
                      encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)} and the sentence of README.md "
          f"({readme_sentence()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
