"""Training: options, the pure step, optimizer, EMA, checkpoints, data parallelism and the loop."""

from fsdiff.training.checkpoint import Checkpoints
from fsdiff.training.flat_step import FlatStep
from fsdiff.training.loop import train
from fsdiff.training.optimizer import learning_rate, make_optimizer
from fsdiff.training.options import TrainOptions, fill_run_config, run_schema
from fsdiff.training.run import load, new_training, read_config
from fsdiff.training.sharding import DataParallel
from fsdiff.training.state import TrainState, init_state
from fsdiff.training.step import make_train_step

__all__ = [
    "Checkpoints",
    "DataParallel",
    "FlatStep",
    "TrainOptions",
    "TrainState",
    "fill_run_config",
    "init_state",
    "learning_rate",
    "load",
    "make_optimizer",
    "make_train_step",
    "new_training",
    "read_config",
    "run_schema",
    "train",
]
