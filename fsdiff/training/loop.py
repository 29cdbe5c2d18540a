"""``train``: the training loop around the pure step — data, sharding, checkpoints, logs, pictures."""

import json
import logging
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from tqdm.auto import tqdm

from fsdiff.data import SetSampler, context_sets
from fsdiff.data.classes import Splits
from fsdiff.errors import CheckpointError, ConfigError, TrainingError
from fsdiff.model import FewShotDiffusion
from fsdiff.training import distributed
from fsdiff.training.artifacts import few_shot_grid, save_loss_curve
from fsdiff.training.checkpoint import Checkpoints
from fsdiff.training.flat_step import FlatStep
from fsdiff.training.optimizer import make_optimizer
from fsdiff.training.options import TrainOptions, fill_run_config
from fsdiff.training.run import METRICS, new_training, read_config, run_splits, write_config
from fsdiff.training.sharding import DataParallel
from fsdiff.training.state import TrainState
from fsdiff.training.step import make_train_step

_log = logging.getLogger(__name__)


def train(
    config: object | None, out_dir: str | os.PathLike, *, resume: bool = False, progress: bool = True
) -> TrainState:
    """Train the run ``config`` (``{"model", "data", "train"}``) into the folder ``out_dir``; returns the final
    state.

    ``resume``: continue the run in ``out_dir`` from its latest checkpoint, with its saved config (``config``, if
    given, replaces it: e.g. more steps). Parameters, optimizer, EMA and the data position are restored, and
    batches and noise are functions of ``(seed, step)``, so an interrupted and resumed run ends with exactly the
    parameters of an uninterrupted one. A non-finite loss raises ``TrainingError`` naming the step; no update is
    applied from it and the checkpoints on disk stay as they were.
    """
    out = Path(out_dir)
    cfg = _run_config(config, out, resume)
    options = TrainOptions(**cfg["train"])
    if options.distributed:
        distributed.initialize(options)
    primary = distributed.is_primary()  # writes the run folder's files; every process writes checkpoints
    splits = run_splits(cfg)
    sampler = SetSampler(
        splits.train, set_size=cfg["model"]["set_size"], batch_size=options.batch_sets, seed=options.seed
    )
    parallel = DataParallel()
    parallel.check_batch(options.batch_sets)

    model, state, options = new_training(cfg)
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    optimizer = make_optimizer(options, params)
    out.mkdir(parents=True, exist_ok=True)
    if primary:
        write_config(out, cfg)
    checkpoints = Checkpoints(out, keep=options.keep, write=True)
    if resume:
        state = checkpoints.restore(state)
    state = parallel.replicate(state)
    step_fn = FlatStep(make_train_step(graphdef, rest, optimizer, options), state)
    leaves = step_fn.leaves(state)
    preview = _Preview(model, splits, options, out)

    start = int(state.step)
    base_key = jax.random.key(options.seed)
    log = _MetricsLog(
        out / METRICS if primary else None, start, images_per_step=options.batch_sets * cfg["model"]["set_size"]
    )
    bar = tqdm(total=options.steps, initial=start, disable=not progress, unit="step", dynamic_ncols=True)
    try:
        for step in range(start, options.steps):
            batch = parallel.batch(sampler.batch(step))
            leaves, metrics = step_fn(leaves, batch, jax.random.fold_in(base_key, step))
            log.add(metrics)
            bar.update(1)
            done = step + 1
            at_checkpoint = done % options.checkpoint_every == 0 or done == options.steps
            if done % options.log_every == 0 or at_checkpoint:
                bar.set_postfix(log.flush(done), refresh=False)
                _check_finite(step_fn.state(leaves), checkpoints)
            if at_checkpoint:
                checkpoints.save(step_fn.state(leaves))
            if primary and (done % options.sample_every == 0 or done == options.steps):
                preview.save(step_fn.state(leaves), done)
    finally:
        bar.close()
        checkpoints.close()
    if primary:
        log.plot(out / "loss.png")
    return step_fn.state(leaves)


def _run_config(config: object | None, out: Path, resume: bool) -> dict:
    if resume:
        return fill_run_config(read_config(out) if config is None else config)
    if config is None:
        raise ConfigError("no run config given")
    cfg = fill_run_config(config)
    if (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir()):
        raise CheckpointError(f"{out} already holds a run; pass --resume to continue it, or choose another --out")
    return cfg


def _check_finite(state: TrainState, checkpoints: Checkpoints) -> None:
    bad = int(state.nonfinite_step)
    if bad >= 0:
        last = checkpoints.latest_step()
        kept = (
            f"the last good checkpoint is step {last} in {checkpoints.directory}"
            if last is not None
            else "no checkpoint was written yet"
        )
        raise TrainingError(f"step {bad}: the loss or its gradient is not finite; training stopped ({kept})")


class _MetricsLog:
    """Per-step metrics, kept on device until a flush, then averaged into one ``metrics.jsonl`` line."""

    def __init__(self, path: Path | None, start: int, *, images_per_step: int):
        self.path, self.images_per_step = path, images_per_step
        self.pending: list[dict] = []
        self.history: list[tuple[int, float]] = []
        self.last_time, self.last_step = time.perf_counter(), start

    def add(self, metrics: dict) -> None:
        self.pending.append(metrics)

    def flush(self, step: int) -> dict[str, str]:
        values = jax.device_get(self.pending)
        now = time.perf_counter()
        row = {"step": step, **{k: float(np.mean([v[k] for v in values])) for k in values[0]}}
        row["images_per_s"] = (step - self.last_step) * self.images_per_step / max(now - self.last_time, 1e-9)
        if self.path is not None:
            with self.path.open("a") as f:
                f.write(json.dumps(row) + "\n")
        self.history.append((step, row["loss"]))
        self.pending, self.last_time, self.last_step = [], now, step
        return {"loss": f"{row['loss']:.4f}", "img/s": f"{row['images_per_s']:.0f}"}

    def plot(self, path: Path) -> None:
        rows = [json.loads(line) for line in self.path.read_text().splitlines()] if self.path.exists() else []
        if rows:
            save_loss_curve([r["step"] for r in rows], [r["loss"] for r in rows], path)


class _Preview:
    """Sample grids of held-out (validation) classes with the EMA weights: context | samples, one row a class."""

    def __init__(self, model: FewShotDiffusion, splits: Splits, options: TrainOptions, out: Path):
        self.options, self.dir = options, out / "samples"
        self.model = nnx.merge(*nnx.split(model))
        self.model.eval()
        held_out = splits.val if splits.val.num_classes else splits.test
        classes = list(range(min(options.sample_classes, held_out.num_classes)))
        self.contexts = (
            context_sets(held_out, shots=options.sample_shots, classes=classes, seed=options.seed) if classes else None
        )

    def save(self, state: TrainState, step: int) -> None:
        if self.contexts is None:
            return
        nnx.update(self.model, jax.tree.map(lambda a: jnp.asarray(jax.device_get(a)), state.ema))  # local work
        self.dir.mkdir(exist_ok=True)
        few_shot_grid(
            self.model,
            self.contexts.context,
            self.dir / f"step_{step:07d}.png",
            num=self.options.sample_num,
            steps=self.options.sample_steps,
            seed=self.options.seed + 1,
        )
