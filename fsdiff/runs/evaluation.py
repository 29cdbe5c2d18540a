"""``evaluate_run``: ``fsdiff eval`` — the pure ``evaluate`` on a run's held-out classes (test, or validation for
tuning), with the run's cached feature extractor; writes ``<run>/eval.json``, one grid per class under
``<run>/eval/`` and, for several guidance scales, ``<run>/guidance.png``."""

import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import Literal

from fsdiff.errors import ConfigError, DataError
from fsdiff.evaluation.evaluate import EvalResult, check_settings, evaluate
from fsdiff.runs.extractor import fitted_extractor
from fsdiff.runs.folder import EVAL_FILE, GRID_DIR, Run
from fsdiff.runs.grids import save_grid
from fsdiff.runs.plots import save_guidance_plot

GUIDANCE_PLOT = "guidance.png"

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvalRecord:
    """``eval.json``: these fields, then every JSON field of ``EvalResult`` (``EvalResult.to_json``)."""

    run: str
    """The run folder evaluated."""
    checkpoint_step: int
    """Training step of the checkpoint evaluated (EMA weights)."""
    config: dict
    """The run's filled config (model, data, train)."""
    split: Literal["test", "validation"]
    """The held-out classes evaluated: ``test`` (to report) or ``validation`` (to choose and tune on)."""
    held_out_classes: int
    """Classes of that part of the run's split (the first ``classes`` of them are evaluated)."""
    features: str | dict
    """The feature extractor requested: a registered name or ``{type, **options}``."""
    extractor: dict
    """The extractor used: config, trainable, fit (FitOptions; null when not trainable), cache (its folder relative
    to the run folder), reused (loaded rather than fitted now), fitted (episode shape and final loss/accuracy)."""
    grids: list[str]
    """PNG per class, relative to the run folder: context | samples at each guidance scale | real references."""
    guidance_plot: str | None
    """PNG of class accuracy and Fréchet distance against the guidance scale (several scales only)."""

    def to_json(self, result: EvalResult) -> dict:
        return {**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, **result.to_json()}


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    shots: int = 5,
    classes: int = 10,
    samples: int = 16,
    features: str | dict = "protonet",
    fit: dict | None = None,
    seed: int = 0,
    sample_steps: int | None = None,
    method: str | None = None,
    guidance: float | Sequence[float] | None = None,
    likelihood_images: int = 2,
    neighbours: int = 3,
    extractor_episodes: int = 50,
    split: str = "test",
    progress: bool = False,
) -> dict:
    """Evaluate the run in ``run_dir`` on its first ``classes`` held-out classes (see ``evaluate``); write and
    return the ``eval.json`` record (fields: ``EvalRecord`` and ``EvalResult``).

    ``features`` names the feature extractor (a registered ``feature_extractor``, or ``{"type": name,
    **options}``); a trainable one is fitted with ``fit`` (``FitOptions`` keywords) on the training classes the
    first time and reused from ``<run>/features/`` afterwards. ``guidance``: one scale or several (each evaluated;
    several also write the guidance plot); the run's ``train.sample_guidance`` unless given. ``method`` and
    ``sample_steps``: the sampler and its respaced steps, the run's ``train.sample_method`` and
    ``train.sample_steps`` unless given. ``split``: the test classes, or the validation classes to choose
    settings on (the same measurement; a number to report comes from ``test``).
    """
    given = None if guidance is None else [guidance] if isinstance(guidance, int | float) else list(guidance)
    check_settings(
        shots=shots,
        classes=classes,
        samples=samples,
        likelihood_images=likelihood_images,
        neighbours=neighbours,
        extractor_episodes=extractor_episodes,
        guidance=[1.0] if given is None else given,  # the run's own scale was checked when it was trained
    )
    if split not in ("test", "validation"):
        raise ConfigError([("split", f"{split!r}; expected 'test' or 'validation'")])
    run = Run(run_dir)
    scales = [run.options.sample_guidance] if given is None else given
    config = run.config
    splits = run.splits()
    part = {"test": splits.test, "validation": splits.val}[split]
    if part.num_classes < 2:
        option = "train.test_classes" if split == "test" else "train.val_classes"
        raise DataError(
            f"{part.source}: the run's {split} split has {part.num_classes} class(es); the evaluation needs at "
            f"least 2 held-out classes (raise {option})"
        )
    held_out = part.select(range(min(classes, part.num_classes)))
    step = run.steps()[-1] if run.steps() else None
    model = run.load()
    identity = {
        "data": config["data"],
        "split": {k: config["train"][k] for k in ("seed", "val_classes", "test_classes")},
    }
    extractor, extractor_record = fitted_extractor(
        run.path,
        features,
        splits.train,
        image_shape=tuple(config["model"]["image_shape"]),
        fit=fit,
        identity=identity,
        progress=progress,
    )
    result = evaluate(
        model,
        held_out,
        extractor,
        shots=shots,
        samples=samples,
        seed=seed,
        sample_steps=run.options.sample_steps if sample_steps is None else sample_steps,
        method=run.options.sample_method if method is None else method,
        guidance=scales,
        likelihood_images=likelihood_images,
        neighbours=neighbours,
        extractor_episodes=extractor_episodes,
        progress=progress,
    )
    record = EvalRecord(
        run=str(run.path),
        checkpoint_step=step,
        config=config,
        split=split,
        held_out_classes=part.num_classes,
        features=features,
        extractor=extractor_record,
        grids=_save_grids(run, result),
        guidance_plot=_save_guidance_plot(run, result),
    )
    results = record.to_json(result)
    run.write_json(EVAL_FILE, results)
    return results


def _save_grids(run: Run, result: EvalResult) -> list[str]:
    (run.path / GRID_DIR).mkdir(exist_ok=True)
    images = result.images
    names = [f"{GRID_DIR}/class_{i:03d}.png" for i in range(images.context.shape[0])]
    for i, name in enumerate(names):
        save_grid([[images.context[i], *images.samples[:, i], images.references[i]]], run.path / name)
    return names


def _save_guidance_plot(run: Run, result: EvalResult) -> str | None:
    if len(result.guidance) < 2:
        return None
    accuracy = [m.class_accuracy for m in result.model]
    frechet = [m.frechet for m in result.model]
    save_guidance_plot(result.guidance, accuracy, frechet, run.path / GUIDANCE_PLOT)
    return GUIDANCE_PLOT
