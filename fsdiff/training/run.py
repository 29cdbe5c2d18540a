"""A run folder: its filled config, checkpoints, metrics and pictures; and ``load``, the way back to a model."""

import json
import os
from pathlib import Path

import jax
from flax import nnx

from fsdiff.data import Splits, load_dataset
from fsdiff.errors import CheckpointError, ConfigError
from fsdiff.model import FewShotDiffusion, build_model
from fsdiff.training.checkpoint import Checkpoints
from fsdiff.training.optimizer import make_optimizer
from fsdiff.training.options import TrainOptions
from fsdiff.training.state import TrainState, init_state

CONFIG = "config.json"
METRICS = "metrics.jsonl"


def read_config(run_dir: str | os.PathLike) -> dict:
    """The filled run config saved in ``run_dir``."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{path}: not found; is {run_dir} an fsdiff run folder?")
    return json.loads(path.read_text())


def write_config(run_dir: str | os.PathLike, config: dict) -> None:
    path = Path(run_dir) / CONFIG
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n")
    os.replace(tmp, path)


def run_splits(config: dict) -> Splits:
    """The data of a filled run config, split into train / val / test with disjoint classes (seeded)."""
    data = load_dataset(**config["data"])
    if tuple(data.image_shape) != tuple(config["model"]["image_shape"]):
        raise ConfigError(
            [
                (
                    "model.image_shape",
                    f"{config['model']['image_shape']} but the data images are {list(data.image_shape)}",
                )
            ]
        )
    train = config["train"]
    return data.split(train.get("seed", 0), val=train.get("val_classes", 0.1), test=train.get("test_classes", 0.1))


def new_training(config: dict) -> tuple[FewShotDiffusion, TrainState, TrainOptions]:
    """The model (training mode), a fresh state and the options of a filled run ``config``."""
    options = TrainOptions(**config["train"])
    model = build_model(config["model"], seed=options.seed)
    params = nnx.state(model, nnx.Param)
    return model, init_state(params, make_optimizer(options, params)), options


def load(run_dir: str | os.PathLike, *, step: int | None = None, ema: bool = True) -> FewShotDiffusion:
    """The model of a run at its latest checkpoint (or ``step``), with EMA weights unless ``ema=False``, in
    evaluation mode (no dropout)."""
    config = read_config(run_dir)
    model, template, _ = new_training(config)
    checkpoints = Checkpoints(run_dir)
    try:
        state = checkpoints.restore(template, step)
    finally:
        checkpoints.close()
    nnx.update(model, jax.tree.map(jax.numpy.asarray, state.ema if ema else state.params))
    model.eval()
    return model
