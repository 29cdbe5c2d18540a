"""The optimizer: AdamW with warm-up + cosine decay, global-norm clipping and per-module learning rates."""

import jax
import optax

from fsdiff.errors import ConfigError
from fsdiff.training.options import TrainOptions

MODULES = ("encoder", "conditioner", "denoiser")


def make_optimizer(options: TrainOptions, params) -> optax.GradientTransformation:
    """AdamW for ``params`` (an ``nnx.State`` of the model's parameters), one learning-rate multiplier per top-level
    module through ``optax.multi_transform``.

    A multiplier of 0 maps that module to ``optax.set_to_zero``: its parameters never move and carry no Adam
    state (a research port scaled the gradients instead, which Adam's normalisation cancels). Weight decay
    applies to weight matrices (ndim >= 2) only.
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


def learning_rate(options: TrainOptions, scale: float = 1.0) -> optax.Schedule:
    """Linear warm-up to ``scale * lr``, then cosine decay to ``final_lr_fraction`` of it at ``steps``."""
    peak = scale * options.lr
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=peak,
        warmup_steps=options.warmup,
        decay_steps=max(options.steps, options.warmup + 1),
        end_value=peak * options.final_lr_fraction,
    )


def _adamw(options: TrainOptions, scale: float) -> optax.GradientTransformation:
    return optax.adamw(
        learning_rate(options, scale),
        weight_decay=options.weight_decay,
        mask=lambda params: jax.tree.map(lambda p: p.ndim >= 2, params),
    )


def _module_of(path) -> str:
    name = str(getattr(path[0], "key", path[0]))
    return name if name in MODULES else "denoiser"
