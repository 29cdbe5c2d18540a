"""``train``: the training loop around the pure step, writing a run folder — data, sharding, checkpoints, logs,
pictures — under the folder's lock, and stopping cleanly on an interrupt."""

import contextlib
import logging
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from tqdm.auto import tqdm

from fsdiff.data import SetSampler, context_sets
from fsdiff.data.classes import Splits
from fsdiff.errors import CheckpointError, ConfigError, TrainingError
from fsdiff.model import FewShotDiffusion
from fsdiff.runs import interrupts
from fsdiff.runs.checkpoints import Checkpoints
from fsdiff.runs.folder import Run, run_splits
from fsdiff.runs.grids import few_shot_grid
from fsdiff.runs.plots import save_loss_curve
from fsdiff.training import distributed
from fsdiff.training.flat_step import FlatStep
from fsdiff.training.optimizer import make_optimizer
from fsdiff.training.options import TrainOptions, fill_run_config
from fsdiff.training.sharding import DataParallel
from fsdiff.training.state import TrainState, new_training
from fsdiff.training.step import make_train_step

FIXED_SECTIONS = ("model", "data")
"""Sections a resumed run keeps: a different model cannot read the checkpoints, different data changes the split."""

_log = logging.getLogger(__name__)


def train(
    config: object | None, out_dir: str | os.PathLike, *, resume: bool = False, progress: bool = True
) -> TrainState:
    """Train the run ``config`` (``{"model", "data", "train"}``) into the folder ``out_dir``; returns the final
    state.

    ``resume``: continue the run in ``out_dir`` from its newest intact checkpoint, with its saved config
    (``config``, if given, may change the ``train`` section, e.g. more steps; a changed ``model`` or ``data`` is
    refused naming the keys). Parameters, optimizer, EMA and the data position are restored, and batches and noise
    are functions of ``(seed, step)``, so an interrupted and resumed run ends with exactly the parameters of an
    uninterrupted one, and ``metrics.jsonl`` holds each step once. A non-finite loss raises ``TrainingError``
    naming the step; no update is applied from it and the checkpoints on disk stay as they were.

    The folder is locked for the whole call, and nothing in it changes until the config is valid and the
    checkpoint restored. Under ``fsdiff.runs.interrupts.handle_interrupts`` (the CLI), SIGINT/SIGTERM stop the loop
    between steps: the current step is saved, then ``Interrupted`` is raised.

    With ``train.distributed``, the processes join first (``fsdiff.training.distributed``); process 0 holds the
    lock and writes the folder's files, and every process takes part in writing the checkpoints.
    """
    run = Run(out_dir)
    run.check_writable()
    requested = config if config is not None else run.config if run.exists() else None
    options = None if requested is None else TrainOptions(**fill_run_config(requested)["train"])
    if options is not None and options.distributed:
        if options.time_limit is not None:
            raise ConfigError([("train.time_limit", "not with train.distributed: the processes would stop apart")])
        distributed.initialize(options)
    primary = distributed.is_primary()
    with run.lock() if primary else contextlib.nullcontext():
        cfg = _run_config(config, run, resume, inspect=primary)
        return _train(cfg, run, resume, progress)


def _train(cfg: dict, run: Run, resume: bool, progress: bool) -> TrainState:
    options = TrainOptions(**cfg["train"])
    primary = distributed.is_primary()
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
    checkpoints = run.checkpoints(keep=options.keep, write=True)
    try:
        if resume:
            state = checkpoints.restore(state)
        start = int(state.step)
        if resume and start >= options.steps:
            _log.info("%s is already at step %d (train.steps = %d); nothing to do", run.path, start, options.steps)
            return state
        if primary:
            run.write_config(cfg)
            run.keep_metrics_until(start)
        state = parallel.replicate(state)
        step_fn = FlatStep(make_train_step(graphdef, rest, optimizer, options), state)
        leaves = step_fn.leaves(state)
        preview = _Preview(nnx.merge(*nnx.split(model)), splits, options, run)
        base_key = jax.random.key(options.seed)
        log = _MetricsLog(
            run if primary else None, start, images_per_step=options.batch_sets * cfg["model"]["set_size"]
        )
        saved = start
        bar = tqdm(total=options.steps, initial=start, disable=not progress, unit="step", dynamic_ncols=True)
        with interrupts.deferred():
            try:
                started = time.perf_counter()
                for step in range(start, options.steps):
                    if interrupts.pending():
                        break
                    batch = parallel.batch(sampler.batch(step))
                    progress = _progress(options, step, started)
                    leaves, metrics = step_fn(leaves, batch, jax.random.fold_in(base_key, step), progress)
                    log.add(metrics)
                    bar.update(1)
                    done = step + 1
                    last = done == options.steps or _out_of_time(options, started)
                    at_checkpoint = done % options.checkpoint_every == 0 or last
                    if done % options.log_every == 0 or at_checkpoint:
                        bar.total = _expected_steps(options, start, done, started)
                        bar.set_postfix(log.flush(done), refresh=False)
                        _check_finite(step_fn.state(leaves), checkpoints)
                    if at_checkpoint:
                        saved = checkpoints.save(step_fn.state(leaves))
                    at_preview = done % options.sample_every == 0 or last
                    if primary and at_preview and not interrupts.pending():  # a preview may compile: stop first
                        preview.save(step_fn.state(leaves), done)
                    if last:
                        break
            finally:
                bar.close()
            if interrupts.pending():
                _stop(step_fn.state(leaves), saved, log, checkpoints)
                raise interrupts.Interrupted(interrupts.pending())
    finally:
        checkpoints.close()
    metrics = run.metrics() if primary else []
    if metrics:
        save_loss_curve([r["step"] for r in metrics], [r["loss"] for r in metrics], run.path / "loss.png")
    return step_fn.state(leaves)


def _expected_steps(options: TrainOptions, start: int, done: int, started: float) -> int:
    """The step the run will stop at: ``train.steps``, or fewer when at the pace since ``start`` the ``time_limit``
    runs out first. It is the progress bar's total, so the bar's ETA is right when the clock binds."""
    if options.time_limit is None:
        return options.steps
    elapsed = max(time.perf_counter() - started, 1e-9)
    by_clock = start + int((done - start) * options.time_limit / elapsed)
    return max(done, min(options.steps, by_clock))


def _progress(options: TrainOptions, step: int, started: float) -> np.float32:
    """The fraction of the run done before ``step``: of its steps, or of ``time_limit`` when more of that is spent
    (the learning rate's decay follows it, see ``fsdiff.training.optimizer.learning_rate``)."""
    done = step / options.steps
    if options.time_limit is not None:
        done = max(done, (time.perf_counter() - started) / options.time_limit)
    return np.float32(min(done, 1.0))


def _out_of_time(options: TrainOptions, started: float) -> bool:
    return options.time_limit is not None and time.perf_counter() - started >= options.time_limit


def _stop(state: TrainState, saved: int, log: "_MetricsLog", checkpoints: Checkpoints) -> None:
    """Keep the work of an interrupted loop: its metrics and, when finite and not saved yet, its current step."""
    step = int(jax.device_get(state.step))
    if step > saved and int(state.nonfinite_step) < 0:
        log.flush(step)
        checkpoints.save(state)
        _log.info("interrupted: saved step %d in %s", step, checkpoints.directory)
    else:
        _log.info("interrupted at step %d; the newest checkpoint is step %d", step, saved)


def _run_config(config: object | None, run: Run, resume: bool, *, inspect: bool = True) -> dict:
    """The filled config to train with. ``inspect``: refuse a fresh run into a folder holding checkpoints (only
    process 0 of a multi-host run looks: reading checkpoints is a collective step there)."""
    if resume:
        if not run.exists():
            raise CheckpointError(f"{run.path}: no run to resume (no config.json); drop --resume to start one")
        saved = run.config
        cfg = saved if config is None else fill_run_config(config)
        changed = [p for section in FIXED_SECTIONS for p in differences(saved[section], cfg[section], section)]
        if changed:
            raise ConfigError(
                [
                    (path, "differs from the run's saved config; a resumed run keeps its model and data")
                    for path in changed
                ]
            )
        return cfg
    if config is None:
        raise ConfigError("no run config given")
    cfg = fill_run_config(config)
    if inspect and (run.steps() or ((run.path / "checkpoints").is_dir() and any((run.path / "checkpoints").iterdir()))):
        raise CheckpointError(f"{run.path} already holds a run; pass --resume to continue it, or choose another --out")
    return cfg


def differences(old: object, new: object, path: str) -> list[str]:
    """Dotted paths (under ``path``) where two JSON-like values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            p for key in sorted(set(old) | set(new)) for p in differences(old.get(key), new.get(key), f"{path}.{key}")
        ]
    return [] if old == new else [path]


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

    def __init__(self, run: Run | None, start: int, *, images_per_step: int):
        self.run, self.images_per_step = run, images_per_step
        self.pending: list[dict] = []
        self.last_time, self.last_step = time.perf_counter(), start

    def add(self, metrics: dict) -> None:
        self.pending.append(metrics)

    def flush(self, step: int) -> dict[str, str]:
        if not self.pending:
            return {}
        values = jax.device_get(self.pending)
        now = time.perf_counter()
        row = {"step": step, **{k: float(np.mean([v[k] for v in values])) for k in values[0]}}
        row["images_per_s"] = (step - self.last_step) * self.images_per_step / max(now - self.last_time, 1e-9)
        if self.run is not None:  # process 0 writes the metrics of a multi-host run
            self.run.append_metrics(row)
        self.pending, self.last_time, self.last_step = [], now, step
        return {"loss": f"{row['loss']:.4f}", "img/s": f"{row['images_per_s']:.0f}"}


class _Preview:
    """Sample grids of held-out (validation) classes with the EMA weights: context | samples, one row a class."""

    def __init__(self, model: FewShotDiffusion, splits: Splits, options: TrainOptions, run: Run):
        self.options, self.dir = options, run.path / "samples"
        self.model = model
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
            method=self.options.sample_method,
            guidance=self.options.sample_guidance,
            seed=self.options.seed + 1,
        )
