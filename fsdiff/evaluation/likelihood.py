"""Few-shot likelihood gain: how many bits/dim the context of a held-out class saves on new images of it."""

import dataclasses

import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Float, PRNGKeyArray
from tqdm.auto import tqdm

from fsdiff.debug import functionalized
from fsdiff.model import FewShotDiffusion

_bpd = functionalized(nnx.jit(FewShotDiffusion.bpd))


@dataclasses.dataclass(frozen=True, kw_only=True)
class LikelihoodGain:
    """Bits/dim of held-out images with their class's context (``conditional``) and with the learned null
    context (``unconditional``), averaged over images then classes; ``gain = unconditional - conditional`` with its
    standard error over classes. ``*_per_class``: the per-class means the averages are taken over."""

    conditional: float
    unconditional: float
    gain: float
    gain_stderr: float
    conditional_per_class: list[float]
    unconditional_per_class: list[float]


def likelihood_gain(
    model: FewShotDiffusion,
    context: Float[np.ndarray, "b k h w c"],
    images: Float[np.ndarray, "b i h w c"],
    key: PRNGKeyArray,
    *,
    progress: bool = False,
) -> LikelihoodGain:
    """Bits/dim of the ``i`` images of each class ``b`` conditioned on the ``k`` context images of the same class,
    and unconditionally, with the model's exact bound (every diffusion step, ``FewShotDiffusion.bpd``).

    Both bounds use the same key, so they see the same noise draws and their difference has less variance than
    either. The unconditional bound is meaningful for models trained with context dropout to the learned null (a
    conditioner's ``null_prob > 0``); otherwise the null was never trained and the gain is inflated. Each bound is
    one call over every image (a batch keeps a CPU busy; one image a call is several times slower), so
    ``progress`` shows a bar of the two bounds.
    """
    b, i = images.shape[:2]
    x = jnp.asarray(images.reshape(b * i, *images.shape[2:]))
    shots = jnp.asarray(np.repeat(context, i, axis=0))  # each image gets its class's context
    with tqdm(total=2, desc="likelihood", unit="bound", disable=not progress, dynamic_ncols=True) as bar:
        conditional = np.asarray(_bpd(model, x, shots, key), np.float64).reshape(b, i).mean(axis=1)
        bar.update(1)
        unconditional = np.asarray(_bpd(model, x, None, key), np.float64).reshape(b, i).mean(axis=1)
        bar.update(1)
    gains = unconditional - conditional
    return LikelihoodGain(
        conditional=float(conditional.mean()),
        unconditional=float(unconditional.mean()),
        gain=float(gains.mean()),
        gain_stderr=float(gains.std(ddof=1) / np.sqrt(b)) if b > 1 else 0.0,
        conditional_per_class=conditional.tolist(),
        unconditional_per_class=unconditional.tolist(),
    )
