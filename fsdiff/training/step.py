"""The pure training step."""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from fsdiff.nn.precision import COMPUTE_DTYPES, precision_scope
from fsdiff.training.optimizer import learning_rate
from fsdiff.training.options import TrainOptions
from fsdiff.training.state import TrainState
from fsdiff.typing import SetImages

StepFn = Callable[..., tuple[TrainState, dict[str, Float[Array, ""]]]]


def make_train_step(
    graphdef: nnx.GraphDef, rest: nnx.State, optimizer: optax.GradientTransformation, options: TrainOptions
) -> StepFn:
    """``train_step(state, batch, key, progress=None) -> (state, metrics)``, a pure function to ``jax.jit``.

    ``progress`` is the fraction of the run done, which sets the learning rate (``learning_rate``); by default
    ``state.step / options.steps``, the loop passes more when ``train.time_limit`` is nearer.

    ``graphdef``/``rest`` are the model's structure and non-parameter state (split in training mode, so dropout
    is on); dropout is reseeded from ``key`` every step. A step whose loss or gradient norm is not finite applies
    no update and records its index in ``state.nonfinite_step`` (the loop raises on it), so the parameters and the
    checkpoints never see a NaN. Metrics add ``grad_norm``, ``kl_weight`` and ``lr``.
    """

    schedule = learning_rate(options)

    def train_step(
        state: TrainState, batch: SetImages, key: PRNGKeyArray, progress: Float[ArrayLike, ""] | None = None
    ):
        if progress is None:
            progress = state.step / options.steps
        lr = schedule(state.step, progress)
        loss_key, dropout_key = jax.random.split(key)
        kl_weight = options.kl_weight * _ramp(state.step, options.kl_warmup)

        def loss_fn(params):
            model = nnx.merge(graphdef, params, rest, copy=True)
            nnx.reseed(model, dropout=dropout_key)
            with precision_scope(COMPUTE_DTYPES[model.config["compute_dtype"]]):
                return model.loss(batch, loss_key, kl_weight)

        (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes int step counts and float decays
            updates, opt_state = optimizer.update(grads, state.opt_state, state.params, learning_rate=lr)
        params = optax.apply_updates(state.params, updates)
        t = state.step.astype(jnp.float32)
        decay = jnp.minimum(options.ema_decay, (1.0 + t) / (10.0 + t))
        ema = optax.incremental_update(params, state.ema, step_size=1.0 - decay)
        grad_norm = optax.tree.norm(grads)
        finite = jnp.isfinite(metrics["loss"]) & jnp.isfinite(grad_norm)
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(finite, a, b), new, old)  # noqa: E731
        new_state = TrainState(
            step=state.step + 1,
            params=keep(params, state.params),
            opt_state=keep(opt_state, state.opt_state),
            ema=keep(ema, state.ema),
            nonfinite_step=jnp.where((state.nonfinite_step < 0) & ~finite, state.step, state.nonfinite_step),
        )
        return new_state, {**metrics, "grad_norm": grad_norm, "kl_weight": kl_weight, "lr": lr}

    return train_step


def _ramp(step: Array, warmup: int) -> Array:
    if warmup == 0:
        return jnp.ones((), jnp.float32)
    return jnp.minimum(1.0, step.astype(jnp.float32) / warmup)
