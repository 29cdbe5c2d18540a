"""The image sets the evaluation compares: few-shot samples of the model, unconditional samples of the same
model (its learned null conditioning), and the copy baseline (the context images themselves)."""

import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Float, PRNGKeyArray

from fsdiff.debug import functionalized
from fsdiff.model import FewShotDiffusion
from fsdiff.typing import PositiveInt

GENERATORS = ("model", "unconditional", "copy")
"""The rows of the evaluation: what generalises (``model``), what ignores the context (``unconditional``) and
what memorises (``copy``)."""


def few_shot_samples(
    model: FewShotDiffusion,
    context: Float[np.ndarray, "b k h w c"],
    num: PositiveInt,
    key: PRNGKeyArray,
    *,
    steps: PositiveInt | None = 50,
    method: str = "ddim",
    guidance: float = 1.0,
) -> Float[np.ndarray, "b num h w c"]:
    """``num`` samples per context set (``FewShotDiffusion.sample``, jitted)."""
    images = _sample(model, jnp.asarray(context), num=num, key=key, steps=steps, method=method, guidance=guidance)
    return np.asarray(images)


def unconditional_samples(
    model: FewShotDiffusion,
    num: PositiveInt,
    key: PRNGKeyArray,
    *,
    steps: PositiveInt | None = 50,
    method: str = "ddim",
) -> Float[np.ndarray, "1 num h w c"]:
    """``num`` samples of one set from the model's learned null conditioning (``model.sample(None, ...)``): the
    baseline that ignores the context."""
    return np.asarray(_unconditional(model, key, num=num, steps=steps, method=method))


def copy_samples(context: Float[np.ndarray, "b k h w c"], num: PositiveInt) -> Float[np.ndarray, "b num h w c"]:
    """The copy baseline: each set's ``k`` context images, cycled to ``num`` per set (the same size as the other
    generators, so their metrics compare at equal sample sizes)."""
    return np.take(context, np.arange(num) % context.shape[1], axis=1)


_sample = functionalized(
    nnx.jit(FewShotDiffusion.sample, static_argnames=("num", "steps", "method", "eta", "guidance"))
)


@functionalized
@nnx.jit(static_argnames=("num", "steps", "method"))
def _unconditional(model: FewShotDiffusion, key: PRNGKeyArray, *, num: int, steps: int | None, method: str):
    return model.sample(None, num, key, steps=steps, method=method)
