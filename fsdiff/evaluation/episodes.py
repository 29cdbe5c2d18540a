"""Fitting a trainable feature extractor on the training classes with prototypical-network episodes, and
measuring its few-shot accuracy on held-out classes."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jaxtyping import Array, Float
from tqdm.auto import tqdm

from fsdiff.data import ClassImages, SetSampler
from fsdiff.debug import debug_checks, functionalized
from fsdiff.errors import DataError
from fsdiff.evaluation.features import FeatureExtractor
from fsdiff.evaluation.prototypes import prototypical_loss
from fsdiff.typing import NonNegativeInt, PositiveFloat, PositiveInt

Episode = Float[Array, "ways n h w c"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class FitOptions:
    """How fsdiff fits a trainable extractor; its keyword constructor is the schema of ``fit`` options.

    ``steps`` Adam steps at learning rate ``lr``, each on one episode of ``ways`` training classes with ``shots``
    support and ``queries`` query images per class (Snell et al. 2017 train with more ways than they test with).
    Episodes are a pure function of ``(seed, step)``; ``fitted_extractor`` also initialises the extractor
    with ``seed``. The default budget is small because held-out accuracy saturates early on glyph data (the
    4-block ``protonet`` reaches 99.9% 10-way 5-shot accuracy on held-out KanjiVG classes after 100 steps).
    """

    steps: PositiveInt = 300
    ways: PositiveInt = 20
    shots: PositiveInt = 5
    queries: PositiveInt = 5
    lr: PositiveFloat = 1e-3
    seed: NonNegativeInt = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class EpisodeShape:
    """The episode sizes actually used: requested ones shrunk to what the data has (classes, images per class)."""

    ways: int
    shots: int
    queries: int


def episode_shape(data: ClassImages, *, ways: int, shots: int, queries: int) -> EpisodeShape:
    """``ways`` capped at the number of classes; ``shots + queries`` capped at the smallest class, keeping at
    least one query. Raises ``DataError`` when there are fewer than 2 classes or 2 images in a class."""
    if data.num_classes < 2 or len(data) == 0 or int(data.counts.min()) < 2:
        raise DataError(
            f"{data.source}: prototypical episodes need at least 2 classes of at least 2 images each, got "
            f"{data.num_classes} classes of at least {int(data.counts.min()) if len(data) else 0} images"
        )
    per_class = min(shots + queries, int(data.counts.min()))
    support = min(shots, per_class - 1)
    return EpisodeShape(ways=min(ways, data.num_classes), shots=support, queries=per_class - support)


def fit_extractor(
    extractor: FeatureExtractor, data: ClassImages, options: FitOptions, *, progress: bool = False
) -> dict[str, object]:
    """Train ``extractor`` in place on the classes of ``data``; returns the episode shape used and the mean loss
    and query accuracy over the last tenth of the steps. ``progress``: a bar with an ETA. Debug value checks
    (``fsdiff.debug``) are off while it trains: the extractor is the evaluation's instrument, not a model under
    test, and its optimizer step changes it in place."""
    shape = episode_shape(data, ways=options.ways, shots=options.shots, queries=options.queries)
    sampler = SetSampler(data, set_size=shape.shots + shape.queries, batch_size=shape.ways, seed=options.seed)
    optimizer = nnx.Optimizer(extractor, optax.adam(options.lr), wrt=nnx.Param)
    steps = tqdm(range(options.steps), desc="fitting features", unit="step", disable=not progress, dynamic_ncols=True)
    with debug_checks(False):
        history = [_train_step(extractor, optimizer, jnp.asarray(sampler.batch(step)), shape.shots) for step in steps]
    tail = np.asarray([(float(loss), float(accuracy)) for loss, accuracy in history[-max(1, options.steps // 10) :]])
    return {
        **dataclasses.asdict(shape),
        "final_loss": float(tail[:, 0].mean()),
        "final_accuracy": float(tail[:, 1].mean()),
    }


def few_shot_accuracy(
    extractor: FeatureExtractor,
    data: ClassImages,
    *,
    ways: PositiveInt,
    shots: PositiveInt,
    queries: PositiveInt,
    episodes: PositiveInt = 50,
    seed: NonNegativeInt = 0,
) -> dict[str, object]:
    """Nearest-prototype accuracy of ``extractor`` on ``episodes`` episodes drawn from ``data`` (held-out
    classes): its mean, standard error over episodes, chance level and the episode shape used."""
    shape = episode_shape(data, ways=ways, shots=shots, queries=queries)
    sampler = SetSampler(data, set_size=shape.shots + shape.queries, batch_size=shape.ways, seed=seed)
    accuracies = np.asarray(
        [float(_episode_accuracy(extractor, jnp.asarray(sampler.batch(i)), shape.shots)) for i in range(episodes)]
    )
    stderr = float(accuracies.std(ddof=1) / np.sqrt(episodes)) if episodes > 1 else 0.0
    return {
        "accuracy": float(accuracies.mean()),
        "accuracy_stderr": stderr,
        "chance": 1.0 / shape.ways,
        "episodes": episodes,
        **dataclasses.asdict(shape),
    }


@nnx.jit(static_argnums=3)
def _train_step(
    extractor: FeatureExtractor, optimizer: nnx.Optimizer, episode: Episode, shots: int
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    def loss_fn(model: FeatureExtractor) -> tuple[Float[Array, ""], Float[Array, ""]]:
        return _episode_loss(model, episode, shots)

    (loss, accuracy), grads = nnx.value_and_grad(loss_fn, has_aux=True)(extractor)
    with jax.numpy_dtype_promotion("standard"):  # optax mixes int step counts and float decays
        optimizer.update(extractor, grads)
    return loss, accuracy


@functionalized
@nnx.jit(static_argnums=2)
def _episode_accuracy(extractor: FeatureExtractor, episode: Episode, shots: int) -> Float[Array, ""]:
    return _episode_loss(extractor, episode, shots)[1]


def _episode_loss(
    extractor: FeatureExtractor, episode: Episode, shots: int
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    w, n = episode.shape[:2]
    features = extractor(episode.reshape(w * n, *episode.shape[2:])).reshape(w, n, -1)
    return prototypical_loss(features[:, :shots], features[:, shots:])
