"""The image sets the evaluation compares: few-shot samples of the model, unconditional samples of the same
model (the learned null context), and the copy baseline (the context images themselves)."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Float, Int, PRNGKeyArray

from fsdiff.model import FewShotDiffusion
from fsdiff.typing import DenoiserOutput, Images, PositiveInt

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
    sets: PositiveInt,
    num: PositiveInt,
    key: PRNGKeyArray,
    *,
    steps: PositiveInt | None = 50,
    method: str = "ddim",
) -> Float[np.ndarray, "sets num h w c"]:
    """``sets x num`` samples conditioned on the learned null context alone.

    The same images as ``model.sample(context, num, key, guidance=0.0)`` (whose guided prediction is then the null
    prediction exactly), at half the cost: the conditional branch is never evaluated. With a learned variance the
    variance comes from the null branch too, where ``guidance=0.0`` takes the conditional one.
    """
    return np.asarray(_null_sample(model, key, sets=sets, num=num, steps=steps, method=method))


def copy_samples(context: Float[np.ndarray, "b k h w c"], num: PositiveInt) -> Float[np.ndarray, "b num h w c"]:
    """The copy baseline: each set's ``k`` context images, cycled to ``num`` per set (the same size as the other
    generators, so their metrics compare at equal sample sizes)."""
    return np.take(context, np.arange(num) % context.shape[1], axis=1)


_sample = nnx.jit(FewShotDiffusion.sample, static_argnames=("num", "steps", "method", "eta", "guidance"))


@nnx.jit(static_argnames=("sets", "num", "steps", "method"))
def _null_sample(
    model: FewShotDiffusion, key: PRNGKeyArray, *, sets: int, num: int, steps: int | None, method: str
) -> Float[jax.Array, "sets num h w c"]:
    h, w, c = model.image_shape
    total = sets * num
    # The null conditioning needs only the shapes of an encoding: encode nothing, make zeros of that shape.
    shapes = jax.eval_shape(lambda: model.encoder(jnp.zeros((total, model.set_size, h, w, c), jnp.float32)))
    null = model.conditioner.null(jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes))

    def denoise_fn(x_t: Images, t: Int[jax.Array, " b"]) -> DenoiserOutput:
        return model.denoiser(x_t, t, null)

    images = model.diffusion.sample(denoise_fn, (total, h, w, c), key, steps=steps, method=method)
    return images.reshape(sets, num, h, w, c)
