"""Atomic Orbax checkpoints of the training state, keeping the last few; restore falls back past damaged ones."""

import logging
import os
import shutil
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from fsdiff.errors import CheckpointError
from fsdiff.training.state import TrainState

_log = logging.getLogger(__name__)


class Checkpoints:
    """The checkpoints of a run folder, ``<run>/checkpoints/<step>``.

    Orbax writes each checkpoint into a temporary folder and renames it into place when complete, so a crash or
    ``kill -9`` mid-write leaves the previous checkpoints intact; the partial folder is removed when a writer
    (the training loop, ``write=True``, holding the run's lock) opens the run folder again. Readers never touch the
    folder. Saving is synchronous: when ``save`` returns, the checkpoint is on disk. The state is stored as a flat
    ``{path: array}`` mapping, independent of how NNX and optax nest their pytrees, so inference can read the EMA
    weights alone (``restore_weights``) without building an optimizer.

    Without an explicit ``step``, both restores take the newest checkpoint that reads back, and log which
    checkpoint was skipped and why (a truncated, deleted or emptied file).
    """

    def __init__(self, run_dir: str | os.PathLike, *, keep: int = 3, write: bool = False):
        self.directory = Path(run_dir).absolute() / "checkpoints"
        if write:
            for partial in self.directory.glob("*.orbax-checkpoint-tmp*"):
                shutil.rmtree(partial)
        elif not self.directory.is_dir():
            raise CheckpointError(f"{self.directory}: no checkpoints; is {run_dir} an fsdiff run folder?")
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(
                max_to_keep=keep if write else None,
                enable_async_checkpointing=False,
                create=write,
                read_only=not write,
                cleanup_tmp_directories=write,
            ),
        )

    def steps(self) -> list[int]:
        """The steps of the complete checkpoints on disk, oldest first."""
        self._manager.reload()
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def save(self, state: TrainState) -> int:
        """Write ``state`` under its step, replacing a damaged checkpoint of that step left behind by a fallback;
        returns the step."""
        step = int(jax.device_get(state.step))
        if step in self._manager.all_steps():
            self._manager.delete(step)
        self._manager.save(step, args=ocp.args.StandardSave(_flatten(state)), force=True)
        self._manager.wait_until_finished()
        return step

    def restore(self, template: TrainState, step: int | None = None) -> TrainState:
        """The whole training state saved at ``step`` (default: the newest intact one), shaped like ``template``."""
        # Restored replicated over this run's devices, whatever devices wrote it (4 CPUs, 2 hosts ...).
        replicated = NamedSharding(Mesh(np.asarray(jax.devices()), ("devices",)), PartitionSpec())
        abstract = {
            k: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=replicated) for k, v in _flatten(template).items()
        }
        flat = self._restore(abstract, step, partial=False)
        leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
        return jax.tree_util.tree_unflatten(treedef, [np.asarray(flat[jax.tree_util.keystr(p)]) for p, _ in leaves])

    def restore_weights(self, template: nnx.State, step: int | None = None, *, ema: bool = True) -> nnx.State:
        """Only the model weights saved at ``step`` (default: the newest intact checkpoint): the EMA (or, with
        ``ema=False``, the raw parameters), shaped like ``template`` (``nnx.state(model, nnx.Param)``). Reads no
        optimizer state, so inference needs none."""
        prefix = ".ema" if ema else ".params"
        leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
        keys = [prefix + jax.tree_util.keystr(p) for p, _ in leaves]
        abstract = {k: jax.ShapeDtypeStruct(np.shape(v), v.dtype) for k, (_, v) in zip(keys, leaves, strict=True)}
        flat = self._restore(abstract, step, partial=True)
        return jax.tree_util.tree_unflatten(treedef, [np.asarray(flat[k]) for k in keys])

    def close(self) -> None:
        self._manager.close()

    def _restore(self, abstract: dict, step: int | None, *, partial: bool) -> dict:
        steps = self.steps()
        if step is not None and step not in steps:
            existing = ", ".join(map(str, steps)) or "none"
            raise CheckpointError(f"{self.directory}: no checkpoint at step {step} (steps on disk: {existing})")
        if not steps:
            raise CheckpointError(f"{self.directory}: no checkpoint to restore")
        candidates = [step] if step is not None else steps[::-1]
        problems = []
        for candidate in candidates:
            try:
                flat = self._read(candidate, abstract, partial)
            except Exception as exc:  # Orbax and TensorStore report damage with many exception types
                problems.append(f"step {candidate}: {_reason(exc)}")
                continue
            if problems:
                _log.warning("checkpoint %s is damaged; using step %d instead", "; ".join(problems), candidate)
            return flat
        raise CheckpointError(f"{self.directory}: no intact checkpoint ({'; '.join(problems)})")

    def _read(self, step: int, abstract: dict, partial: bool) -> dict:
        if partial:
            as_numpy = {k: ocp.RestoreArgs(restore_type=np.ndarray) for k in abstract}
            args = ocp.args.PyTreeRestore(abstract, restore_args=as_numpy, partial_restore=True)
        else:
            args = ocp.args.StandardRestore(abstract)
        flat = self._manager.restore(step, args=args)
        missing = sorted(set(abstract) - set(flat))
        if missing:
            raise CheckpointError(f"does not hold {missing[0]}")
        return flat


def _reason(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _flatten(state: TrainState) -> dict:
    return {jax.tree_util.keystr(path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]}
