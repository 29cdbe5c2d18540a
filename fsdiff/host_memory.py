"""The host memory allocator for training on CPU.

XLA's CPU runtime allocates a step's temporary buffers afresh on every call (hundreds of MiB for the reference
configurations), and glibc's malloc serves such blocks from fresh ``mmap`` regions that it unmaps on free: every
step then zero-fills ~100,000 new pages, which costs a quarter to a third of the step on 2 cores
(``benchmarks/RESULTS.md``, *Allocator*). An allocator that keeps freed memory removes that cost.

``use_fast_allocator`` is the first thing the ``fsdiff`` CLI and ``python -m benchmarks`` do. The environment
variable ``FSDIFF_ALLOCATOR`` chooses:

- ``auto`` (default): ``mimalloc`` where its library is installed (fsdiff depends on the ``cmeel-mimalloc`` wheel on
  Linux x86-64 and aarch64), else ``tcmalloc`` where a tcmalloc library is installed (Debian:
  ``libtcmalloc-minimal4``), else ``glibc``;
- ``mimalloc`` or ``tcmalloc``: re-execute the process with that library preloaded (``LD_PRELOAD``): same
  arguments, same PID (once: if the library still is not loaded after that, ``glibc``); mimalloc is told never to
  return freed memory to the system (``MIMALLOC_PURGE_DELAY=-1`` unless the environment sets it);
- ``glibc``: keep glibc's malloc but tune it to keep freed memory (``mallopt``: one arena, no ``mmap`` for large
  blocks, trimming only past 2 GiB free); it must run before JAX starts its CPU threads;
- ``system``: leave the allocator alone.

From Python, start the process with ``LD_PRELOAD`` set, or call ``use_fast_allocator()`` before any JAX
computation.
"""

import ctypes
import glob
import importlib.metadata
import os
import sys

from fsdiff.errors import ConfigError

ENV = "FSDIFF_ALLOCATOR"
RELAUNCHED = "FSDIFF_ALLOCATOR_RELAUNCHED"
PRELOADED = ("mimalloc", "tcmalloc")  # in the order ``auto`` prefers them
CHOICES = ("auto", *PRELOADED, "glibc", "system")
TCMALLOC_LIBRARIES = (
    "/usr/lib/*/libtcmalloc_minimal.so.4",
    "/usr/lib/*/libtcmalloc.so.4",
    "/usr/lib64/libtcmalloc_minimal.so.4",
    "/usr/local/lib/libtcmalloc_minimal.so*",
)
MIMALLOC_OPTIONS = {"MIMALLOC_PURGE_DELAY": "-1"}
_WHERE = {
    "mimalloc": "pip install cmeel-mimalloc",
    "tcmalloc": f"looked for {', '.join(TCMALLOC_LIBRARIES)}; Debian: apt install libtcmalloc-minimal4",
}

_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
_tuned_glibc = False


def use_fast_allocator() -> str:
    """Switch this process to the allocator ``FSDIFF_ALLOCATOR`` asks for (see the module docstring); returns
    ``allocator()``. Choosing mimalloc or tcmalloc re-executes the process (``sys.orig_argv``), so this returns only
    when that library is already loaded or another choice applies. Raises ``ConfigError`` for an unknown choice or
    a request for a library that is not installed."""
    choice = os.environ.get(ENV, "auto")
    if choice not in CHOICES:
        raise ConfigError([(ENV, f"unknown allocator {choice!r} (environment); expected one of {', '.join(CHOICES)}")])
    if choice == "system" or allocator() in PRELOADED:
        return allocator()
    libraries = {name: library(name) for name in PRELOADED}
    if choice in PRELOADED and libraries[choice] is None:
        raise ConfigError([(ENV, f"{ENV}={choice} but no {choice} library is installed ({_WHERE[choice]})")])
    preferred = choice if choice in PRELOADED else next((n for n in PRELOADED if libraries[n]), None)
    if choice != "glibc" and preferred is not None and RELAUNCHED not in os.environ:
        _relaunch(preferred, libraries[preferred])
    tune_glibc()
    return allocator()


def allocator() -> str:
    """The allocator this process runs with: ``"mimalloc"`` or ``"tcmalloc"`` (loaded), ``"glibc"`` (tuned by
    ``tune_glibc``) or ``"system"``."""
    loaded = _loaded_libraries()
    for name in PRELOADED:
        if f"lib{name}" in loaded:
            return name
    return "glibc" if _tuned_glibc else "system"


def library(name: str) -> str | None:
    """The path of the installed shared library of ``name`` (one of ``PRELOADED``), or None."""
    if name == "tcmalloc":
        return next((path for pattern in TCMALLOC_LIBRARIES for path in sorted(glob.glob(pattern))), None)
    try:
        files = importlib.metadata.files("cmeel-mimalloc") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    found = (str(file.locate()) for file in files if file.name.startswith("libmimalloc.so."))
    return next((path for path in sorted(found) if os.path.exists(path)), None)


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


def _relaunch(name: str, path: str) -> None:
    """Re-execute this process (same arguments, same PID) with ``path`` preloaded."""
    preload = " ".join(filter(None, [path, os.environ.get("LD_PRELOAD")]))
    options = MIMALLOC_OPTIONS if name == "mimalloc" else {}
    sys.stdout.flush()
    sys.stderr.flush()
    env = {**options, **os.environ, "LD_PRELOAD": preload, RELAUNCHED: "1"}
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def _loaded_libraries() -> str:
    try:
        with open("/proc/self/maps") as maps:
            return maps.read()
    except OSError:
        return ""
