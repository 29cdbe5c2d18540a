"""The ``feature_extractor`` kind: images -> feature vectors, the space the evaluation metrics are computed in.

Dimension name added here: ``f``, the feature width of an extractor.
"""

from typing import ClassVar

import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Float, Float64

from fsdiff import registry
from fsdiff.component import Contracted
from fsdiff.config import fill_component
from fsdiff.debug import functionalized
from fsdiff.typing import Images, PositiveInt

Features = Float[Array, "b f"]


class FeatureExtractor(Contracted):
    """Maps images ``"b h w c"`` in ``[-1, 1]`` to feature vectors ``"b f"``; Fréchet distance, precision/recall
    and prototype accuracy are measured in that space.

    Class-level fact, read by the evaluation:
      - ``trainable``: fsdiff fits the extractor on the run's training classes with the prototypical-network loss
        (``fit_extractor``) and caches it in the run folder. False for an extractor that arrives ready, e.g. an
        Inception network whose constructor loads weights from a local file.

    Register one with ``@fsdiff.register("feature_extractor", "name")``; like every component its keyword
    constructor is its config schema, and it may declare ``image_shape`` (``(h, w, c)``) and ``rngs``.
    """

    trainable: ClassVar[bool] = False

    def __call__(self, images: Images) -> Features:
        raise TypeError(f"{type(self).__name__} must define __call__")


registry.add_kind("feature_extractor", FeatureExtractor)


def build_extractor(
    features: str | dict, *, image_shape: tuple[int, int, int], seed: int = 0
) -> tuple[FeatureExtractor, dict]:
    """The extractor named ``features`` (or configured by ``{"type": name, **options}``) and its filled config.
    Unknown names and bad options raise ``ConfigError`` under the path ``features``."""
    config = fill_component(
        {"type": features} if isinstance(features, str) else features, "feature_extractor", "features"
    )
    derived = {"image_shape": tuple(image_shape), "rngs": nnx.Rngs(params=seed)}
    return registry.build("feature_extractor", config, derived, "features"), config


def embed(
    extractor: FeatureExtractor, images: Float[np.ndarray, "N h w c"], *, batch_size: PositiveInt = 256
) -> Float64[np.ndarray, "N f"]:
    """Features of many images, in batches of ``batch_size`` (the last one padded, so one compile serves all)."""
    count = images.shape[0]
    chunk = min(batch_size, count)
    padded = np.concatenate([images, np.zeros((-count % chunk, *images.shape[1:]), images.dtype)])
    parts = [np.asarray(_forward(extractor, jnp.asarray(padded[i : i + chunk]))) for i in range(0, count, chunk)]
    return np.concatenate(parts)[:count].astype(np.float64)


@functionalized
@nnx.jit
def _forward(extractor: FeatureExtractor, images: Images) -> Features:
    return extractor(images)
