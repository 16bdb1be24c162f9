"""How ``sd.check`` and ``sd.verify`` print: columns, numbers, values, points, slopes.

One place for the text of both reports (tests and docs compare printed tables, so a
change here shows in both). Numbers lose their sign of zero (``+ 0.0``): -0.0 prints 0.

May import numpy and ``symdiff.graph`` (a node's inputs and formula are printed).

>>> print("\\n".join(columns([("entry", "value"), ("x[0]", num(-0.0)), ("y", num(1 / 3))])))
entry  value
x[0]   0
y      0.3333333333
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from symdiff.graph.node import Node
from symdiff.graph.walks import topological
from symdiff.symbolic.display import DISPLAY_SECONDS


def columns(rows: list) -> list[str]:
    """Rows of cells (text) as lines, each column as wide as its widest cell.

    >>> columns([("a", "bb"), ("ccc", "d")])
    ['a    bb', 'ccc  d']
    """
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def num(v: float) -> str:
    """A number to 10 significant digits.

    >>> num(-0.0), num(2 / 3), num(1e-20)
    ('0', '0.6666666667', '1e-20')
    """
    return f"{v + 0.0:.10g}"


def array_text(v: Any) -> str:
    """A value as ``sd.check`` prints it: a number by ``num``, an array by numpy.

    >>> array_text(3.0), array_text([1.0, -0.5])
    ('3', '[ 1. , -0.5]')
    """
    arr = np.asarray(v)
    return num(float(arr)) if arr.ndim == 0 else \
        np.array2string(arr + 0.0, precision=6, separator=", ", max_line_width=10_000)


def value_text(v: Any) -> str:
    """A number or a nested list on one line, as ``sd.verify`` prints it: ``[[1, 2], [3, 4.5]]``.

    >>> value_text([[1.0, 2.0], [3.0, 4.5]]), value_text(np.bool_(True))
    ('[[1, 2], [3, 4.5]]', 'True')
    """
    arr = np.asarray(v)
    if arr.ndim == 0:
        return str(bool(arr)) if arr.dtype == np.bool_ else f"{float(arr) + 0.0:.7g}"
    return "[" + ", ".join(value_text(a) for a in arr) + "]"


def point_text(point: dict, limit: int = 12) -> str:
    """Each value of a point in full, or for arrays of more than ``limit`` entries the
    first few.

    >>> point_text({"x": 1.0, "W": np.ones((4, 4))})
    'x = 1, W = <4×4 array: 1, 1, 1, 1, 1, 1, ...>'
    """
    parts = []
    for k, v in point.items():
        arr = np.asarray(v)
        if arr.size > limit:
            head = ", ".join(f"{float(e) + 0.0:.7g}" for e in arr.reshape(-1)[:6])
            parts.append(f"{k} = <{'×'.join(map(str, arr.shape))} array: {head}, ...>")
        else:
            parts.append(f"{k} = {value_text(arr)}")
    return ", ".join(parts)


def entry_label(name: str, index: tuple) -> str:
    """``W[1, 0]`` for entry (1, 0) of W; the name alone for a scalar.

    >>> entry_label("W", (1, 0)), entry_label("x", ())
    ('W[1, 0]', 'x')
    """
    return name + (str(list(index)) if index else "")


def inputs_text(node: Node, xs: Sequence[Any], fmt: Callable[[Any], str]) -> str:
    """The inputs of an op node at a point, each by its name (or its op) and value.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> inputs_text(x * 2, [3.0, 2.0], value_text)
    'x = 3, const = 2'
    """
    return ", ".join(f"{a.name if a.name else a.op} = {fmt(x)}" for a, x in zip(node.args, xs))


def bad_entries(ok: Any, shape: tuple, limit: int = 3) -> str:
    """For an array op, which entries of its result the mask ``ok`` leaves out.

    >>> bad_entries(np.array([True, False, False]), (3,))
    ', entries [1], [2]'
    >>> bad_entries(np.array(False), ())
    ''
    """
    if not shape:
        return ""
    bad = np.argwhere(~np.broadcast_to(ok, shape))
    shown = ", ".join(str(list(map(int, i))) for i in bad[:limit])
    more = f" and {len(bad) - limit} more" if len(bad) > limit else ""
    return f", entr{'y' if len(bad) == 1 else 'ies'} {shown}{more}"


def slopes_text(name: str, left: Any, right: Any, differing_only: bool = False) -> str:
    """One-sided slopes per entry, the first ten; ``differing_only`` leaves out entries
    whose slopes agree (or are not known, nan). Empty when no entry is shown.

    >>> slopes_text("v", [-1.0, 2.0], [1.0, 2.0])
    'v[0]: left -1, right 1; v[1]: left 2, right 2'
    >>> slopes_text("v", [-1.0, 2.0], [1.0, 2.0], differing_only=True)
    'v[0]: left -1, right 1'
    """
    left, right = np.asarray(left), np.asarray(right)
    parts = []
    for idx in np.ndindex(*left.shape):
        lo, hi = float(left[idx]), float(right[idx])
        if differing_only and (np.isnan(lo) or abs(lo - hi) <= 1e-6 * (1 + abs(lo) + abs(hi))):
            continue
        parts.append(f"{entry_label(name, idx)}: left {round(lo, 6) + 0.0:.6g}, "
                     f"right {round(hi, 6) + 0.0:.6g}")
    return "; ".join(parts[:10]) + ("; ..." if len(parts) > 10 else "")


def short(text: str, limit: int = 200) -> str:
    """Text on one line, cut to ``limit`` characters.

    >>> short("a  b\\n c", 200), short("x" * 10, 8)
    ('a b c', 'xxxxx...')
    """
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def formula(node: Node, limit: int = 200) -> str:
    """A node's SymPy formula on one line (the explicit form for small nodes when the
    matrix form fails; the node count when neither prints): a report must not fail on
    printing, nor wait on it: SymPy gets ``DISPLAY_SECONDS`` per form, and the text is
    kept on the node, so printing a report twice costs nothing.

    >>> import symdiff as sd
    >>> formula(sd.var("x") ** 2)
    'x**2'
    """
    text = node._cache.get("report formula")
    if text is None:
        start = time.monotonic()
        try:
            text = str(node.sympy(sympy_seconds=DISPLAY_SECONDS))
        except Exception:  # noqa: BLE001 - a report must not fail on printing
            text = ""
            # the element form, when the matrix form failed rather than ran out of time
            if node.size <= 16 and time.monotonic() - start < DISPLAY_SECONDS / 2:
                try:
                    text = str(node.sympy(explicit=True, sympy_seconds=DISPLAY_SECONDS))
                except Exception:  # noqa: BLE001
                    text = ""
            text = text or f"<graph of {len(topological([node]))} nodes>"
        node._cache["report formula"] = text
    return short(text, limit)
