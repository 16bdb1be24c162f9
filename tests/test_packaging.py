"""The distribution ships every package of the tree: pyproject's package discovery finds each
folder of symdiff/ and numeric/ that holds an ``__init__.py``."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def test_package_discovery_finds_every_subpackage():
    # (tomllib is Python 3.11+: the one line is read directly)
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[tool.setuptools.packages.find]", 1)[1]
    include = ast.literal_eval(re.search(r"^include\s*=\s*(\[.*\])", section, re.M).group(1))
    found = set(find_packages(str(ROOT), include=include))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for top in ("symdiff", "numeric") for p in (ROOT / top).rglob("__init__.py")}
    assert on_disk <= found, f"not shipped: {sorted(on_disk - found)}"
    assert {"symdiff.text", "symdiff.graph.claims", "numeric"} <= found
    assert not {p for p in found if p.split(".")[0] not in ("symdiff", "numeric")}
