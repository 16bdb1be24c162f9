"""Shared by the command-line tests: run ``main`` in-process, and the error-line rule."""
from symdiff.cli import main


def run(capsys, *argv):
    """Exit status, stdout and stderr of ``symdiff *argv`` run in-process."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err):
    """Bad input is one line on stderr starting ``symdiff: error:``, never a traceback."""
    assert err.startswith("symdiff: error:"), err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
