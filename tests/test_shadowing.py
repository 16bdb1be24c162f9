"""Python started in the clone's parent folder, where the clone's own folder (named
``symdiff`` by ``git clone``) looks like an empty namespace package, still imports the real
symdiff after ``pip install -e .``: the editable install is a static path entry (pyproject's
``package-dir``), which Python's path search prefers to a namespace package, not an import
hook that runs only after it. The test makes its own editable install in a throw-away
virtual environment (a few seconds), so whatever is installed on the machine does not
decide the result."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = "import symdiff; print(symdiff.__file__); print(symdiff.var('x').name)"


def _run(python: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([python, "-c", PROBE], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_installed_package_wins_over_the_clone_folder(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    # the outer pip installs into the venv; no network: no dependencies, no build isolation
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                           "--no-deps", "--no-build-isolation", "--no-index", "-e", str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    parent = tmp_path / "parent"
    (parent / "symdiff").mkdir(parents=True)          # the clone's folder, as seen from above
    (parent / "symdiff" / "README.md").write_text("a clone\n")
    proc = _run(python, parent)
    assert proc.returncode == 0, proc.stderr
    file, name = proc.stdout.split()
    assert Path(file) == ROOT / "symdiff" / "__init__.py"
    assert name == "x"
