"""Training pieces that touch no folder: options, the pure step, optimizer, EMA, state and data parallelism.
The loop that writes a run folder is ``fsdiff.runs.train``."""

from fsdiff.training.flat_step import FlatStep
from fsdiff.training.optimizer import learning_rate, make_optimizer
from fsdiff.training.options import TrainOptions, fill_run_config, run_schema
from fsdiff.training.sharding import DataParallel
from fsdiff.training.state import TrainState, init_state, new_training
from fsdiff.training.step import make_train_step

__all__ = [
    "DataParallel",
    "FlatStep",
    "TrainOptions",
    "TrainState",
    "fill_run_config",
    "init_state",
    "learning_rate",
    "make_optimizer",
    "make_train_step",
    "new_training",
    "run_schema",
]
