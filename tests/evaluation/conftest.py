"""Shared, session-scoped subjects of the evaluation tests (each costs compiles, so each is built once):

- ``levels_run``: a run folder of a tiny model trained 300 steps on a very easy procedural problem, classes of
  8x8 images of one grey level each (40 levels, 4 held out), with context dropout so the null is trained;
- ``levels_eval``: the results of ``evaluate_run`` on it with the ``LEVELS_EVAL`` settings;
- ``glyph_protonet``: a small ``protonet`` fitted on procedural glyph classes and cached in a run folder.
"""

import numpy as np
import pytest

from fsdiff.data import ClassImages, procedural_dataset, save_npz
from fsdiff.runs import evaluate_run, fitted_extractor, train

LEVEL_CLASSES = 40
LEVEL_INSTANCES = 6
LEVEL_SIZE = 8
GLYPH_SIZE = 16
GLYPH_FEATURES = {"type": "protonet", "width": 16, "depth": 3, "groups": 4}
GLYPH_FIT = {"steps": 40, "ways": 8, "shots": 3, "queries": 3}
LEVELS_EVAL = {
    "shots": 3,
    "classes": 10,
    "samples": 3,
    "features": {"type": "protonet", "width": 8, "depth": 2, "groups": 4},
    "fit": {"steps": 5, "ways": 4, "shots": 2, "queries": 2},
    "sample_steps": 5,
    "likelihood_images": 3,
    "extractor_episodes": 3,
    "guidance": [1.0, 3.0],
}
"""Settings of ``levels_eval``: every size equal (3), two guidance scales, and tiny fitting, sampling and
likelihood budgets."""


def grey_levels(classes: int, instances: int, size: int, seed: int = 0) -> ClassImages:
    """Class ``c``: ``size x size`` images of one grey level (spread over 30..225, shuffled) plus uniform pixel
    noise of ±3 levels. The context pins the level, so it saves most of an image's uncertainty."""
    rng = np.random.default_rng(seed)
    levels = rng.permutation(np.linspace(30.0, 225.0, classes))
    noise = rng.uniform(-3.0, 3.0, (classes, instances, size, size, 1))
    images = np.clip(np.rint(levels[:, None, None, None, None] + noise), 0, 255).astype(np.uint8)
    return ClassImages(
        images=images.reshape(-1, size, size, 1),
        labels=np.repeat(np.arange(classes, dtype=np.int64), instances),
        names=tuple(f"level{c}" for c in range(classes)),
        source="grey levels",
    )


def levels_config(data_path: str, *, steps: int) -> dict:
    return {
        "model": {
            "image_shape": [LEVEL_SIZE, LEVEL_SIZE, 1],
            "set_size": 4,
            "encoder": {"type": "cnn", "width": 16, "channels": 8, "depth": 1},
            "conditioner": {"type": "mean", "null_prob": 0.2},
            "denoiser": {"type": "dit", "width": 32, "depth": 2, "heads": 2, "patch": 2},
            "diffusion": {"steps": 50},
        },
        "data": {"source": "npz", "path": data_path, "size": LEVEL_SIZE},
        "train": {
            "steps": steps,
            "batch_sets": 8,
            "lr": 2e-3,
            "warmup": 20,
            "ema_decay": 0.99,
            "log_every": 50,
            "checkpoint_every": steps,
            "sample_every": steps,
            "sample_steps": 5,
            "sample_classes": 2,
            "sample_shots": 2,
            "sample_num": 2,
            "sample_method": "ddpm",
            "val_classes": 0,
            "test_classes": 4,
        },
    }


@pytest.fixture(scope="session")
def levels_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("levels")
    data_path = save_npz(grey_levels(LEVEL_CLASSES, LEVEL_INSTANCES, LEVEL_SIZE), root / "levels.npz")
    train(levels_config(str(data_path), steps=300), root / "run", progress=False)
    return root / "run"


@pytest.fixture(scope="session")
def levels_eval(levels_run):
    return evaluate_run(levels_run, **LEVELS_EVAL)


@pytest.fixture(scope="session")
def glyph_splits():
    return procedural_dataset(classes=30, instances=8, size=GLYPH_SIZE, seed=0).split(0, val=0, test=6)


@pytest.fixture(scope="session")
def glyph_protonet(tmp_path_factory, glyph_splits):
    run = tmp_path_factory.mktemp("glyph-run")
    extractor, record = fitted_extractor(
        run, GLYPH_FEATURES, glyph_splits.train, image_shape=(GLYPH_SIZE, GLYPH_SIZE, 1), fit=GLYPH_FIT
    )
    return run, extractor, record
