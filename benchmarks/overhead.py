"""Python overhead of the real training loop: ``fsdiff.training.train`` (data sampling, device transfer, metrics,
progress, finiteness checks) against the bare jitted step on the same batches, already on the device.

The loop's rate comes from its own ``metrics.jsonl`` (images/s between log lines), skipping the first interval
(compilation). The bare step is timed before and after the loop (only before in quick mode), and the two are
averaged, since the runs cannot be interleaved.
"""

import json
import tempfile
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from benchmarks.common import Settings, format_table
from fsdiff.data import SetSampler
from fsdiff.presets import read_config
from fsdiff.training import make_optimizer, make_train_step, new_training, train
from fsdiff.training.options import fill_run_config
from fsdiff.training.run import METRICS, run_splits

REPEATS = 2


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    config = run_config(settings.quick)
    bare_before = bare_step_ms(config)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        train(config, Path(out) / "run", progress=False)
        total_s = time.perf_counter() - started
        rows = [json.loads(line) for line in (Path(out) / "run" / METRICS).read_text().splitlines()]
    bare_after = bare_before if settings.quick else bare_step_ms(config)
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
            "train_call_s": total_s,
        }
    ]


def run_config(quick: bool) -> dict:
    """The demo preset (kanji glyphs, a CNN encoder, a small DiT) with 4 sets a batch, a checkpoint at the end only
    and every class for training (so no sample grids); in quick mode a tiny model on 16x16 glyphs of 50 classes."""
    config = read_config("demo")
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
            "encoder": {"type": "cnn", "dim": 16, "width": 8, "depth": 1},
            "denoiser": {"type": "dit", "width": 32, "depth": 1, "heads": 2, "patch": 4},
        }
        config["data"] = {**config["data"], "size": 16, "max_classes": 50}
        config["train"]["batch_sets"] = 2
    return fill_run_config(config)


def bare_step_ms(config: dict) -> float:
    """ms per step of the jitted step alone over the loop's batches (placed on the device beforehand), one dispatch
    after another and a single wait at the end, as the loop runs them; the median of ``REPEATS`` passes."""
    model, state, options = new_training(config)
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    step = jax.jit(make_train_step(graphdef, rest, make_optimizer(options, params), options), donate_argnums=0)
    sampler = SetSampler(
        run_splits(config).train, set_size=config["model"]["set_size"], batch_size=options.batch_sets, seed=options.seed
    )
    batches = [jax.device_put(sampler.batch(s)) for s in range(options.steps)]
    base = jax.random.key(options.seed)
    keys = [jax.random.fold_in(base, s) for s in range(options.steps)]
    skip = config["train"]["log_every"]  # the loop's first interval (compilation) is not counted either
    for s in range(skip):
        state, metrics = step(state, batches[s], keys[s])
    jax.block_until_ready(metrics)
    rates = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        for s in range(skip, options.steps):
            state, metrics = step(state, batches[s], keys[s])
        jax.block_until_ready((state, metrics))
        rates.append(1e3 * (time.perf_counter() - started) / (options.steps - skip))
    return float(np.median(rates))


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
        ],
    )
