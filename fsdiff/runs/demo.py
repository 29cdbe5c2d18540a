"""``fsdiff demo``: few-shot training on the embedded glyph data set, then samples and likelihoods for classes
never seen in training."""

import os
from pathlib import Path

import jax

from fsdiff.data import context_sets
from fsdiff.errors import CheckpointError
from fsdiff.evaluation.likelihood import likelihood_gain
from fsdiff.presets import apply_overrides, load_config
from fsdiff.runs.folder import Run
from fsdiff.runs.grids import few_shot_grid
from fsdiff.runs.train import FIXED_SECTIONS, differences, train
from fsdiff.training.options import fill_run_config

SHOTS, CLASSES, SAMPLES, LIKELIHOOD_IMAGES = 5, 8, 8, 2


def run_demo(out: str | os.PathLike, *, steps: int | None = None, progress: bool = True) -> dict:
    """Train the ``demo`` preset into ``out`` (continuing it if ``out`` already holds the demo run; any other run
    there is refused before anything changes), then write ``demo.png`` (test-class contexts | generated images)
    and ``demo.json``: the final training loss and the bits/dim of held-out test images with and without their
    class's context (the few-shot gain)."""
    run = Run(out)
    config = load_config("demo")
    if steps is not None:
        config = apply_overrides(config, [f"train.checkpoint_every={max(1, steps // 4)}"], steps=steps)
    resume = run.exists()
    if resume:
        demo = fill_run_config(config)
        foreign = [p for section in FIXED_SECTIONS for p in differences(run.config[section], demo[section], section)]
        if foreign:
            raise CheckpointError(
                f"{run.path} holds a run that is not the demo's ({', '.join(foreign[:3])} differ); choose another --out"
            )
    train(config, run.path, resume=resume, progress=progress)

    model = run.load()
    test = run.splits().test
    classes = range(min(CLASSES, test.num_classes))
    sets = context_sets(test, shots=SHOTS, targets=1, classes=classes, seed=0)
    few_shot_grid(
        model,
        sets.context,
        run.path / "demo.png",
        num=SAMPLES,
        steps=run.options.sample_steps,
        method=run.options.sample_method,
        guidance=run.options.sample_guidance,
        seed=0,
        progress=progress,
    )
    likelihood = likelihood_gain(
        model, sets.context[:LIKELIHOOD_IMAGES], sets.targets[:LIKELIHOOD_IMAGES], jax.random.key(0), progress=progress
    )
    last = run.metrics()[-1]
    summary = {
        "run": str(run.path),
        "steps": last["step"],
        "final_loss": last["loss"],
        "samples": str(Path(run.path) / "demo.png"),
        "test_classes": len(classes),
        "shots": SHOTS,
        "bits_per_dim_conditional": likelihood.conditional,
        "bits_per_dim_unconditional": likelihood.unconditional,
        "few_shot_gain_bits_per_dim": likelihood.gain,
    }
    run.write_json("demo.json", summary)
    return summary
