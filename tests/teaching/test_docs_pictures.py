"""The pictures committed with the docs are real SVG and show what the tutorial says."""
import pathlib
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _texts(path):
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))


def test_olah_picture_shows_values_gradients_and_edge_partials():
    text = _texts(ROOT / "docs" / "img" / "olah.svg")
    for label in ("value 3", "value 1", "value 4", "value 2", "value 8", "grad 2", "grad 6",
                  "∂e/∂c = d", "= 2", "∂e/∂d = c", "= 4", "∂c/∂a = 1", "∂d/∂b = 1", "Legend"):
        assert label in text, label


def test_every_picture_the_docs_link_exists():
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for link in __import__("re").findall(r"!\[[^\]]*\]\(([^)]+\.svg)\)", md.read_text()):
            assert (md.parent / link).is_file(), f"{md.name} links a missing picture {link}"
            _texts(md.parent / link)
