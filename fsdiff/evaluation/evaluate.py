"""``evaluate_run``: few-shot metrics of a trained run on its held-out (test) classes, with no downloaded weights.

For ``classes`` test classes (never seen in training), ``shots`` images each are the context and up to
``samples`` other images the real references. The model generates ``samples`` images per context; so do two
baselines, the same model with the learned null context (``unconditional``) and the context images themselves
(``copy``). All three are compared with the real references in the space of a feature extractor (``protonet``,
fitted on the training classes, by default), and the likelihood of the references is measured with and without
their context. A model that generalises beats ``unconditional`` on class accuracy and Fréchet distance without
collapsing to ``copy``'s recall. Results go to ``<run>/eval.json`` (every field documented in ``EVAL_FIELDS``)
and one PNG per class to ``<run>/eval/`` (context | samples | real held-out images).
"""

import dataclasses
import json
import logging
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from fsdiff.data import ClassImages, context_sets
from fsdiff.errors import ConfigError, DataError
from fsdiff.evaluation.features import FeatureExtractor, embed
from fsdiff.evaluation.fit import few_shot_accuracy
from fsdiff.evaluation.fitted import fitted_extractor
from fsdiff.evaluation.frechet import frechet_distance
from fsdiff.evaluation.generators import GENERATORS, copy_samples, few_shot_samples, unconditional_samples
from fsdiff.evaluation.likelihood import likelihood_gain
from fsdiff.evaluation.manifold import precision_recall
from fsdiff.evaluation.prototypes import class_accuracy
from fsdiff.training.artifacts import save_grid
from fsdiff.training.checkpoint import Checkpoints
from fsdiff.training.run import load, read_config, run_splits

EVAL_FILE = "eval.json"
GRID_DIR = "eval"

_GENERATOR_FIELDS = {
    "frechet": "Fréchet distance between the features of all generated and all real reference images, pooled "
    "over classes",
    "frechet_per_class": "mean over classes of the Fréchet distance between one class's generated and real "
    "reference images (small sets: biased upwards, compare between rows only)",
    "precision": "fraction of generated images inside the real images' k-NN feature manifold (pooled)",
    "recall": "fraction of real reference images inside the generated images' k-NN feature manifold (pooled)",
    "class_accuracy": "fraction of generated images whose nearest class prototype (mean feature of each evaluated "
    "class's real references) is the class of their context",
}

EVAL_FIELDS: dict[str, str] = {
    "run": "the run folder evaluated",
    "checkpoint_step": "training step of the checkpoint evaluated (EMA weights)",
    "config": "the run's filled config (model, data, train)",
    "seed": "evaluation seed: choice of context and reference images, sampling and likelihood noise, episodes",
    "settings.shots": "context images per class (k)",
    "settings.classes": "held-out classes requested",
    "settings.samples": "generated images per class requested (also the cap on real references per class)",
    "settings.features": "the feature extractor requested: a registered name or {type, **options}",
    "settings.sample_steps": "sampler steps (respaced; null: every diffusion step)",
    "settings.method": "sampler: ddim or ddpm",
    "settings.guidance": "classifier-free guidance scale of the model's samples (1: none)",
    "settings.likelihood_images": "held-out images per class requested for the likelihood",
    "settings.neighbours": "k of the k-NN manifolds of precision and recall",
    "settings.extractor_episodes": "episodes measuring the extractor's held-out few-shot accuracy",
    "sizes.held_out_classes": "test classes of the run's split",
    "sizes.classes": "classes evaluated (the first of the test split, at most settings.classes)",
    "sizes.context_per_class": "context images per class",
    "sizes.real_per_class": "real reference images per class (held out, none of them context)",
    "sizes.generated_per_class": "images per class of each generator",
    "sizes.likelihood_images_per_class": "real reference images per class whose bits/dim were measured",
    "class_names": "names of the evaluated classes, in row order",
    "grids": "PNG per class, relative to the run folder: context | samples | real references",
    "chance_accuracy": "class accuracy of a generator that ignores its context: 1 / classes",
    "likelihood.conditional": "bits/dim of the references given their class's context (mean over classes)",
    "likelihood.unconditional": "bits/dim of the same images given the learned null context",
    "likelihood.gain": "unconditional - conditional bits/dim: what the context saves (positive is better)",
    "likelihood.gain_stderr": "standard error of the gain over classes",
    "likelihood.conditional_per_class": "per-class mean conditional bits/dim",
    "likelihood.unconditional_per_class": "per-class mean unconditional bits/dim",
    "extractor.config": "the extractor's filled config {type, **options}",
    "extractor.trainable": "whether fsdiff fitted it on the training classes",
    "extractor.fit": "the fit options (FitOptions) used, null when not trainable",
    "extractor.cache": "its folder, relative to the run folder, null when not trainable",
    "extractor.reused": "whether it was loaded from that folder rather than fitted now",
    "extractor.fitted": "episode shape used in fitting and mean loss/accuracy over its last tenth, null when not "
    "trainable",
    "extractor.held_out.accuracy": "nearest-prototype accuracy on real images of the evaluated classes (ways = "
    "classes, shots = context per class)",
    "extractor.held_out.accuracy_stderr": "standard error of that accuracy over episodes",
    "extractor.held_out.chance": "chance level of those episodes: 1 / ways",
    "extractor.held_out.episodes": "episodes measured",
    "extractor.held_out.ways": "classes per episode",
    "extractor.held_out.shots": "support images per class",
    "extractor.held_out.queries": "query images per class",
    **{
        f"generators.{generator}.{metric}": f"{text} ({generator})"
        for generator in GENERATORS
        for metric, text in _GENERATOR_FIELDS.items()
    },
}
"""Every field of ``eval.json`` (dotted paths; ``config``, ``extractor.fit`` and ``extractor.fitted`` are
objects recorded as they are). Generators: ``model`` (few-shot samples), ``unconditional`` (learned null
context), ``copy`` (the context images, cycled)."""

_log = logging.getLogger(__name__)


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    shots: int = 5,
    classes: int = 10,
    samples: int = 16,
    features: str | dict = "protonet",
    fit: dict | None = None,
    seed: int = 0,
    sample_steps: int | None = 50,
    method: str = "ddim",
    guidance: float = 1.0,
    likelihood_images: int = 2,
    neighbours: int = 3,
    extractor_episodes: int = 50,
) -> dict:
    """Evaluate the run in ``run_dir`` on its held-out classes; write ``<run>/eval.json`` and the class grids and
    return the results (see ``EVAL_FIELDS``).

    ``features`` names the feature extractor (a registered ``feature_extractor``, or ``{"type": name,
    **options}``); a trainable one is fitted with ``fit`` (``FitOptions`` keywords) on the training classes the
    first time and reused from ``<run>/features/`` afterwards. The likelihood evaluates every diffusion step for
    ``likelihood_images`` images per class, twice: keep it small on CPU.
    """
    settings = {
        "shots": shots,
        "classes": classes,
        "samples": samples,
        "features": features,
        "sample_steps": sample_steps,
        "method": method,
        "guidance": guidance,
        "likelihood_images": likelihood_images,
        "neighbours": neighbours,
        "extractor_episodes": extractor_episodes,
    }
    _check_settings(settings)
    run = Path(run_dir)
    config = read_config(run)
    splits = run_splits(config)
    held_out = splits.test.select(range(min(classes, splits.test.num_classes)))
    real_per_class = _real_per_class(held_out, shots, samples)
    sets = context_sets(held_out, shots=shots, targets=real_per_class, seed=seed)
    model = load(run)
    image_shape = tuple(config["model"]["image_shape"])
    identity = {
        "data": config["data"],
        "split": {k: config["train"][k] for k in ("seed", "val_classes", "test_classes")},
    }
    extractor, extractor_record = fitted_extractor(
        run, features, splits.train, image_shape=image_shape, fit=fit, identity=identity
    )
    ways = held_out.num_classes
    extractor_record["held_out"] = few_shot_accuracy(
        extractor, held_out, ways=ways, shots=shots, queries=real_per_class, episodes=extractor_episodes, seed=seed
    )

    sample_key, null_key, likelihood_key = jax.random.split(jax.random.key(seed), 3)
    _log.info("sampling %d images for each of %d held-out classes", samples, ways)
    generated = {
        "model": few_shot_samples(
            model, sets.context, samples, sample_key, steps=sample_steps, method=method, guidance=guidance
        ),
        "unconditional": unconditional_samples(model, ways, samples, null_key, steps=sample_steps, method=method),
        "copy": copy_samples(sets.context, samples),
    }
    generator_metrics = _feature_metrics(extractor, sets.targets, generated, neighbours)
    used = min(likelihood_images, real_per_class)
    _log.info("bits/dim of %d held-out images, with and without context", ways * used)
    likelihood = likelihood_gain(model, sets.context, sets.targets[:, :used], likelihood_key)

    grids = _save_grids(run, sets.context, generated["model"], sets.targets)
    checkpoints = Checkpoints(run)
    try:
        step = checkpoints.latest_step()
    finally:
        checkpoints.close()
    results = {
        "run": str(run),
        "checkpoint_step": step,
        "config": config,
        "seed": seed,
        "settings": settings,
        "sizes": {
            "held_out_classes": splits.test.num_classes,
            "classes": ways,
            "context_per_class": shots,
            "real_per_class": real_per_class,
            "generated_per_class": samples,
            "likelihood_images_per_class": used,
        },
        "class_names": list(held_out.names),
        "grids": grids,
        "chance_accuracy": 1.0 / ways,
        "likelihood": dataclasses.asdict(likelihood),
        "extractor": extractor_record,
        "generators": generator_metrics,
    }
    _write_json(run / EVAL_FILE, results)
    return results


def _check_settings(settings: dict) -> None:
    minimum = {"shots": 1, "classes": 2, "samples": 2, "likelihood_images": 1, "neighbours": 1, "extractor_episodes": 2}
    problems = [
        (f"eval.{name}", f"expected an int >= {low}, got {settings[name]!r}")
        for name, low in minimum.items()
        if not isinstance(settings[name], int) or isinstance(settings[name], bool) or settings[name] < low
    ]
    if problems:
        raise ConfigError(problems)


def _real_per_class(held_out: ClassImages, shots: int, samples: int) -> int:
    """References per class: what the smallest class has beyond the context, at most ``samples``, at least 2."""
    if held_out.num_classes < 2:
        raise DataError(
            f"{held_out.source}: the run's test split has {held_out.num_classes} class(es); the evaluation needs "
            "at least 2 held-out classes (raise train.test_classes)"
        )
    spare = int(held_out.counts.min()) - shots
    if spare < 2:
        raise DataError(
            f"{held_out.source}: a held-out class has {int(held_out.counts.min())} images; {shots} shots leave "
            f"{spare} real references, the evaluation needs at least 2 (use fewer shots)"
        )
    return min(samples, spare)


def _feature_metrics(
    extractor: FeatureExtractor, targets: np.ndarray, generated: dict[str, np.ndarray], neighbours: int
) -> dict:
    """Every generator's metrics against the real references, in the extractor's feature space."""
    real = _features(extractor, targets)  # "classes m f"
    pooled_real = real.reshape(-1, real.shape[-1])
    centres = jnp.asarray(real.mean(axis=1), jnp.float32)
    metrics = {}
    for name, images in generated.items():
        fake = _features(extractor, images)  # "classes samples f"
        pooled_fake = fake.reshape(-1, fake.shape[-1])
        precision, recall = precision_recall(pooled_real, pooled_fake, neighbours=neighbours)
        metrics[name] = {
            "frechet": frechet_distance(pooled_real, pooled_fake),
            "frechet_per_class": float(np.mean([frechet_distance(r, f) for r, f in zip(real, fake, strict=True)])),
            "precision": precision,
            "recall": recall,
            "class_accuracy": float(class_accuracy(jnp.asarray(fake, jnp.float32), centres)),
        }
    return metrics


def _features(extractor: FeatureExtractor, images: np.ndarray) -> np.ndarray:
    return embed(extractor, images.reshape(-1, *images.shape[2:])).reshape(*images.shape[:2], -1)


def _save_grids(run: Path, context: np.ndarray, samples: np.ndarray, targets: np.ndarray) -> list[str]:
    (run / GRID_DIR).mkdir(exist_ok=True)
    names = [f"{GRID_DIR}/class_{i:03d}.png" for i in range(context.shape[0])]
    for name, row in zip(names, zip(context, samples, targets, strict=True), strict=True):
        save_grid([row], run / name)
    return names


def _write_json(path: Path, results: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
