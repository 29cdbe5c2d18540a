"""``evaluate``: few-shot metrics of a model on held-out classes, pure of any run folder.

For each class of ``held_out`` (classes never seen in training), ``shots`` images are the context and up to
``samples`` other images the real references. The model generates ``samples`` images per context at each guidance
scale; so do two baselines, the same model with its learned null conditioning (``unconditional``) and the context
images themselves (``copy``). All are compared with the real references in the space of a feature extractor, and
the likelihood of the references is measured with and without their context. A model that generalises beats
``unconditional`` on class accuracy and Fréchet distance, without collapsing to ``copy``'s diversity and recall.
"""

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float
from tqdm.auto import tqdm

from fsdiff.data import ClassImages, context_sets
from fsdiff.errors import ConfigError, DataError
from fsdiff.evaluation.baselines import copy_samples, few_shot_samples, unconditional_samples
from fsdiff.evaluation.diversity import diversity
from fsdiff.evaluation.episodes import few_shot_accuracy
from fsdiff.evaluation.features import FeatureExtractor, embed
from fsdiff.evaluation.frechet import frechet_distance
from fsdiff.evaluation.likelihood import LikelihoodGain, likelihood_gain
from fsdiff.evaluation.manifold import precision_recall
from fsdiff.evaluation.prototypes import class_accuracy
from fsdiff.model import FewShotDiffusion


@dataclasses.dataclass(frozen=True, kw_only=True)
class GeneratorMetrics:
    """One generator's images against the real references, in the extractor's feature space."""

    frechet: float
    """Fréchet distance between the features of all generated and all real reference images, pooled over classes."""
    frechet_per_class: float
    """Mean over classes of the Fréchet distance between one class's generated and real references (small sets:
    biased upwards, compare between rows only)."""
    precision: float
    """Fraction of generated images inside the real images' k-NN feature manifold (pooled)."""
    recall: float
    """Fraction of real references inside the generated images' k-NN feature manifold (pooled)."""
    class_accuracy: float
    """Fraction of generated images whose nearest class prototype (mean feature of each evaluated class's real
    references) is the class of their context."""
    diversity: float
    """Mean over classes of (mean pairwise feature distance among the class's generated images) / (the same among
    its real references): about 1 for new images as varied as real ones, well below for copies."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvalImages:
    """The images behind the metrics, for grids (not written to JSON)."""

    context: Float[np.ndarray, "b k h w c"]
    samples: Float[np.ndarray, "g b n h w c"]
    """The model's samples at each guidance scale."""
    references: Float[np.ndarray, "b m h w c"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvalResult:
    """What ``evaluate`` measured; ``to_json()`` is everything but the images."""

    seed: int
    """Evaluation seed: choice of context and reference images, sampling and likelihood noise, episodes."""
    shots: int
    """Context images per class (k)."""
    sample_steps: int | None
    """Sampler steps (respaced; None: every diffusion step)."""
    method: str
    """Sampler: ddim or ddpm."""
    guidance: list[float]
    """Classifier-free guidance scales of the model's samples (1: none), one ``model`` entry each."""
    neighbours: int
    """k of the k-NN manifolds of precision and recall."""
    classes: int
    """Held-out classes evaluated."""
    class_names: list[str]
    """Names of the evaluated classes, in row order."""
    real_per_class: int
    """Real reference images per class (held out, none of them context)."""
    generated_per_class: int
    """Images per class of each generator."""
    likelihood_images_per_class: int
    """Real references per class whose bits/dim were measured."""
    chance_accuracy: float
    """Class accuracy of a generator that ignores its context: 1 / classes."""
    model: list[GeneratorMetrics]
    """The model's few-shot samples, one entry per guidance scale (in the order of ``guidance``)."""
    unconditional: GeneratorMetrics
    """The model's samples from its learned null conditioning (no context)."""
    copy: GeneratorMetrics
    """The context images themselves, cycled to ``generated_per_class``."""
    likelihood: LikelihoodGain
    """Bits/dim of references with and without their class's context (see ``LikelihoodGain``)."""
    extractor_accuracy: dict
    """The extractor's nearest-prototype accuracy on real images of the evaluated classes (``few_shot_accuracy``:
    accuracy, accuracy_stderr, chance, episodes, ways, shots, queries)."""
    images: EvalImages = dataclasses.field(repr=False, compare=False)

    def to_json(self) -> dict:
        """Every field but ``images``, as plain JSON values."""
        fields = [f.name for f in dataclasses.fields(self) if f.name != "images"]
        return {name: _plain(getattr(self, name)) for name in fields}


def evaluate(
    model: FewShotDiffusion,
    held_out: ClassImages,
    extractor: FeatureExtractor,
    *,
    shots: int = 5,
    samples: int = 16,
    seed: int = 0,
    sample_steps: int | None = 50,
    method: str = "ddim",
    guidance: Sequence[float] = (1.0,),
    likelihood_images: int = 2,
    neighbours: int = 3,
    extractor_episodes: int = 50,
    progress: bool = False,
) -> EvalResult:
    """Evaluate ``model`` on every class of ``held_out`` with ``extractor`` (fitted on the training classes).

    The likelihood evaluates every diffusion step for ``likelihood_images`` images per class, twice: keep it small
    on CPU. ``progress``: a bar with an ETA for each long phase (sampling, likelihood). Bad settings raise
    ``ConfigError`` (path ``eval.<name>``) before any work.
    """
    check_settings(
        shots=shots,
        samples=samples,
        likelihood_images=likelihood_images,
        neighbours=neighbours,
        extractor_episodes=extractor_episodes,
        guidance=guidance,
        classes=held_out.num_classes,
    )
    real_per_class = _real_per_class(held_out, shots, samples)
    sets = context_sets(held_out, shots=shots, targets=real_per_class, seed=seed)
    ways = held_out.num_classes
    accuracy = few_shot_accuracy(
        extractor, held_out, ways=ways, shots=shots, queries=real_per_class, episodes=extractor_episodes, seed=seed
    )
    sample_key, likelihood_key = jax.random.split(jax.random.key(seed))
    scales = [float(g) for g in guidance]
    model_samples, null = _generate(
        model, sets.context, samples, sample_key, scales=scales, steps=sample_steps, method=method, progress=progress
    )
    used = min(likelihood_images, real_per_class)
    likelihood = likelihood_gain(model, sets.context, sets.targets[:, :used], likelihood_key, progress=progress)

    real = _features(extractor, sets.targets)  # "classes m f"
    metrics = [_metrics(extractor, real, images, neighbours) for images in model_samples]
    return EvalResult(
        seed=seed,
        shots=shots,
        sample_steps=sample_steps,
        method=method,
        guidance=scales,
        neighbours=neighbours,
        classes=ways,
        class_names=list(held_out.names),
        real_per_class=real_per_class,
        generated_per_class=samples,
        likelihood_images_per_class=used,
        chance_accuracy=1.0 / ways,
        model=metrics,
        unconditional=_metrics(extractor, real, null, neighbours),
        copy=_metrics(extractor, real, copy_samples(sets.context, samples), neighbours),
        likelihood=likelihood,
        extractor_accuracy=accuracy,
        images=EvalImages(context=sets.context, samples=model_samples, references=sets.targets),
    )


def _generate(
    model: FewShotDiffusion,
    context: np.ndarray,
    num: int,
    key: jax.Array,
    *,
    scales: list[float],
    steps: int | None,
    method: str,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The model's ``num`` samples per class at each scale ``"g b num h w c"`` and its unconditional samples
    ``"b num h w c"``, one class per call (one compile serves all), so the bar ticks and shows an ETA."""
    sample_key, null_key = jax.random.split(key)
    b = context.shape[0]
    guided = np.zeros((len(scales), b, num, *context.shape[2:]), np.float32)
    null = np.zeros((b, num, *context.shape[2:]), np.float32)
    total = b * (len(scales) + 1)
    with tqdm(total=total, desc="sampling", unit="class", disable=not progress, dynamic_ncols=True) as bar:
        for i in range(b):
            for s, scale in enumerate(scales):
                class_key = jax.random.fold_in(sample_key, i)
                guided[s, i] = few_shot_samples(
                    model, context[i : i + 1], num, class_key, steps=steps, method=method, guidance=scale
                )[0]
                bar.update(1)
            null[i] = unconditional_samples(model, num, jax.random.fold_in(null_key, i), steps=steps, method=method)[0]
            bar.update(1)
    return guided, null


def check_settings(**settings) -> None:
    """Raise one ``ConfigError`` listing every bad setting of ``evaluate`` (``classes``: how many are evaluated)."""
    minimum = {"shots": 1, "classes": 2, "samples": 2, "likelihood_images": 1, "neighbours": 1, "extractor_episodes": 2}
    problems = [
        (f"eval.{name}", f"expected an int >= {low}, got {settings[name]!r}")
        for name, low in minimum.items()
        if not isinstance(settings[name], int) or isinstance(settings[name], bool) or settings[name] < low
    ]
    scales = settings["guidance"]
    if not scales or not all(isinstance(g, int | float) and np.isfinite(g) and g >= 0 for g in scales):
        problems.append(("eval.guidance", f"expected one or more finite scales >= 0, got {list(scales)!r}"))
    if problems:
        raise ConfigError(problems)


def _real_per_class(held_out: ClassImages, shots: int, samples: int) -> int:
    """References per class: what the smallest class has beyond the context, at most ``samples``, at least 2."""
    spare = int(held_out.counts.min()) - shots
    if spare < 2:
        raise DataError(
            f"{held_out.source}: a held-out class has {int(held_out.counts.min())} images; {shots} shots leave "
            f"{spare} real references, the evaluation needs at least 2 (use fewer shots)"
        )
    return min(samples, spare)


def _metrics(extractor: FeatureExtractor, real: np.ndarray, images: np.ndarray, neighbours: int) -> GeneratorMetrics:
    """One generator's metrics against the real references' features ``real "classes m f"``."""
    fake = _features(extractor, images)  # "classes samples f"
    pooled_real, pooled_fake = real.reshape(-1, real.shape[-1]), fake.reshape(-1, fake.shape[-1])
    precision, recall = precision_recall(pooled_real, pooled_fake, neighbours=neighbours)
    centres = jnp.asarray(real.mean(axis=1), jnp.float32)
    return GeneratorMetrics(
        frechet=frechet_distance(pooled_real, pooled_fake),
        frechet_per_class=float(np.mean([frechet_distance(r, f) for r, f in zip(real, fake, strict=True)])),
        precision=precision,
        recall=recall,
        class_accuracy=float(class_accuracy(jnp.asarray(fake, jnp.float32), centres)),
        diversity=diversity(real, fake),
    )


def _features(extractor: FeatureExtractor, images: np.ndarray) -> np.ndarray:
    return embed(extractor, images.reshape(-1, *images.shape[2:])).reshape(*images.shape[:2], -1)


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
