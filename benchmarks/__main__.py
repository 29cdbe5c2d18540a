"""Run the benchmark suite: print a table per section and write every figure as JSON.

    python -m benchmarks                       # the reference configurations (about 15 minutes on 2 cores)
    python -m benchmarks --quick               # tiny sizes, few repeats: a smoke run (under a minute)
    python -m benchmarks --only step,loo --out results.json
    python -m benchmarks --device --out device.jsonl  # one accelerator, about 5 minutes (benchmarks/DEVICE.md)

Like the ``fsdiff`` CLI, the suite first switches to the host allocator ``FSDIFF_ALLOCATOR`` asks for (default:
mimalloc, else tcmalloc when installed, else glibc tuned to keep freed memory; ``fsdiff.host_memory``), so the
figures are those of training with ``fsdiff train``; the ``allocator`` section compares the choices.
(``main(argv)`` called from Python leaves the calling process's allocator alone.)

Sections: ``machine`` (the float32 matmul roofline), ``step``, ``loo``, ``contracts``, ``sampling``, ``overhead``,
``sharded``, ``allocator``, ``optimizations``; each is a module of this package with ``run`` and ``table``.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import jax

from benchmarks import allocator, contracts, device, loo, optimizations, overhead, sampling, sharded, step
from benchmarks.common import Settings, format_table, matmul_gflops
from fsdiff import host_memory

SECTIONS = {
    "step": step,
    "loo": loo,
    "contracts": contracts,
    "sampling": sampling,
    "overhead": overhead,
    "sharded": sharded,
    "allocator": allocator,
    "optimizations": optimizations,
}


def main(argv: list[str] | None = None) -> dict:
    args = _parser().parse_args(argv)
    if args.device:
        return {"device": device.main(args.out or Path("device.jsonl"), quick=args.quick, budget_s=args.budget)}
    only = list(SECTIONS) if args.only is None else args.only.split(",")
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        raise SystemExit(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    chosen = host_memory.use_fast_allocator() if argv is None else host_memory.allocator()
    settings = Settings.make(args.quick)
    if args.quick:
        _share_compilations()
    started = time.perf_counter()
    machine = {
        "matmul_gflops": matmul_gflops(settings),
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "allocator": chosen,
        "load_average": list(os.getloadavg()),
        "gpu": any(d.platform == "gpu" for d in jax.devices()),
        "jax": jax.__version__,
        "python": platform.python_version(),
    }
    results = {"command": " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])}
    results["quick"] = args.quick
    results["compilation_cache"] = jax.config.jax_compilation_cache_dir
    results["machine"] = machine
    _emit(
        format_table(
            "Machine",
            [machine],
            [("matmul_gflops", "matmul GFLOP/s"), ("cpu_count", "cores"), ("allocator", "allocator")],
        )
    )
    section_s = {}
    for name in only:
        begun = time.perf_counter()
        module = SECTIONS[name]
        rows = module.run(settings, machine)
        section_s[name] = time.perf_counter() - begun
        results[name] = rows
        _emit(module.table(rows) + f"\n({section_s[name]:.0f} s)")
        if args.out:  # written after every section, so a long run leaves what it has measured
            args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    results["seconds"] = {**section_s, "total": time.perf_counter() - started}
    machine["load_average_after"] = list(os.getloadavg())
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def _share_compilations() -> None:
    """Quick mode: a persistent compilation cache (this process's and its workers'), so the tiny programs that
    several sections build compile once; compile times then include cache hits."""
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="fsdiff-bench-cache-"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _emit(text: str) -> None:
    sys.stdout.write(text + "\n\n")
    sys.stdout.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (a smoke run)")
    parser.add_argument("--out", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--only", help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})")
    parser.add_argument(
        "--device",
        action="store_true",
        help="instead, the bounded accelerator run (benchmarks/device.py); --out is then JSON lines (device.jsonl)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        help=f"--device: seconds for all parts (default {device.BUDGET_S:.0f}, --quick {device.QUICK_BUDGET_S:.0f})",
    )
    return parser


if __name__ == "__main__":
    main()
