"""Python overhead of the real training loop: ``fsdiff.training.train`` (data sampling, device transfer, metrics,
progress, finiteness checks) against the bare jitted step on the same batches, already on the device.

The loop's rate comes from its own ``metrics.jsonl`` (images/s between log lines), skipping the first interval
(compilation). The bare step is timed before and after the loop (only before in quick mode), and the two are
averaged, since the runs cannot be interleaved. That difference is noisy on a shared machine, so the loop's own
per-step host work (sampling the batch, placing it on the devices, the step's key: what the loop does besides
dispatching the step) is also timed on its own, as a fraction of the bare step: an upper bound on the overhead,
since JAX dispatches the step asynchronously and the loop prepares the next batch while the step runs. The time
a step call takes to return (the Python side of JAX's dispatch, ``FlatStep``) is reported the same way.
"""

import tempfile
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from benchmarks.common import Settings, format_table
from fsdiff.data import SetSampler
from fsdiff.presets import load_config
from fsdiff.runs import Run, run_splits, train
from fsdiff.training import DataParallel, FlatStep, make_optimizer, make_train_step, new_training
from fsdiff.training.options import fill_run_config

REPEATS = 2


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    config = run_config(settings.quick)
    host_ms = host_ms_per_step(config)
    bare_before, dispatch_ms = bare_step_ms(config)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        train(config, Path(out) / "run", progress=False)
        total_s = time.perf_counter() - started
        rows = Run(Path(out) / "run").metrics()
    bare_after = bare_before if settings.quick else bare_step_ms(config)[0]
    images_per_step = config["train"]["batch_sets"] * config["model"]["set_size"]
    loop_ms = float(np.median([1e3 * images_per_step / row["images_per_s"] for row in rows[1:]]))
    bare_ms = (bare_before + bare_after) / 2
    return [
        {
            "config": "demo preset" + (" (tiny)" if settings.quick else ""),
            "steps": config["train"]["steps"],
            "loop_ms_per_step": loop_ms,
            "bare_ms_per_step": bare_ms,
            "bare_before_ms": bare_before,
            "bare_after_ms": bare_after,
            "loop_steps_per_s": 1e3 / loop_ms,
            "bare_steps_per_s": 1e3 / bare_ms,
            "overhead_fraction": loop_ms / bare_ms - 1.0,
            "host_ms_per_step": host_ms,
            "host_fraction": host_ms / bare_ms,
            "dispatch_ms_per_step": dispatch_ms,
            "dispatch_fraction": dispatch_ms / bare_ms,
            "train_call_s": total_s,
        }
    ]


def run_config(quick: bool) -> dict:
    """The demo preset (kanji glyphs, a CNN encoder, a small DiT) with 4 sets a batch, a checkpoint at the end only
    and every class for training (so no sample grids); in quick mode a tiny model on 16x16 glyphs of 50 classes."""
    config = load_config("demo")
    steps, log_every = (32, 8) if quick else (30, 5)
    config["train"] = {
        **config["train"],
        "steps": steps,
        "log_every": log_every,
        "checkpoint_every": steps,
        "sample_every": steps,
        "val_classes": 0,  # no held-out classes: no sample grid, whose sampler would only add compile time
        "test_classes": 0,
        "batch_sets": 4,  # half the preset's batch: a shorter step, where the loop's own cost shows more
    }
    if quick:
        config["model"] = {
            **config["model"],
            "image_shape": [16, 16, 1],
            "set_size": 3,
            "encoder": {"type": "cnn", "width": 16, "channels": 8, "depth": 1},
            "denoiser": {"type": "dit", "width": 32, "depth": 1, "heads": 2, "patch": 4},
        }
        config["data"] = {**config["data"], "size": 16, "max_classes": 50}
        config["train"]["batch_sets"] = 2
    return fill_run_config(config)


def host_ms_per_step(config: dict) -> float:
    """Median ms of the loop's per-step host work: ``SetSampler.batch``, ``DataParallel.batch`` (its transfer
    waited for) and ``fold_in``, as ``fsdiff.training.train`` calls them."""
    options = config["train"]
    sampler = SetSampler(
        run_splits(config).train, set_size=config["model"]["set_size"], batch_size=options["batch_sets"], seed=0
    )
    parallel = DataParallel()
    base = jax.random.key(0)
    times = []
    for s in range(options["steps"]):
        started = time.perf_counter()
        jax.block_until_ready((parallel.batch(sampler.batch(s)), jax.random.fold_in(base, s)))
        times.append(1e3 * (time.perf_counter() - started))
    return float(np.median(times[1:]))


def bare_step_ms(config: dict) -> tuple[float, float]:
    """ms per step of the jitted step alone over the loop's batches (placed on the device beforehand), one dispatch
    after another and a single wait at the end, as the loop runs them; the median of ``REPEATS`` passes. Also the
    median ms a call takes to return (JAX dispatches asynchronously: the Python side of the call)."""
    model, state, options = new_training(config)
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    step = FlatStep(make_train_step(graphdef, rest, make_optimizer(options, params), options), state)
    leaves = step.leaves(state)
    sampler = SetSampler(
        run_splits(config).train, set_size=config["model"]["set_size"], batch_size=options.batch_sets, seed=options.seed
    )
    batches = [jax.device_put(sampler.batch(s)) for s in range(options.steps)]
    base = jax.random.key(options.seed)
    keys = [jax.random.fold_in(base, s) for s in range(options.steps)]
    skip = config["train"]["log_every"]  # the loop's first interval (compilation) is not counted either
    for s in range(skip):
        leaves, metrics = step(leaves, batches[s], keys[s])
    jax.block_until_ready(metrics)
    rates, dispatch = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        for s in range(skip, options.steps):
            called = time.perf_counter()
            leaves, metrics = step(leaves, batches[s], keys[s])
            dispatch.append(1e3 * (time.perf_counter() - called))
        jax.block_until_ready((leaves, metrics))
        rates.append(1e3 * (time.perf_counter() - started) / (options.steps - skip))
    return float(np.median(rates)), float(np.median(dispatch))


def table(rows: list[dict]) -> str:
    return format_table(
        "Python overhead of fsdiff.training.train vs the bare jitted step (same batches)",
        rows,
        [
            ("config", "config"),
            ("loop_ms_per_step", "loop ms"),
            ("bare_ms_per_step", "bare ms"),
            ("loop_steps_per_s", "loop step/s"),
            ("bare_steps_per_s", "bare step/s"),
            ("overhead_fraction", "overhead"),
            ("host_ms_per_step", "host ms"),
            ("host_fraction", "host / bare"),
            ("dispatch_ms_per_step", "dispatch ms"),
            ("dispatch_fraction", "dispatch / bare"),
        ],
    )
