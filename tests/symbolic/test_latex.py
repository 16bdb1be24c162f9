"""sd.formula(..., lang="latex") in a paper's notation, compiled by pdflatex (installed by
.ci/run from Debian's texlive-latex-base; the compile test skips only without it)."""
import shutil
import subprocess

import pytest

import symdiff as sd


def _cases():
    a, b, x, t, y = (sd.var(n, (3,)) for n in "abxty")
    A, X = sd.var("A", (3, 3)), sd.var("X", (3, 3))
    return [
        (a @ X @ b, X, r"a b^{\top}"),
        (sd.norm(x), x, r"\frac{x}{\left\lVert x \right\rVert}"),
        (sd.logsumexp(x), x, r"\operatorname{softmax}\left(x\right)"),
        (sd.mean(sd.log(1 + sd.exp(-t * (A @ x)))), x,
         r"-\frac{A^{\top} \left(\sigma\left(-\left(t \odot \left(A x\right)\right)\right) "
         r"\odot t\right)}{3}"),
        (sd.sum((A @ x - y) ** 2) + 0.5 * sd.sum(x ** 2), x,
         r"x + 2 A^{\top} \left(A x - y\right)"),
        (sd.log(sd.abs(sd.det(X))), X, r"X^{-\top}"),
        (sd.det(X), X, r"\det\left(X\right) X^{-\top}"),
        (sd.sum(sd.tanh(X @ x)), x,
         r"X^{\top} \left(\mathbf{1} - \tanh\left(X x\right)^{\circ 2}\right)"),
        (sd.trace(X.T @ A @ X), X, r"\left(A + A^{\top}\right) X"),
        # issue 15's quality rows: sums in the order written, a 1x1 product bracketed
        (sd.norm(x - a), x, r"\frac{x - a}{\left\lVert x - a \right\rVert}"),
        ((a @ x) / sd.norm(x), x,     # sd.formula names norm(x) t_0, as it is used twice
         r"\frac{a}{t_{0}} - \frac{\left(a^{\top} x\right) x}{t_{0}^{3}}"),
        (sd.logsumexp(A @ x) - t @ (A @ x), x,
         r"A^{\top} \left(\operatorname{softmax}\left(A x\right) - t\right)"),
        (sd.exp(x @ x), x, r"2 e^{\left\lVert x \right\rVert^{2}} x"),
    ]


@pytest.mark.parametrize("k", range(13))
def test_latex_is_a_papers_notation(k):
    f, w, want = _cases()[k]
    text = sd.formula(f, w, lang="latex")
    if want is not None:
        assert text.splitlines()[-2].endswith("&= " + want), text
    for old in (r" \circ ", r"^{T}", r"\mathbb{1}", r"\left(X^{T}\right)^{-1}", "0.333"):
        assert old not in text, (old, text)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles(tmp_path):
    body = "\n".join(f"\\[\n{sd.formula(f, w, lang='latex')}\n\\]" for f, w, _ in _cases())
    doc = ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n"
           f"{body}\n\\end{{document}}\n")
    (tmp_path / "f.tex").write_text(doc)
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "f.tex"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    assert (tmp_path / "f.pdf").stat().st_size > 1000
