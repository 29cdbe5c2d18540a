"""``fsdiff demo``: few-shot training on the embedded glyph data set, then samples and likelihoods for classes
never seen in training."""

import json
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from fsdiff.data import context_sets
from fsdiff.model import FewShotDiffusion
from fsdiff.presets import apply_overrides, load_config
from fsdiff.training import load, read_config, train
from fsdiff.training.artifacts import few_shot_grid
from fsdiff.training.run import run_splits

SHOTS, CLASSES, SAMPLES, LIKELIHOOD_IMAGES = 5, 8, 8, 8

_bpd = nnx.jit(FewShotDiffusion.bpd)


def run_demo(out: str | os.PathLike, *, steps: int | None = None, progress: bool = True) -> dict:
    """Train the ``demo`` preset into ``out`` (continuing it if ``out`` already holds the demo run), then write
    ``demo.png`` (test-class contexts | generated images) and ``demo.json``: the final training loss and the
    bits/dim of held-out test images with and without their class's context (the few-shot gain)."""
    out = Path(out)
    config = load_config("demo")
    if steps is not None:
        every = max(1, steps // 4)
        config = apply_overrides(
            config, [f"train.checkpoint_every={every}", f"train.sample_every={2 * every}"], steps=steps
        )
    resume = (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir())
    train(
        config if not resume else {**read_config(out), "train": config["train"]},
        out,
        resume=resume,
        progress=progress,
    )

    model = load(out)
    test = run_splits(read_config(out)).test
    classes = range(min(CLASSES, test.num_classes))
    sets = context_sets(test, shots=SHOTS, targets=1, classes=classes, seed=0)
    few_shot_grid(model, sets.context, out / "demo.png", num=SAMPLES, seed=0)

    key = jax.random.key(0)
    images = jnp.asarray(sets.targets[:LIKELIHOOD_IMAGES, 0])
    context = jnp.asarray(sets.context[:LIKELIHOOD_IMAGES])
    conditional = np.asarray(_bpd(model, images, context, key))
    unconditional = np.asarray(_bpd(model, images, None, key))
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    summary = {
        "run": str(out),
        "steps": last["step"],
        "final_loss": last["loss"],
        "samples": str(out / "demo.png"),
        "test_classes": len(classes),
        "shots": SHOTS,
        "bits_per_dim_conditional": float(conditional.mean()),
        "bits_per_dim_unconditional": float(unconditional.mean()),
        "few_shot_gain_bits_per_dim": float((unconditional - conditional).mean()),
    }
    (out / "demo.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
