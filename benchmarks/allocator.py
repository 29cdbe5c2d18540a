"""Memory allocation: XLA's CPU runtime allocates a step's temporaries afresh every call, and glibc's malloc
returns large blocks to the system, so every step touches fresh pages (``page_faults_per_step``, each zero-filled
by the kernel). The same step in a process with tcmalloc preloaded (``LD_PRELOAD``), which keeps freed memory,
shows what that costs. Skipped where no tcmalloc library is installed (Debian: ``libtcmalloc-minimal4``). The
quick mode times only the glibc side, in this process.
"""

import glob

import jax

from benchmarks import configs
from benchmarks.common import Settings, format_table, ratio
from benchmarks.sharded import worker
from benchmarks.worker import measure

TCMALLOC = ("/usr/lib/*/libtcmalloc_minimal.so.4", "/usr/lib/*/libtcmalloc.so.4", "/usr/lib/libtcmalloc*.so*")


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    library = next((path for pattern in TCMALLOC for path in sorted(glob.glob(pattern))), None)
    config = "A" if settings.quick else "A16"
    args = ["--config", config, *(["--quick"] if settings.quick else [])]
    if settings.quick:
        glibc = {"allocator": "glibc malloc", **measure(configs.find(config, quick=True), settings, jax.devices()[:1])}
        return [glibc, {"allocator": "tcmalloc", "library": library, "skipped": "quick mode"}]
    [glibc_row] = worker(args)
    glibc = {"allocator": "glibc malloc", **glibc_row}
    if library is None:
        return [glibc, {"allocator": "tcmalloc", "library": None, "skipped": "no tcmalloc library installed"}]
    [tcmalloc_row] = worker(args, env={"LD_PRELOAD": library})
    tcmalloc = {"allocator": "tcmalloc (LD_PRELOAD)", "library": library, **tcmalloc_row}
    tcmalloc["speedup_vs_glibc"] = ratio(glibc["step_median_ms"], tcmalloc["step_median_ms"])
    return [glibc, tcmalloc]


def table(rows: list[dict]) -> str:
    return format_table(
        "Allocator: the same step in a fresh process with glibc malloc vs tcmalloc",
        rows,
        [
            ("allocator", "allocator"),
            ("config", "cfg"),
            ("step_median_ms", "median ms"),
            ("step_min_ms", "min ms"),
            ("page_faults_per_step", "faults/step"),
            ("speedup_vs_glibc", "speed-up"),
        ],
    )
