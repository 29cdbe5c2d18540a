"""One part of ``python -m benchmarks --device`` in a process of its own; appends a JSON row to ``--out`` as soon
as each figure exists.

    python -m benchmarks.device_worker --out rows.jsonl matmul
    python -m benchmarks.device_worker --out rows.jsonl step A bfloat16 64   # 64 sets a batch
"""

import argparse
import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp

from benchmarks import configs
from benchmarks.common import Settings, compile_timed, flops, memory, time_call
from benchmarks.device import append_row, read_rows
from fsdiff.nn.attention import fused_implementation
from fsdiff.nn.precision import COMPUTE_DTYPES
from fsdiff.training import FlatStep, make_train_step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.device_worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file the rows are appended to")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a CPU smoke run)")
    parser.add_argument("part", choices=["matmul", "step"])
    parser.add_argument("config", nargs="?", help="step: a reference config name (A, C1)")
    parser.add_argument("dtype", nargs="?", choices=list(COMPUTE_DTYPES), help="step: the compute dtype")
    parser.add_argument("sets", nargs="?", type=int, help="step: sets a batch")
    args = parser.parse_args(argv)
    settings = Settings(quick=args.quick, warmup=1, repeats=2) if args.quick else Settings(quick=False, warmup=3,
                                                                                          repeats=20)  # fmt: skip
    if args.part == "matmul":
        append_row(args.out, {"part": "matmul", **matmul_rates(settings)})
        return
    bf16_tflops = next((r["bf16_tflops"] for r in read_rows(args.out) if "bf16_tflops" in r), None)
    ref = configs.find(args.config, args.quick)
    ref = dataclasses.replace(ref, batch_sets=args.sets, model={**ref.model, "compute_dtype": args.dtype})
    append_row(
        args.out, {"part": f"step {args.config} {args.dtype} {args.sets}", **step_row(ref, settings, bf16_tflops)}
    )


def matmul_rates(settings: Settings) -> dict:
    """The device's bfloat16 and float32 ``n x n`` matmul rates in TFLOP/s (best of the repeats; ``n`` 8192, 256
    in quick mode): the roofline the steps' MFU is measured against."""
    n = 256 if settings.quick else 8192
    rates = {}
    for name, dtype in (("bf16_tflops", jnp.bfloat16), ("f32_tflops", jnp.float32)):
        a = jax.random.normal(jax.random.key(0), (n, n), dtype)
        b = jax.random.normal(jax.random.key(1), (n, n), dtype)
        product, _ = compile_timed(jnp.matmul, a, b)
        timing = time_call(lambda p=product, a=a, b=b: p(a, b), settings)
        rates[name] = 2.0 * n**3 / (timing.min_ms / 1e3) / 1e12
    return {"device": str(jax.devices()[0]), "backend": jax.default_backend(), "n": n, **rates}


def step_row(ref: configs.Reference, settings: Settings, bf16_tflops: float | None) -> dict:
    """``ref``'s training step as the loop runs it, in its compute dtype: time, throughput, FLOPs, MFU, memory."""
    dtype = COMPUTE_DTYPES[ref.model["compute_dtype"]]
    model = configs.build(ref)
    graphdef, rest, optimizer, options, state = configs.training(model)
    x, key = configs.batch(ref), jax.random.key(0)
    flat = FlatStep(make_train_step(graphdef, rest, optimizer, options), state)
    step, compile_s = compile_timed(flat.flat, flat.leaves(state), x, key, donate_argnums=0)
    holder = [flat.leaves(state)]

    def call():
        holder[0], metrics = step(holder[0], x, key)
        return metrics

    timing = time_call(call, settings)
    step_flops = flops(step)
    achieved = step_flops / (timing.median_ms / 1e3) / 1e12 if step_flops else None
    head_dim = ref.model["encoder"].get("head_dim") or ref.model["encoder"]["width"] // ref.model["encoder"]["heads"]
    backend = jax.default_backend()
    return {
        "config": ref.name,
        "compute_dtype": ref.model["compute_dtype"],
        "batch_sets": ref.batch_sets,
        "step_ms": timing.median_ms,
        "step_min_ms": timing.min_ms,
        "images_per_s": ref.batch_sets * ref.model["set_size"] / (timing.median_ms / 1e3),
        "compile_s": compile_s,
        "tflop_per_step": step_flops / 1e12 if step_flops else None,
        "achieved_tflops": achieved,
        "mfu": achieved / bf16_tflops if achieved and bf16_tflops else None,
        "attention": "written" if backend == "cpu" else fused_implementation(dtype, head_dim, backend) or "xla",
        **memory(step),
    }


if __name__ == "__main__":
    main()
