"""The host memory allocator for training on CPU.

XLA's CPU runtime allocates a step's temporary buffers afresh on every call (hundreds of MiB for the reference
configurations), and glibc's malloc serves such blocks from fresh ``mmap`` regions that it unmaps on free: every
step then zero-fills ~100,000 new pages, which costs a quarter to a third of the step on 2 cores
(``benchmarks/RESULTS.md``, *Allocator*). An allocator that keeps freed memory removes that cost.

``use_fast_allocator`` is the first thing the ``fsdiff`` CLI and ``python -m benchmarks`` do. The environment
variable ``FSDIFF_ALLOCATOR`` chooses:

- ``auto`` (default): ``tcmalloc`` when a tcmalloc library is installed (Debian: ``libtcmalloc-minimal4``), else
  ``glibc``;
- ``tcmalloc``: re-execute the process with tcmalloc preloaded (``LD_PRELOAD``): same arguments, same PID (once:
  if the library still is not loaded after that, ``glibc``);
- ``glibc``: keep glibc's malloc but tune it to keep freed memory (``mallopt``: one arena, no ``mmap`` for large
  blocks, trimming only past 2 GiB free); it must run before JAX starts its CPU threads;
- ``system``: leave the allocator alone.

From Python, start the process with ``LD_PRELOAD`` set, or call ``use_fast_allocator()`` before any JAX
computation.
"""

import ctypes
import glob
import os
import sys

from fsdiff.errors import ConfigError

ENV = "FSDIFF_ALLOCATOR"
RELAUNCHED = "FSDIFF_ALLOCATOR_RELAUNCHED"
CHOICES = ("auto", "tcmalloc", "glibc", "system")
TCMALLOC_LIBRARIES = (
    "/usr/lib/*/libtcmalloc_minimal.so.4",
    "/usr/lib/*/libtcmalloc.so.4",
    "/usr/lib64/libtcmalloc_minimal.so.4",
    "/usr/local/lib/libtcmalloc_minimal.so*",
)

_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
_tuned_glibc = False


def use_fast_allocator() -> str:
    """Switch this process to the allocator ``FSDIFF_ALLOCATOR`` asks for (see the module docstring); returns
    ``allocator()``. Choosing tcmalloc re-executes the process (``sys.orig_argv``), so this returns only when
    tcmalloc is already loaded or another choice applies. Raises ``ConfigError`` for an unknown choice or a
    ``tcmalloc`` request without the library."""
    choice = os.environ.get(ENV, "auto")
    if choice not in CHOICES:
        raise ConfigError([(ENV, f"unknown allocator {choice!r} (environment); expected one of {', '.join(CHOICES)}")])
    if choice == "system" or allocator() == "tcmalloc":
        return allocator()
    library = tcmalloc_library()
    if choice == "tcmalloc" and library is None:
        raise ConfigError(
            [(ENV, f"{ENV}=tcmalloc but no tcmalloc library is installed (looked for {', '.join(TCMALLOC_LIBRARIES)})")]
        )
    if library is not None and choice != "glibc" and RELAUNCHED not in os.environ:
        preload = " ".join(filter(None, [library, os.environ.get("LD_PRELOAD")]))
        sys.stdout.flush()
        sys.stderr.flush()
        env = {**os.environ, "LD_PRELOAD": preload, RELAUNCHED: "1"}
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    tune_glibc()
    return allocator()


def allocator() -> str:
    """The allocator this process runs with: ``"tcmalloc"`` (loaded), ``"glibc"`` (tuned by ``tune_glibc``) or
    ``"system"``."""
    if _tcmalloc_loaded():
        return "tcmalloc"
    return "glibc" if _tuned_glibc else "system"


def tcmalloc_library() -> str | None:
    """The path of an installed tcmalloc shared library, or None."""
    return next((path for pattern in TCMALLOC_LIBRARIES for path in sorted(glob.glob(pattern))), None)


def tune_glibc() -> bool:
    """Make glibc's malloc keep freed memory: every thread allocates from the main heap (a thread's own arena
    would ``mmap`` any block over 64 MiB whatever the settings), large blocks come from the heap rather than
    ``mmap``, and the heap is trimmed only when over 2 GiB at its top is free. Threads started earlier keep their
    arenas, so call this before JAX's first computation. Returns False (and changes nothing) where the C library
    is not glibc."""
    global _tuned_glibc
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None) if sys.platform.startswith("linux") else None
    if mallopt is None:
        return False
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1))
    _tuned_glibc = all(mallopt(option, value) == 1 for option, value in settings)
    return _tuned_glibc


def _tcmalloc_loaded() -> bool:
    try:
        with open("/proc/self/maps") as maps:
            return any("libtcmalloc" in line for line in maps)
    except OSError:
        return False
