"""The compiled path: a fused group written as a C loop, built with the system's C
compiler, called through ctypes.

numpy's float64 ``sin`` and ``cos`` are not vectorised (7.5 ns an element here, ten times
``exp``), and each numpy call on a chunk costs a microsecond of Python. A C loop over the
chunk computes every op of the group per element in registers, and the compiler turns the
calls to ``sin``, ``exp``, ``log``, ``tanh``, ``pow`` into calls to glibc's vector math
library (libmvec, 4 or 8 elements a call) through ``#pragma omp simd`` and functions
declared ``simd``. No ``-ffast-math``: nan and inf keep their IEEE meaning (the C forms
mirror the rows' numpy forms, as ``numeric.codegen.rules``' scalar templates do, from
which they are translated), and ``-ffp-contract=off`` keeps a*b+c two roundings, as
numpy rounds it. The vector functions are within 4 ulp of numpy's, so results agree with
the numpy path to about 1e-15 relative, not bit for bit.

Chosen automatically: a kernel is compiled on first use when a compiler works (``$CC``,
else ``cc``/``gcc``) and ``SYMDIFF_COMPILE`` is not ``0``; the library is cached on disk by
the hash of its source (``$SYMDIFF_KERNEL_CACHE``, else a folder in the temp directory), so
the next process loads it in a millisecond. Anything failing (no compiler, a compile
error) leaves the kernel on numpy, with the reason in ``Kernel.note()``. Imports the
standard library (ctypes, subprocess) and numpy only, when a kernel first runs.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from typing import Any, Optional

import numpy as np

from ..codegen.rules import rule_for
from ..fuse import derivative
from . import pool

FLAGS = ["-O3", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math",
         "-ffp-contract=off", "-fno-builtin", "-fopenmp-simd"]
VECTOR_FUNCS = ("sin", "cos", "tan", "exp", "log", "tanh", "pow")

_PRELUDE = """\
typedef long long i64;
double sqrt(double);
double fabs(double);
{decls}
static inline double _sigmoid_f(double x) {{ double e = exp(-__builtin_fabs(x));
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e); }}
static inline double _sign_f(double x) {{ return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : x; }}
static inline double _heaviside_f(double x, double h0) {{
    return x > 0 ? 1.0 : x < 0 ? 0.0 : x == 0 ? h0 : x; }}
static inline double _maximum_f(double x, double y) {{ return (x >= y || x != x) ? x : y; }}
static inline double _minimum_f(double x, double y) {{ return (x <= y || x != x) ? x : y; }}
double log1p(double); double expm1(double); double cbrt(double); double exp2(double);
double log2(double); double log10(double); double asin(double); double acos(double);
double atan(double); double sinh(double); double cosh(double); double asinh(double);
double acosh(double); double atanh(double); double erf(double);
double atan2(double, double); double hypot(double, double);
static inline double _logaddexp_f(double x, double y) {{   /* numpy's npy_logaddexp */
    if (x == y) return x + 0.6931471805599453;
    double d = x - y;
    if (d > 0) return x + log1p(exp(-d));
    if (d <= 0) return y + log1p(exp(d));
    return d; }}
static inline double _softplus_f(double x) {{ return _logaddexp_f(0.0, x); }}
"""


# ---------------------------------------------------------------------------- compiler
def compiler() -> Optional[str]:
    """The C compiler to use, or None (none found, or ``SYMDIFF_COMPILE=0``)."""
    if os.environ.get("SYMDIFF_COMPILE", "1").strip() == "0":
        return None
    for cand in (os.environ.get("CC"), "cc", "gcc"):
        if cand and shutil.which(cand):
            return shutil.which(cand)
    return None


@functools.lru_cache(maxsize=None)
def cache_dir() -> str:
    """Where compiled kernels are kept: ``SYMDIFF_KERNEL_CACHE``, else a folder of the
    user's in the temp dir. The process loads code from it, so a folder someone else owns
    or can write to (planted in a shared /tmp) is never used: a private one is made instead."""
    d = os.environ.get("SYMDIFF_KERNEL_CACHE") or os.path.join(
        tempfile.gettempdir(), f"symdiff-kernels-{os.getuid() if hasattr(os, 'getuid') else 0}")
    os.makedirs(d, mode=0o700, exist_ok=True)
    if hasattr(os, "getuid"):
        st = os.stat(d)
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            d = tempfile.mkdtemp(prefix="symdiff-kernels-")
    return d


def _build(cc: str, source: str, extra: list) -> str:
    """Compile ``source`` to a shared library in the cache (once per source); its path."""
    key = hashlib.sha256("\0".join([cc, source, *FLAGS, *extra]).encode()).hexdigest()[:24]
    d = cache_dir()
    lib = os.path.join(d, f"k{key}.so")
    if os.path.exists(lib):
        return lib
    src = os.path.join(d, f"k{key}.c")
    with open(src, "w") as f:
        f.write(source)
    tmp = f"{lib}.{os.getpid()}.tmp"
    cmd = [cc, *FLAGS, src, "-o", tmp, *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()[-1500:]}")
    os.replace(tmp, lib)  # atomic: other processes see the whole library or none
    return lib


@functools.lru_cache(maxsize=None)
def toolchain() -> Optional[tuple]:
    """``(cc, extra flags, vectorised?)`` that compile here, probed once; None if none."""
    cc = compiler()
    if cc is None:
        return None
    probe = _PRELUDE.format(decls=_decls(True)) + (
        "void f(const double* x, double* y, i64 n) {\n#pragma omp simd\n"
        "for (i64 i = 0; i < n; ++i) y[i] = sin(x[i]);\n}\n")
    for extra, vec in ((["-march=native", "-lmvec", "-lm"], True), (["-lmvec", "-lm"], True),
                       (["-lm"], False)):
        try:
            _build(cc, probe if vec else _PRELUDE.format(decls=_decls(False)), extra)
            return cc, extra, vec
        except (RuntimeError, OSError, subprocess.SubprocessError):
            continue
    return None


def _decls(vector: bool) -> str:
    attr = ' __attribute__((simd("notinbranch"), const, nothrow))' if vector else ""
    return "\n".join(f"double {f}(double{', double' if f == 'pow' else ''}){attr};"
                     for f in VECTOR_FUNCS)


# ---------------------------------------------------------------------------- C forms
def _c_expr(template: Any, params: dict) -> Optional[str]:
    t = template(**params) if callable(template) else template
    if t is None:
        return None
    t = re.sub(r"(?<![\w.])abs\(", "__builtin_fabs(", t)
    t = t.replace("math.sqrt(", "__builtin_sqrt(").replace("math.", "")
    # Python's boolean words (clip's partials) as C's operators
    t = re.sub(r"\band\b", "&&", t)
    t = re.sub(r"\bor\b", "||", t)
    t = re.sub(r"\bnot\b\s*", "!", t)
    if " if " in t or "math" in t or "**" in t:
        return None
    return t


def _poly_c(x: str, c: tuple) -> str:
    """Horner's rule as ``numeric.fuse.polyval`` rounds it."""
    if len(c) == 1:
        return repr(float(c[0]))
    v = f"({x} + {c[1]!r})" if c[0] == 1.0 else (
        f"({x} * {c[0]!r})" if c[1] == 0.0 else f"({x} * {c[0]!r} + {c[1]!r})")
    for a in c[2:]:
        v = f"({v} * {x})" if a == 0.0 else f"({v} * {x} + {a!r})"
    return v


def op_forward(row: Any, params: dict, names: list) -> Optional[str]:
    """The C expression of one op's forward on the C names of its inputs."""
    if row.name == "polyval":
        return _poly_c(names[0], params["c"])
    if row.name == "where":
        return f"({names[0]} != 0.0 ? {names[1]} : {names[2]})"
    t = _c_expr(rule_for(row).scalar, params)
    return None if t is None else t.format(**dict(zip("xyz", names)))


def op_vjp(row: Any, j: int, params: dict, g: str, out: str, names: list) -> Optional[str]:
    """The C expression of one op's VJP for input ``j``."""
    if row.name == "polyval":
        return f"({g} * {_poly_c(names[0], derivative(params['c']))})"
    if row.name == "where":
        return {1: f"({names[0]} != 0.0 ? {g} : 0.0)", 2: f"({names[0]} != 0.0 ? 0.0 : {g})"}.get(j)
    templates = rule_for(row).scalar_vjp
    t = _c_expr(templates[j], params) if j < len(templates) and templates[j] is not None else None
    if t is None:
        return None
    return "(" + t.format(g=g, out=out, **dict(zip("xyz", names))) + ")"


def c_source(k: Any, vector: bool) -> Optional[str]:
    """The C source of kernel ``k``: ``fwd``, and ``both`` (a reduction) or ``vjp``; None
    when some op has no C form."""
    m = len(k.externals)
    names = [f"X{j}[i]" if k.full[j] else f"s{j}" for j in range(m)]
    body = []
    for n_op, (row, lins, params, vjps, masked) in enumerate(k.ops):
        e = op_forward(row, params, [names[i] for i in lins])
        if e is None:
            return None
        names.append(f"v{m + n_op}")
        body.append(f"double v{m + n_op} = {e};")
    root = names[-1]
    back = []
    cot: dict[int, str] = {}
    cot[m + len(k.ops) - 1] = "gout"
    for n_op in range(len(k.ops) - 1, -1, -1):
        row, lins, params, vjps, masked = k.ops[n_op]
        g = cot.get(m + n_op)
        if g is None or vjps is None:
            continue
        for j, i in enumerate(lins):
            if vjps[j] is None:
                continue
            e = op_vjp(row, j, params, g, names[m + n_op], [names[x] for x in lins])
            if e is None:
                return None
            if masked:
                e = f"({g} == 0.0 ? 0.0 : {e})"
            if i in cot:
                back.append(f"{cot[i]} = {cot[i]} + {e};")
            else:
                cot[i] = f"c{i}"
                back.append(f"double c{i} = {e};")
    grads_out = []
    red = []
    for j in range(m):
        if not k.need[j]:
            continue
        c = cot.get(j, "0.0")
        if k.full[j]:
            grads_out.append(f"G{j}[i] = {c};")
        else:
            grads_out.append(f"p{j} += {c};")
            red.append(f"p{j}")
    head = ["const double* X{0} = X[{0}];".format(j) if k.full[j] else
            f"const double s{j} = S[{j}];" for j in range(m)]
    ghead = [f"double* G{j} = G[{j}];" for j in range(m) if k.need[j] and k.full[j]]
    loop_open = ["for (i64 c = c0; c < c1; ++c) {",
                 "  i64 a = c * chunk, b = a + chunk < n ? a + chunk : n;"]
    fns = [_PRELUDE.format(decls=_decls(vector))]
    if k.reduce:
        fns.append(_fn("fwd", "double* sums", head, loop_open, ["double acc = 0.0;"],
                       "acc", body + [f"acc += {root};"], ["sums[c] = acc;"]))
        fns.append(_fn("both", "double* sums, double* const* G, double* P, double gout", head + ghead,
                       loop_open, ["double acc = 0.0;"] + [f"double {p} = 0.0;" for p in red],
                       ", ".join(["acc"] + red), body + [f"acc += {root};"] + back + grads_out,
                       ["sums[c] = acc;"] + [f"P[c * {m} + {p[1:]}] = {p};" for p in red]))
    else:
        fns.append(_fn("fwd", "double* out", head, loop_open, [], "", body + [f"out[i] = {root};"],
                       []))
        fns.append(_fn("vjp", "const double* GIN, double* const* G, double* P", head + ghead,
                       loop_open, [f"double {p} = 0.0;" for p in red], ", ".join(red),
                       body + ["const double gout = GIN[i];"] + back + grads_out,
                       [f"P[c * {m} + {p[1:]}] = {p};" for p in red]))
    return "\n".join(fns)


def _fn(name: str, args: str, head: list, loop_open: list, init: list, reduction: str,
        body: list, close: list) -> str:
    pragma = f"#pragma omp simd reduction(+:{reduction})" if reduction else "#pragma omp simd"
    lines = [f"void {name}(const double* const* X, const double* S, {args}, "
             "i64 n, i64 chunk, i64 c0, i64 c1) {", *("  " + h for h in head), *loop_open,
             *("  " + s for s in init), pragma, "  for (i64 i = a; i < b; ++i) {",
             *("    " + s for s in body), "  }", *("  " + s for s in close), "}", "}"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- calling it
def kernel_for(k: Any) -> tuple:
    """``(run, "")`` for a kernel that compiles, else ``(False, why not)``."""
    tc = toolchain()
    if tc is None:
        return False, "not compiled: no working C compiler (or SYMDIFF_COMPILE=0)"
    cc, extra, vector = tc
    source = c_source(k, vector)
    if source is None:
        return False, "not compiled: an op has no C form"
    try:
        lib = ctypes.CDLL(_build(cc, source, extra))
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return False, f"not compiled: {e}"
    P = ctypes.c_void_p
    I64 = ctypes.c_longlong
    fwd = lib.fwd
    fwd.argtypes = [P, P, P, I64, I64, I64, I64]
    fwd.restype = None
    back = lib.both if k.reduce else lib.vjp
    back.argtypes = ([P, P, P, P, P, ctypes.c_double, I64, I64, I64, I64] if k.reduce
                     else [P, P, P, P, P, I64, I64, I64, I64])
    back.restype = None
    m = len(k.externals)

    def run(k: Any, xs: list, mode: str, g: Any, value: Any, grads: list, sums: Any,
            partials: Any, n_chunks: int, threads: int) -> None:
        xs = [np.ascontiguousarray(x, dtype=np.float64) if f else x for x, f in zip(xs, k.full)]
        X = (P * m)(*[x.ctypes.data if f else 0 for x, f in zip(xs, k.full)])
        S = np.array([0.0 if f else float(x) for x, f in zip(xs, k.full)] or [0.0])
        G = (P * m)(*[gr.ctypes.data if gr is not None else 0 for gr in grads])
        Pp = partials.ctypes.data if partials is not None else None
        n, chunk = k.size, k.chunk
        if mode == "forward":
            target = (sums if k.reduce else value).ctypes.data

            def work(c0: int, c1: int) -> None:
                fwd(X, S.ctypes.data, target, n, chunk, c0, c1)
        elif mode == "both":
            def work(c0: int, c1: int) -> None:
                back(X, S.ctypes.data, sums.ctypes.data, G, Pp, k.seed, n, chunk, c0, c1)
        else:
            gin = np.ascontiguousarray(np.broadcast_to(g, k.shape), dtype=np.float64)

            def work(c0: int, c1: int) -> None:
                back(X, S.ctypes.data, gin.ctypes.data, G, Pp, n, chunk, c0, c1)
        pool.run(work, n_chunks, threads)
    return run, ""
