"""The Run layer: everything that reads or writes a run folder — its config, lock, checkpoints, metrics,
pictures and ``eval.json`` — and the commands built on it (train, sample, eval, demo). The core (components,
model, diffusion, training pieces, evaluation metrics, testing kit) imports nothing from here."""

from fsdiff.runs.checkpoints import Checkpoints
from fsdiff.runs.demo import run_demo
from fsdiff.runs.evaluation import EvalRecord, evaluate_run
from fsdiff.runs.extractor import fitted_extractor
from fsdiff.runs.folder import Run, load, run_splits
from fsdiff.runs.grids import few_shot_grid, sample_run, save_grid
from fsdiff.runs.interrupts import Interrupted, handle_interrupts
from fsdiff.runs.train import train

__all__ = [
    "Checkpoints",
    "EvalRecord",
    "Interrupted",
    "Run",
    "evaluate_run",
    "few_shot_grid",
    "fitted_extractor",
    "handle_interrupts",
    "load",
    "run_demo",
    "run_splits",
    "sample_run",
    "save_grid",
    "train",
]
