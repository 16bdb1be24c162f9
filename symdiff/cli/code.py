"""``symdiff verify --code FILE:FUNC --grad FILE:FUNC`` (or ``--vjp FILE:FUNC``): gradient
code and backward passes from the user's own Python file.

The file is imported and run as Python (with its folder on ``sys.path`` while it loads,
as ``python FILE`` would): unlike formula text, which symdiff reads without running it,
this runs the user's code, and the help text says so. ``--at`` gives the point: numbers
and nested lists as elsewhere on the command line, ``w=0.1,0.2`` for a vector (a piece
without ``=`` continues the value before it), or the name of something the file defines
(``X=X_train``), which is passed as it is (data, labels, a ``bn_param`` dict). Every
failure to load (no such file, a syntax error, an exception while importing, no such
function) is a ``UsageError``: one line, exit status 2.

Imports the public ``symdiff`` API and the command line's value readers.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.machinery
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

import symdiff as sd
from symdiff.cli.values import UsageError, _split_top_level, parse_at, quoted

def run_verify_code(args: argparse.Namespace) -> int:
    """``symdiff verify --code ...``: exit 0 when the code is right, 1 when it is wrong."""
    if args.claim or args.expression is not None:
        raise UsageError("verify: --code checks a Python function; give it without an "
                         "expression or --claim")
    if args.shape:
        raise UsageError("--shape: not used with --code (the shapes are those of the --at "
                         "values)")
    if (args.grad is None) == (args.vjp is None):
        raise UsageError("--code: give the gradient function with --grad FILE:FUNC, or a "
                         "backward pass with --vjp FILE:FUNC (one of the two)")
    loaded: dict = {}   # a file given twice (--code and --grad) is imported once
    function, module = load_function(args.code, "--code", loaded)
    claim, _ = load_function(args.grad or args.vjp, "--grad" if args.grad else "--vjp", loaded)
    at = code_point(args.at, module, args.code)
    wrt = [n.strip() for item in args.wrt for n in item.split(",") if n.strip()] or None
    if args.grad:
        report = sd.verify(function, claim, at=at, wrt=wrt, sympy_seconds=args.sympy_seconds)
    else:
        report = sd.verify_vjp(function, claim, at=at, wrt=wrt)
    print(report)
    if report.ok:
        return 0
    print(f"symdiff: verify: {report.status}", file=sys.stderr)
    return 1


def load_function(spec: str, option: str, loaded: dict) -> tuple[Callable, ModuleType]:
    """``FILE:FUNC`` -> (the function, its module); ``loaded``: the files imported so far
    in this command, by path. ``FUNC`` may be dotted (``Model.grad``)."""
    path_text, sep, name = str(spec).rpartition(":")
    if not sep or not path_text.strip() or not name.strip():
        raise UsageError(f"{option}: expected FILE:FUNCTION (e.g. model.py:loss), got "
                         f"{quoted(spec)}")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise UsageError(f"{option}: no such file: {quoted(path_text)}")
    path = path.resolve()
    if path not in loaded:
        loaded[path] = _import(path, option)
    module = loaded[path]
    target: Any = module
    for part in name.strip().split("."):
        if not hasattr(target, part):
            functions = sorted(k for k, v in vars(module).items()
                               if callable(v) and not k.startswith("_")
                               and getattr(v, "__module__", None) == module.__name__)
            raise UsageError(f"{option}: {path.name} has no function '{name.strip()}' (its "
                             f"functions: {', '.join(functions) or 'none'})")
        target = getattr(target, part)
    if not callable(target):
        raise UsageError(f"{option}: '{name.strip()}' in {path.name} is a "
                         f"{type(target).__name__}, not a function")
    return target, module


def _import(path: Path, option: str) -> ModuleType:
    """Import (run) the user's file as a module of its own."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"symdiff_user_{''.join(c if c.isalnum() else '_' for c in path.stem)}_{digest}"
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        loader.exec_module(module)
    except SyntaxError as e:
        sys.modules.pop(name, None)
        raise UsageError(f"{option}: {path.name} has a syntax error at line {e.lineno}: "
                         f"{e.msg}") from None
    except BaseException as e:  # noqa: BLE001 - whatever the user's file does at import
        sys.modules.pop(name, None)
        if isinstance(e, KeyboardInterrupt):
            raise
        line = _line_in(e, path)
        what = "exited" if isinstance(e, SystemExit) else f"raised {type(e).__name__}"
        raise UsageError(f"{option}: importing {path.name} {what}{line}: "
                         f"{str(e).splitlines()[0] if str(e) else ''}".rstrip(": ")) from None
    finally:
        try:
            sys.path.remove(str(path.parent))
        except ValueError:
            pass
    return module


def _line_in(e: BaseException, path: Path) -> str:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename) == path]
    return f" (line {frames[-1].lineno})" if frames else ""


def code_point(items: Sequence[str], module: ModuleType, spec: str) -> dict:
    """The values of ``--at`` for code: numbers and lists (``w=0.1,0.2`` is a vector), or
    names the file defines, passed as they are."""
    if not items:
        raise UsageError("--at: give the point, a value for each parameter of "
                         f"{spec.rpartition(':')[2]} (e.g. --at w=0.1,0.2 --at X=X_train)")
    pairs: list[list[str]] = []
    for item in items:
        for piece in _split_top_level(item):
            if "=" in piece or not pairs:
                pairs.append([piece])
            else:
                pairs[-1].append(piece)      # w=0.1,0.2: the value goes on
    point: dict = {}
    for pieces in pairs:
        name, sep, text = (s.strip() for s in pieces[0].partition("="))
        if len(pieces) > 1:
            text = "[" + ",".join([text, *(p.strip() for p in pieces[1:])]) + "]"
        if not sep or not name.isidentifier() or not text:
            raise UsageError(f"--at: expected name=value, got {quoted(','.join(pieces))}")
        if name in point:
            raise UsageError(f"--at: '{name}' is given twice")
        if text.isidentifier() and text.lower() not in ("inf", "infinity", "nan"):
            if not hasattr(module, text):
                raise UsageError(f"--at {name}: '{text}' is not a number, a list, or a name "
                                 f"defined in {Path(spec.rpartition(':')[0]).name}")
            point[name] = getattr(module, text)
        else:
            point[name] = parse_at([f"{name}={text}"])[name]
    return point
