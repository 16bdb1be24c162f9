"""Names generated C may not give a variable, and the names it gives them instead.

A variable named ``pow`` hides the function ``pow`` the formula calls; one named
``HUGE_VALF`` or ``MB_CUR_MAX`` is a macro, so ``double HUGE_VALF`` declares a function
pointer and the call passes a double where it is read (it compiles, and crashes); ``int``
is a keyword; ``M_LN2`` and ``FP_NAN`` are macros that do not compile as names. So
``c_identifiers`` gives every variable whose name C reserves a trailing underscore
(``pow`` becomes ``pow_``, more underscores if that is taken too), and
``symdiff.derivatives.printers.FormulaCPrinter`` prints it so. Reserved here are:

* the keywords of C89 to C23 and GNU C (``asm``, ``typeof``);
* every name ``<math.h>`` and ``<stdlib.h>`` declare or define in C99, C11 and C23, with
  the float and long double variants of each math function (``sinf``, ``sinl``), and the
  extensions glibc's headers add in their default mode (``j0``, ``drem``, ``alloca``,
  ``random``, the ``W*`` status macros, the endian macros, the ``sys/types.h`` names);
* the macro families ``M_*``, ``FP_*``, ``HUGE_VAL*``, ``MATH_*``, and the system names
  GCC predefines outside strict ISO mode (``linux``, ``unix``, ``i386``, ...);
* identifiers beginning with an underscore (``_X`` and ``__x`` are reserved everywhere,
  ``_x`` at file scope): these get a ``v`` in front (``sd.var`` refuses them anyway).

No reserved name ends with an underscore, so a mangled name is never reserved.
``tests/reliability/test_generated_names.py`` compiles and calls code using every name the local
``math.h`` and ``stdlib.h`` define or declare.

Imports only the standard library.

>>> c_identifiers(["x", "pow", "pow_", "HUGE_VALF", "int"])
{'x': 'x', 'pow': 'pow__', 'pow_': 'pow_', 'HUGE_VALF': 'HUGE_VALF_', 'int': 'int_'}
"""
from __future__ import annotations

import re
from typing import Iterable

C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto
    if int long register return short signed sizeof static struct switch typedef union
    unsigned void volatile while inline restrict _Bool _Complex _Imaginary _Alignas
    _Alignof _Atomic _Generic _Noreturn _Static_assert _Thread_local alignas alignof bool
    constexpr false nullptr static_assert thread_local true typeof typeof_unqual _BitInt
    _Decimal32 _Decimal64 _Decimal128 asm
""".split())
"""C89 to C23 keywords, and GNU C's ``asm`` and ``typeof``."""

MATH_FUNCTIONS = frozenset("""
    acos asin atan atan2 cos sin tan acosh asinh atanh cosh sinh tanh exp exp2 expm1 frexp
    ilogb ldexp log log10 log1p log2 logb modf scalbn scalbln cbrt fabs hypot pow sqrt erf
    erfc lgamma tgamma ceil floor nearbyint rint lrint llrint round lround llround trunc
    fmod remainder remquo copysign nan nextafter nexttoward fdim fmax fmin fma
    acospi asinpi atanpi atan2pi cospi sinpi tanpi exp10 exp10m1 exp2m1 log10p1 log2p1
    logp1 compoundn pown powr rootn rsqrt roundeven fromfp ufromfp fromfpx ufromfpx
    fmaximum fminimum fmaximum_mag fminimum_mag fmaximum_num fminimum_num fmaximum_mag_num
    fminimum_mag_num nextup nextdown canonicalize llogb fmaxmag fminmag totalorder
    totalordermag getpayload setpayload setpayloadsig
    drem finite gamma j0 j1 jn y0 y1 yn lgamma_r gamma_r scalb significand sincos pow10
    matherr isinf isnan
""".split())
"""``math.h``'s functions (C99, C11, C23, and glibc's): each also with ``f`` and ``l``."""

MATH_NAMES = frozenset("""
    fpclassify isfinite isinf isnan isnormal signbit isgreater isgreaterequal isless
    islessequal islessgreater isunordered iscanonical iseqsig issignaling issubnormal
    iszero fadd dadd fsub dsub fmul dmul fdiv ddiv ffma dfma fsqrt dsqrt
    HUGE_VAL HUGE_VALF HUGE_VALL INFINITY NAN math_errhandling float_t double_t signgam
    DOMAIN SING OVERFLOW UNDERFLOW TLOSS PLOSS X_TLOSS MAXFLOAT exception
""".split())
"""``math.h``'s other names: classification macros, constants, types."""

STDLIB_NAMES = frozenset("""
    size_t wchar_t div_t ldiv_t lldiv_t NULL EXIT_FAILURE EXIT_SUCCESS RAND_MAX MB_CUR_MAX
    atof atoi atol atoll strtod strtof strtold strtol strtoll strtoul strtoull rand srand
    aligned_alloc calloc free malloc realloc abort atexit at_quick_exit exit getenv
    quick_exit system bsearch qsort abs labs llabs div ldiv lldiv mblen mbtowc wctomb
    mbstowcs wcstombs free_sized free_aligned_sized memalignment strfromd strfromf
    strfroml once_flag call_once ONCE_FLAG_INIT
    a64l l64a alloca arc4random arc4random_buf arc4random_uniform clearenv drand48 erand48
    lrand48 nrand48 mrand48 jrand48 srand48 seed48 lcong48 drand48_r erand48_r lrand48_r
    nrand48_r mrand48_r jrand48_r srand48_r seed48_r lcong48_r drand48_data ecvt fcvt gcvt
    qecvt qfcvt qgcvt ecvt_r fcvt_r qecvt_r qfcvt_r getloadavg getsubopt initstate
    setstate random srandom random_r srandom_r initstate_r setstate_r random_data rand_r
    mkdtemp mkstemp mkstemps mkostemp mkostemps mktemp on_exit posix_memalign putenv
    setenv unsetenv secure_getenv realpath canonicalize_file_name reallocarray rpmatch
    strtoq strtouq valloc pvalloc memalign ptsname grantpt unlockpt posix_openpt
    getpt mbrtowc
    WCONTINUED WEXITED WEXITSTATUS WIFCONTINUED WIFEXITED WIFSIGNALED WIFSTOPPED WNOHANG
    WNOWAIT WSTOPPED WSTOPSIG WTERMSIG WUNTRACED WCOREDUMP
    BIG_ENDIAN LITTLE_ENDIAN PDP_ENDIAN BYTE_ORDER htobe16 htobe32 htobe64 htole16 htole32
    htole64 be16toh be32toh be64toh le16toh le32toh le64toh
    FD_CLR FD_ISSET FD_SET FD_SETSIZE FD_ZERO NFDBITS fd_set fd_mask select pselect
    major minor makedev
    blkcnt_t blksize_t caddr_t clock_t clockid_t daddr_t dev_t fsblkcnt_t fsfilcnt_t
    fsid_t gid_t id_t ino_t int8_t int16_t int32_t int64_t key_t loff_t mode_t nlink_t
    off_t pid_t quad_t register_t sigset_t ssize_t suseconds_t time_t timer_t u_char
    u_int u_int8_t u_int16_t u_int32_t u_int64_t u_long u_quad_t u_short uid_t uint ulong
    ushort useconds_t timespec timeval
    pthread_attr_t pthread_barrier_t pthread_barrierattr_t pthread_cond_t
    pthread_condattr_t pthread_key_t pthread_mutex_t pthread_mutexattr_t pthread_once_t
    pthread_rwlock_t pthread_rwlockattr_t pthread_spinlock_t pthread_t
""".split())
"""``stdlib.h``'s names (C99 to C23), and what glibc's ``stdlib.h`` adds by default."""

PREDEFINED = frozenset("""
    linux unix i386 i486 i586 i686 sun sparc mips vax m68k mc68000 hppa pdp11 ns32000
    sequent pyr tahoe ultrix bsd4_2 bsd4_3 apollo gcos ibm032 u3b u3b2 u3b5 u3b15 u3b20d
    interdata
""".split())
"""System names GCC and older compilers predefine as macros outside strict ISO mode."""

C_RESERVED = C_KEYWORDS | MATH_FUNCTIONS | MATH_NAMES | STDLIB_NAMES | PREDEFINED | \
    frozenset(n + s for n in MATH_FUNCTIONS for s in ("f", "l"))
"""Every name ``c_reserved`` refuses by the list (the patterns add the macro families)."""

_FAMILIES = re.compile(r"(?:M_|FP_|MATH_|HUGE_VAL)\w*")


def c_reserved(name: str) -> bool:
    """Whether generated C cannot use ``name`` for a variable as it is.

    >>> [n for n in ["x", "pow", "sinf", "M_LN2", "FP_NAN", "M", "_q", "main"] if c_reserved(n)]
    ['pow', 'sinf', 'M_LN2', 'FP_NAN', '_q']
    """
    if name.endswith("_") and not name.startswith("_"):
        return False   # the mangled forms: no reserved name ends with "_"
    return name in C_RESERVED or name.startswith("_") or _FAMILIES.fullmatch(name) is not None


def c_identifiers(names: Iterable[str]) -> dict[str, str]:
    """Each name as generated C spells it: itself, or for a reserved name (``c_reserved``)
    the name with a trailing underscore (a ``v`` in front for a leading one), with more
    underscores until it is no other name's. In the order given."""
    names = list(names)
    taken = set(names)
    out: dict[str, str] = {}
    for n in names:
        if n in out:
            continue
        if not c_reserved(n):
            out[n] = n
            continue
        m = ("v" + n if n.startswith("_") else n) + "_"
        while m in taken:
            m += "_"
        taken.add(m)
        out[n] = m
    return out
