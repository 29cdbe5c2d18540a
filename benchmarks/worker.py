"""One training step timed in a fresh process, for benchmarks that need a process of their own (forced CPU device
counts, another allocator); prints one JSON line.

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python -m benchmarks.worker --config demo
"""

import argparse
import json
import sys

import jax

from benchmarks import configs
from benchmarks.common import Settings, page_faults, time_call
from benchmarks.overhead import run_config
from fsdiff.host_memory import use_fast_allocator
from fsdiff.training import DataParallel


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="demo", help="'demo' (the demo preset's model) or a reference name")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--meshes", help="comma-separated device counts to time in turn (default: all devices)")
    args = parser.parse_args(argv)
    use_fast_allocator()
    settings = Settings.make(args.quick)
    if args.config == "demo":
        model = run_config(args.quick)["model"]
        ref = configs.Reference(name="demo", description="the demo preset's model", model=model, batch_sets=8)
    else:
        ref = configs.find(args.config, args.quick)
    meshes = [len(jax.devices())] if args.meshes is None else [int(n) for n in args.meshes.split(",")]
    rows = [measure(ref, settings, jax.devices()[:n]) for n in meshes]
    sys.stdout.write(json.dumps(rows) + "\n")


def measure(ref: configs.Reference, settings: Settings, devices: list) -> dict:
    """The data-parallel step over ``devices``: the batch split along its sets, the state replicated."""
    parallel = DataParallel(devices)
    parallel.check_batch(ref.batch_sets)
    _, call, compile_s = configs.training_step(ref, parallel)
    before = page_faults()
    timing = time_call(call, settings)
    return {
        "config": ref.name,
        "devices": parallel.size,
        "process_devices": len(jax.devices()),
        "batch_sets": ref.batch_sets,
        "compile_s": compile_s,
        **{f"step_{k}": v for k, v in timing.as_dict().items()},
        "page_faults_per_step": (page_faults() - before) / (settings.warmup + settings.repeats),
    }


if __name__ == "__main__":
    main()
