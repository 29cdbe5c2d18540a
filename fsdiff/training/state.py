"""The training state: a pytree of arrays, everything a step reads and writes."""

import dataclasses
import typing

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jaxtyping import Array, Int

from fsdiff.model import FewShotDiffusion, build_model
from fsdiff.training.optimizer import make_optimizer
from fsdiff.training.options import TrainOptions


@typing.no_type_check  # a pytree: rebuilt by JAX with non-array leaves (shapes, shardings)
@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TrainState:
    """``step`` (optimizer steps taken), model ``params``, ``opt_state``, the ``ema`` of the parameters, and
    ``nonfinite_step``: the first step whose loss or gradient was not finite (-1 while none was; such a step
    applies no update). Batches and keys are pure functions of ``(seed, step)``, so this is all a resume needs."""

    step: Int[Array, ""]
    params: nnx.State
    opt_state: optax.OptState
    ema: nnx.State
    nonfinite_step: Int[Array, ""]


def init_state(params: nnx.State, optimizer: optax.GradientTransformation) -> TrainState:
    """A fresh state at step 0: the EMA starts at the parameters."""
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        opt_state=optimizer.init(params),
        ema=jax.tree.map(jnp.copy, params),
        nonfinite_step=jnp.full((), -1, jnp.int32),
    )


def new_training(config: dict) -> tuple[FewShotDiffusion, TrainState, TrainOptions]:
    """The model (training mode), a fresh state and the options of a filled run ``config``."""
    options = TrainOptions(**config["train"])
    model = build_model(config["model"], seed=options.seed)
    params = nnx.state(model, nnx.Param)
    return model, init_state(params, make_optimizer(options, params)), options
