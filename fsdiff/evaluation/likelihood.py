"""Few-shot likelihood gain: how many bits/dim the context of a held-out class saves on new images of it."""

import dataclasses

import jax
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

    Both bounds of a class use the same key, so they see the same noise draws and their difference has less variance
    than either. The unconditional bound is meaningful for models trained with context dropout to the learned
    null (a conditioner's ``null_prob > 0``); otherwise the null was never trained and the gain is inflated.
    One class per call (one compile serves all), so ``progress`` shows a bar with an ETA.
    """
    b, i = images.shape[:2]
    conditional, unconditional = np.zeros(b), np.zeros(b)
    with tqdm(total=b, desc="likelihood", unit="class", disable=not progress, dynamic_ncols=True) as bar:
        for c in range(b):
            x = jnp.asarray(images[c])
            shots = jnp.repeat(jnp.asarray(context[c : c + 1]), i, axis=0)  # each image gets its class's context
            class_key = jax.random.fold_in(key, c)
            conditional[c] = np.asarray(_bpd(model, x, shots, class_key), np.float64).mean()
            unconditional[c] = np.asarray(_bpd(model, x, None, class_key), np.float64).mean()
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
