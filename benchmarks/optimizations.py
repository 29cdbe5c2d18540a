"""Before/after of each performance change made to fsdiff while building this suite, timed round-robin in one run:
the training step traced with the previous implementation against the current one.

- ``attention``: ``fsdiff.nn.Attention`` used to call ``jax.nn.dot_product_attention``; it now writes the same
  operations out (``fsdiff.nn.attention.attend``). ``legacy_attention`` below is the previous body, verbatim.
- ``vit_loo_block``: ``ViTEncoder.leave_one_out`` used to gather the other ``n - 1`` elements' tokens for each
  context and run every set-level block on each context; the first set-level block now shares its per-element
  work across the contexts (``TransformerBlock.leave_one_out``). ``legacy_vit_leave_one_out`` is the previous body.
- ``vit_loo_chunks``: the later set-level blocks of ``ViTEncoder.leave_one_out`` used to run on all ``b * n``
  contexts at once; they now run a few contexts at a time (``fsdiff.encoders.vit.SCORES_PER_CHUNK``). Before: one
  chunk.
- ``flat_step``: the training loop used to call the step jitted on the ``TrainState`` (its ``nnx.Variable`` nodes
  flattened and rebuilt by every call); it now calls ``fsdiff.training.FlatStep``, the same step on the state's
  leaves. Same program: this is the Python side of a call, timed as the call plus its wait.

Each side is traced from a fresh ``make_train_step`` (JAX caches traces per function).
"""

import contextlib

import jax
import jax.numpy as jnp

from benchmarks import configs
from benchmarks.common import Settings, compile_timed, flops, format_table, ratio, time_interleaved
from fsdiff.encoders import vit
from fsdiff.encoders.vit import ViTEncoder
from fsdiff.nn.attention import Attention
from fsdiff.nn.sets import others_index
from fsdiff.training import FlatStep, make_train_step


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    cases = [("vit_loo_block", "C1")]
    if not settings.quick:
        cases += [("vit_loo_chunks", "C"), ("attention", "A")]
    rows = [measure(change, configs.find(name, settings.quick), settings) for change, name in cases]
    return [*rows, measure_flat_step(configs.find("A", settings.quick), settings)]


def legacy_attention(self, x, context=None, mask=None):
    """``Attention.__call__`` before the change."""
    context = x if context is None else context
    b, q, _ = x.shape
    query = self.query(x).reshape(b, q, self.heads, self.head_dim)
    key, value = jnp.split(self.key_value(context).reshape(b, -1, 2 * self.heads, self.head_dim), 2, axis=2)
    scale = None
    if self.log_temperature is not None:
        query = query * jnp.exp(self.log_temperature[...])
        scale = 1.0
    heads_mask = None if mask is None else mask[:, None, :, :]
    attended = jax.nn.dot_product_attention(query, key, value, mask=heads_mask, scale=scale)
    return self.dropout(self.out(attended.reshape(b, q, self.heads * self.head_dim)))


def legacy_vit_leave_one_out(self, x, t=None):
    """``ViTEncoder.leave_one_out`` before the change."""
    b, n = x.shape[:2]
    tokens = self._embed_elements(jnp.asarray(x))
    others = tokens[:, others_index(n)].reshape(b * n, n - 1, *tokens.shape[2:])
    return self._encode_set(others, None, None if t is None else t.reshape(b * n))


LEGACY = {
    "attention": (Attention, "__call__", legacy_attention),
    "vit_loo_block": (ViTEncoder, "leave_one_out", legacy_vit_leave_one_out),
    "vit_loo_chunks": (vit, "SCORES_PER_CHUNK", 2**62),
}
"""change -> (owner, attribute, what it was before)."""


@contextlib.contextmanager
def legacy(change: str):
    """Within the block, the code that ``change`` replaced runs instead of the current one."""
    owner, name, previous = LEGACY[change]
    current = getattr(owner, name)
    setattr(owner, name, previous)
    try:
        yield
    finally:
        setattr(owner, name, current)


def measure(change: str, ref: configs.Reference, settings: Settings) -> dict:
    graphdef, rest, optimizer, options, state = configs.training(configs.build(ref))
    x = configs.batch(ref)
    key = jax.random.key(0)
    after, _ = compile_timed(make_train_step(graphdef, rest, optimizer, options), state, x, key)
    with legacy(change):
        before, _ = compile_timed(make_train_step(graphdef, rest, optimizer, options), state, x, key)
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
