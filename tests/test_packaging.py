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


def _pyproject() -> str:
    return (ROOT / "pyproject.toml").read_text()


def test_the_licence_file_is_the_declared_licence():
    text = _pyproject()
    assert re.search(r'^license = "MIT"$', text, re.M)
    assert re.search(r'^license-files = \["LICENSE"\]$', text, re.M)
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    # PEP 639's license expression needs setuptools 77
    assert '"setuptools>=77"' in text


def test_version_comes_from_pyproject_alone():
    import symdiff
    declared = re.search(r'^version = "([^"]+)"$', _pyproject(), re.M).group(1)
    assert symdiff.__version__ == declared
    # no other file spells the version
    for path in list((ROOT / "symdiff").rglob("*.py")) + list((ROOT / "numeric").rglob("*.py")):
        assert f'"{declared}"' not in path.read_text("utf-8"), path


def test_both_packages_ship_py_typed():
    text = _pyproject()
    for pkg in ("symdiff", "numeric"):
        assert (ROOT / pkg / "py.typed").is_file()
        assert re.search(rf'^{pkg} = \["py.typed"\]$', text, re.M)


def test_the_docs_site_lists_every_page():
    """mkdocs.yml's nav names each page of docs/ (the API reference among them)."""
    text = (ROOT / "mkdocs.yml").read_text()
    pages = set(re.findall(r"^  - [^:]+: (\S+\.md)$", text, re.M))
    assert pages == {p.name for p in (ROOT / "docs").glob("*.md")}
    assert "api.md" in pages and "mkdocstrings" in text
