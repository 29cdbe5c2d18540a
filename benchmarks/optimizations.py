"""Before/after of the performance changes that are still behind a knob, timed round-robin in one run: the training
step traced with the knob set to the previous behaviour against the current one.

- ``vit_loo_chunks``: the later set-level blocks of ``ViTEncoder.leave_one_out`` used to run on all ``b * n``
  contexts at once; they now run a few contexts at a time (``fsdiff.encoders.vit.SCORES_PER_CHUNK``). Before: one
  chunk.
- ``flat_step``: the training loop used to call the step jitted on the ``TrainState`` (its ``nnx.Variable`` nodes
  flattened and rebuilt by every call); it now calls ``fsdiff.training.FlatStep``, the same step on the state's
  leaves. Same program: this is the Python side of a call, timed as the call plus its wait.

Changes that replaced code outright (the written-out attention, the shared first block of the ViT leave-one-out)
are measured against the git revision before them, not against a copy kept here: check that revision out in a
second worktree and run ``python -m benchmarks step`` in both (``benchmarks/RESULTS.md`` holds the numbers).
Each side is traced from a fresh ``make_train_step`` (JAX caches traces per function).
"""

import jax

from benchmarks import configs
from benchmarks.common import Settings, compile_timed, flops, format_table, ratio, time_interleaved
from fsdiff.encoders import vit
from fsdiff.training import FlatStep, make_train_step

BEFORE = {"vit_loo_chunks": 2**62}
"""change -> the value of its knob (``vit.SCORES_PER_CHUNK``) that restores the previous behaviour."""


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    rows = [] if settings.quick else [measure("vit_loo_chunks", configs.find("C", settings.quick), settings)]
    return [*rows, measure_flat_step(configs.find("A", settings.quick), settings)]


def measure(change: str, ref: configs.Reference, settings: Settings) -> dict:
    graphdef, rest, optimizer, options, state = configs.training(configs.build(ref))
    x = configs.batch(ref)
    key = jax.random.key(0)
    after, _ = compile_timed(make_train_step(graphdef, rest, optimizer, options), state, x, key)
    current, vit.SCORES_PER_CHUNK = vit.SCORES_PER_CHUNK, BEFORE[change]
    try:
        before, _ = compile_timed(make_train_step(graphdef, rest, optimizer, options), state, x, key)
    finally:
        vit.SCORES_PER_CHUNK = current
    loss_after = float(after(state, x, key)[1]["loss"])
    loss_before = float(before(state, x, key)[1]["loss"])
    timings = time_interleaved(
        {"before": lambda: before(state, x, key), "after": lambda: after(state, x, key)}, settings
    )
    return _row(change, ref, before, after, timings, loss_before, loss_after)


def measure_flat_step(ref: configs.Reference, settings: Settings) -> dict:
    graphdef, rest, optimizer, options, state = configs.training(configs.build(ref))
    x = configs.batch(ref)
    key = jax.random.key(0)
    step = make_train_step(graphdef, rest, optimizer, options)
    flat_step = FlatStep(step, state)
    leaves = flat_step.leaves(state)
    before, _ = compile_timed(step, state, x, key)
    after, _ = compile_timed(flat_step.flat, leaves, x, key)
    loss_before = float(before(state, x, key)[1]["loss"])
    loss_after = float(after(leaves, x, key)[1]["loss"])
    timings = time_interleaved(
        {"before": lambda: before(state, x, key), "after": lambda: after(leaves, x, key)}, settings
    )
    return _row("flat_step", ref, before, after, timings, loss_before, loss_after)


def _row(change, ref, before, after, timings, loss_before, loss_after) -> dict:
    return {
        "change": change,
        "gflop_before": flops(before) / 1e9,
        "gflop_after": flops(after) / 1e9,
        "config": ref.name,
        "before_ms": timings["before"].median_ms,
        "after_ms": timings["after"].median_ms,
        "speedup": ratio(timings["before"].median_ms, timings["after"].median_ms),
        "speedup_min": ratio(timings["before"].min_ms, timings["after"].min_ms),
        "loss_before": loss_before,
        "loss_after": loss_after,
    }


def table(rows: list[dict]) -> str:
    return format_table(
        "Optimisations: training step before vs after, same run (median ms)",
        rows,
        [
            ("change", "change"),
            ("config", "cfg"),
            ("before_ms", "before"),
            ("after_ms", "after"),
            ("speedup", "speed-up"),
            ("speedup_min", "(min)"),
            ("gflop_before", "GFLOP before"),
            ("gflop_after", "GFLOP after"),
            ("loss_before", "loss before"),
            ("loss_after", "loss after"),
        ],
    )
