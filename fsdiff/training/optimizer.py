"""The optimizer: AdamW with warm-up + cosine decay, global-norm clipping and per-module learning rates."""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Float, Int

from fsdiff.errors import ConfigError
from fsdiff.training.options import TrainOptions

MODULES = ("encoder", "conditioner", "denoiser")

LearningRate = Callable[[Int[ArrayLike, ""], Float[ArrayLike, ""]], Float[Array, ""]]
"""``learning_rate(step, progress)``: the rate of update ``step`` when ``progress`` of the run is done."""


def make_optimizer(options: TrainOptions, params) -> optax.GradientTransformationExtraArgs:
    """AdamW for ``params`` (an ``nnx.State`` of the model's parameters), one learning-rate multiplier per top-level
    module through ``optax.multi_transform``.

    ``update`` takes the rate as the extra argument ``learning_rate`` (from ``learning_rate(options)``) rather than
    counting steps itself, so that the loop decides how far the run is: by its steps, or by its clock under
    ``train.time_limit``. A multiplier of 0 maps that module to ``optax.set_to_zero``: its parameters never move and
    carry no Adam state (a research port scaled the gradients instead, which Adam's normalisation cancels). Weight
    decay applies to weight matrices (ndim >= 2) only.
    """
    unknown = set(options.lr_multipliers) - set(MODULES)
    if unknown:
        raise ConfigError(
            [(f"train.lr_multipliers.{k}", f"unknown module; known: {', '.join(MODULES)}") for k in sorted(unknown)]
        )
    transforms = {}
    for module in MODULES:
        scale = float(options.lr_multipliers.get(module, 1.0))
        transforms[module] = optax.set_to_zero() if scale == 0.0 else _adamw(options, scale)
    labels = jax.tree_util.tree_map_with_path(lambda path, _: _module_of(path), params)
    return optax.chain(optax.clip_by_global_norm(options.clip), optax.multi_transform(transforms, labels))


def learning_rate(options: TrainOptions) -> LearningRate:
    """Linear warm-up over the first ``warmup`` steps to ``lr``, then cosine decay to ``final_lr_fraction`` of it
    as ``progress`` (the fraction of the run done) goes to 1.

    With ``progress = step / steps`` this is ``optax.warmup_cosine_decay_schedule`` over ``steps``. A run under
    ``train.time_limit`` passes the larger of that and the fraction of its time spent, so a run that its clock
    stops still ends at the low rate: the decay follows the budget that binds, on a fast machine or a slow one.
    """
    end = options.lr * options.final_lr_fraction
    decay_steps = max(options.steps - options.warmup, 1)

    def rate(step: Int[ArrayLike, ""], progress: Float[ArrayLike, ""]) -> Float[Array, ""]:
        warm = jnp.minimum(1.0, jnp.asarray(step, jnp.float32) / options.warmup) if options.warmup else 1.0
        decayed = jnp.clip((progress * options.steps - options.warmup) / decay_steps, 0.0, 1.0)
        cosine = end + (options.lr - end) * 0.5 * (1.0 + jnp.cos(jnp.pi * decayed))
        return warm * cosine

    return rate


def _adamw(options: TrainOptions, scale: float) -> optax.GradientTransformationExtraArgs:
    """``optax.adamw`` with its rate read from the ``learning_rate`` extra argument, times ``scale``."""
    return optax.chain(
        optax.scale_by_adam(),
        optax.add_decayed_weights(options.weight_decay, mask=_weight_matrices),
        _scale_by_given_rate(scale),
    )


def _scale_by_given_rate(scale: float) -> optax.GradientTransformationExtraArgs:
    def update(updates, state, params=None, *, learning_rate, **extra_args):
        del params, extra_args
        return jax.tree.map(lambda u: jnp.asarray(-scale * learning_rate, u.dtype) * u, updates), state

    return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)


def _module_of(path) -> str:
    name = str(getattr(path[0], "key", path[0]))
    return name if name in MODULES else "denoiser"


def _weight_matrices(params):
    """True for the parameters weight decay applies to: matrices and kernels, not biases or norm scales."""
    return jax.tree.map(lambda p: p.ndim >= 2, params)
