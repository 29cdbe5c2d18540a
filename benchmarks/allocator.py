"""Memory allocation: XLA's CPU runtime allocates a step's temporaries afresh every call, and glibc's malloc
returns large blocks to the system, so every step touches fresh pages (``page_faults_per_step``, each zero-filled
by the kernel). The same step in fresh processes with each ``FSDIFF_ALLOCATOR`` choice (``fsdiff.host_memory``):
glibc untouched (``system``), glibc tuned to keep freed memory (``glibc``), mimalloc preloaded (``mimalloc``, from
the ``cmeel-mimalloc`` wheel fsdiff depends on) and tcmalloc preloaded (``tcmalloc``, where a tcmalloc library is
installed; Debian: ``libtcmalloc-minimal4``), in two alternating rounds, for config A and the demo's model. The
quick mode times only this process.
"""

import jax

from benchmarks import configs
from benchmarks.common import Settings, format_table, ratio
from benchmarks.sharded import worker
from benchmarks.worker import measure
from fsdiff.host_memory import ENV, MIMALLOC_OPTIONS, PRELOADED, allocator, library

ROUNDS = 2  # the choices alternate, so a change in the machine's load shows as a difference between rounds
CONFIGS = ("A", "demo")


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    if settings.quick:
        return [{"allocator": allocator(), **measure(configs.find("A", quick=True), settings, jax.devices()[:1])}]
    libraries = {name: library(name) for name in PRELOADED}
    rows = []
    for round_ in range(1, ROUNDS + 1):
        for config in CONFIGS:
            system = None
            for choice in ("system", "glibc", *PRELOADED):
                if choice in PRELOADED and libraries[choice] is None:
                    rows.append({"round": round_, "allocator": choice, "skipped": f"no {choice} library installed"})
                    continue
                preload = libraries.get(choice) or ""
                options = MIMALLOC_OPTIONS if choice == "mimalloc" else {}
                [row] = worker(["--config", config], env={ENV: choice, "LD_PRELOAD": preload, **options})
                row = {"round": round_, "allocator": choice, "library": preload or None, **row}
                system = system or row
                row["speedup_vs_system"] = ratio(system["step_median_ms"], row["step_median_ms"])
                rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    return format_table(
        "Allocator: the same step in a fresh process with each FSDIFF_ALLOCATOR choice",
        rows,
        [
            ("round", "round"),
            ("allocator", "allocator"),
            ("config", "cfg"),
            ("step_median_ms", "median ms"),
            ("step_min_ms", "min ms"),
            ("page_faults_per_step", "faults/step"),
            ("speedup_vs_system", "speed-up"),
            ("skipped", "skipped"),
        ],
    )
