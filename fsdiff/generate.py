"""Few-shot generation for people: grids of context | generated images for held-out classes."""

import os
from pathlib import Path

from fsdiff.data import context_sets
from fsdiff.training.artifacts import few_shot_grid
from fsdiff.training.run import load, read_config, run_splits


def sample_run(
    run_dir: str | os.PathLike,
    *,
    shots: int,
    num: int,
    out: str | os.PathLike,
    classes: int = 8,
    steps: int | None = 50,
    method: str = "ddim",
    guidance: float = 1.0,
    seed: int = 0,
) -> Path:
    """``fsdiff sample``: ``shots`` images of each of ``classes`` test classes (never seen in training) condition
    ``num`` new images each, with the run's EMA weights; writes the grid to ``out``."""
    config = read_config(run_dir)
    test = run_splits(config).test
    contexts = context_sets(test, shots=shots, classes=range(min(classes, test.num_classes)), seed=seed)
    few_shot_grid(
        load(run_dir), contexts.context, out, num=num, steps=steps, method=method, guidance=guidance, seed=seed
    )
    return Path(out)
