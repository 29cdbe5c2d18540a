"""Before/after of each performance change made to fsdiff while building this suite, timed round-robin in one run:
the training step traced with the previous implementation against the current one.

- ``attention``: ``fsdiff.nn.Attention`` used to call ``jax.nn.dot_product_attention`` on sequence-major
  ``"b q heads e"`` arrays; it now writes the same operations out head-major. ``legacy_attention`` below is the
  previous body, verbatim.
"""

import contextlib

import jax
import jax.numpy as jnp
from flax import nnx

from benchmarks import configs
from benchmarks.common import Settings, compile_timed, format_table, ratio, time_interleaved
from fsdiff.nn.attention import Attention
from fsdiff.training import TrainOptions, init_state, make_optimizer, make_train_step


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    names = ("A",) if settings.quick else ("A", "C1", "E")
    return [measure(configs.find(name, settings.quick), settings) for name in names]


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


@contextlib.contextmanager
def legacy():
    """Within the block, ``Attention`` runs its previous implementation."""
    current = Attention.__call__
    Attention.__call__ = legacy_attention
    try:
        yield
    finally:
        Attention.__call__ = current


def measure(ref: configs.Reference, settings: Settings) -> dict:
    model = configs.build(ref)
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    options = TrainOptions(steps=1000)
    optimizer = make_optimizer(options, params)
    state = init_state(params, optimizer)
    x = configs.batch(ref)
    key = jax.random.key(0)
    step = make_train_step(graphdef, rest, optimizer, options)
    after, _ = compile_timed(step, state, x, key)
    with legacy():
        before, _ = compile_timed(step, state, x, key)
    loss_after = float(after(state, x, key)[1]["loss"])
    loss_before = float(before(state, x, key)[1]["loss"])
    timings = time_interleaved(
        {"before": lambda: before(state, x, key), "after": lambda: after(state, x, key)}, settings
    )
    return {
        "change": "attention",
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
            ("loss_before", "loss before"),
            ("loss_after", "loss after"),
        ],
    )
