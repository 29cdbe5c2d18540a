"""``Run``: one run folder — its filled config, lock, checkpoints, metrics, pictures and ``eval.json`` — and
``load``, the way back to a model for inference."""

import json
import os
from pathlib import Path

import jax
from flax import nnx

from fsdiff.data import Splits, load_dataset
from fsdiff.errors import CheckpointError, ConfigError
from fsdiff.model import FewShotDiffusion, build_model
from fsdiff.runs.checkpoints import Checkpoints
from fsdiff.runs.lock import LOCK, run_lock
from fsdiff.training.options import TrainOptions

CONFIG = "config.json"
METRICS = "metrics.jsonl"
EVAL_FILE = "eval.json"
GRID_DIR = "eval"
FEATURES_DIR = "features"
RUN_FILES = frozenset(
    {CONFIG, METRICS, EVAL_FILE, GRID_DIR, FEATURES_DIR, LOCK, "checkpoints", "samples", "loss.png", "guidance.png"}
    | {"demo.png", "demo.json"}
)
"""What fsdiff writes into a run folder (the last two: ``fsdiff demo``). A folder holding anything else is not a
run folder, and writers refuse it."""


class Run:
    """The run folder ``path``. Reading needs no lock; ``lock()`` guards every writer (training, the demo)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def config(self) -> dict:
        """The filled run config saved in the folder."""
        path = self.path / CONFIG
        if not path.is_file():
            raise CheckpointError(f"{path}: not found; is {self.path} an fsdiff run folder?")
        return json.loads(path.read_text())

    def exists(self) -> bool:
        """Whether the folder holds a run (a saved config)."""
        return (self.path / CONFIG).is_file()

    def write_config(self, config: dict) -> None:
        _write_text(self.path / CONFIG, json.dumps(config, indent=2) + "\n")

    @property
    def options(self) -> TrainOptions:
        """The run's ``train`` section (options added since the run was written take their defaults)."""
        return TrainOptions(**self.config["train"])

    def splits(self) -> Splits:
        return run_splits(self.config)

    def lock(self):
        """Context manager holding the folder's lock (see ``fsdiff.runs.lock.run_lock``)."""
        return run_lock(self.path)

    def checkpoints(self, *, keep: int = 3, write: bool = False) -> Checkpoints:
        return Checkpoints(self.path, keep=keep, write=write)

    def steps(self) -> list[int]:
        """Steps of the complete checkpoints, oldest first."""
        if not (self.path / "checkpoints").is_dir():
            return []
        checkpoints = self.checkpoints()
        try:
            return checkpoints.steps()
        finally:
            checkpoints.close()

    def load(self, *, step: int | None = None, ema: bool = True) -> FewShotDiffusion:
        """The model at ``step`` (default: the newest intact checkpoint), with EMA weights unless ``ema=False``, in
        evaluation mode. Reads the weights only: no optimizer or training state is built."""
        config = self.config
        model = build_model(config["model"], seed=config["train"].get("seed", 0))
        checkpoints = self.checkpoints()
        try:
            weights = checkpoints.restore_weights(nnx.state(model, nnx.Param), step, ema=ema)
        finally:
            checkpoints.close()
        nnx.update(model, jax.tree.map(jax.numpy.asarray, weights))
        model.eval()
        return model

    def metrics(self) -> list[dict]:
        """The rows of ``metrics.jsonl``, oldest first."""
        path = self.path / METRICS
        return [json.loads(line) for line in path.read_text().splitlines() if line] if path.is_file() else []

    def keep_metrics_until(self, step: int) -> None:
        """Drop the metric rows after ``step``: a resumed run writes them again, so each step appears once."""
        rows = self.metrics()
        if any(row["step"] > step for row in rows):
            kept = "".join(json.dumps(row) + "\n" for row in rows if row["step"] <= step)
            _write_text(self.path / METRICS, kept)

    def append_metrics(self, row: dict) -> None:
        with (self.path / METRICS).open("a") as f:
            f.write(json.dumps(row) + "\n")

    def write_json(self, name: str, record: dict) -> Path:
        """Write ``record`` to ``<run>/<name>`` atomically; returns the path."""
        path = self.path / name
        _write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        return path

    def check_writable(self) -> None:
        """Refuse, before any work, a folder a writer must not use: a file, a folder holding files that are not a
        run's, or a place this process cannot write."""
        if self.path.exists() and not self.path.is_dir():
            raise CheckpointError(f"{self.path} is a file, not a run folder; choose another --out")
        if self.path.is_dir():
            foreign = sorted(
                p.name for p in self.path.iterdir() if p.name not in RUN_FILES and not p.name.endswith(".tmp")
            )
            if foreign:
                shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
                raise CheckpointError(
                    f"{self.path} holds files that are not a run's ({shown}); choose an empty or new --out"
                )
        existing = next(p for p in (self.path, *self.path.absolute().parents) if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise CheckpointError(f"{self.path}: cannot write into {existing}; choose another --out")


def load(run_dir: str | os.PathLike, *, step: int | None = None, ema: bool = True) -> FewShotDiffusion:
    """The model of the run in ``run_dir`` (see ``Run.load``)."""
    return Run(run_dir).load(step=step, ema=ema)


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


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
