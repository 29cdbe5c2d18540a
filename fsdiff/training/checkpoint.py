"""Atomic Orbax checkpoints of the training state, keeping the last few."""

import os
import shutil
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from fsdiff.errors import CheckpointError
from fsdiff.training.state import TrainState


class Checkpoints:
    """The checkpoints of a run folder, ``<run>/checkpoints/<step>``.

    Orbax writes each checkpoint into a temporary folder and renames it into place when complete, so a crash or
    ``kill -9`` mid-write leaves the previous checkpoints intact; the partial folder is removed when a writer
    (the training loop, ``write=True``) opens the run folder again. Readers never touch the folder.
    Saving is synchronous: when ``save`` returns, the checkpoint is on disk. The state is stored as a flat
    ``{path: array}`` mapping, independent of how NNX and optax nest their pytrees.
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

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, state: TrainState) -> int:
        """Write ``state`` under its step; returns the step."""
        step = int(jax.device_get(state.step))
        self._manager.save(step, args=ocp.args.StandardSave(_flatten(state)), force=True)
        self._manager.wait_until_finished()
        return step

    def restore(self, template: TrainState, step: int | None = None) -> TrainState:
        """The state saved at ``step`` (default: the latest), shaped like ``template``."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise CheckpointError(f"{self.directory}: no checkpoint to restore")
        # Restored replicated over this process's run's devices, whatever devices wrote it (4 CPUs, 2 hosts ...).
        replicated = NamedSharding(Mesh(np.asarray(jax.devices()), ("devices",)), PartitionSpec())
        abstract = {
            k: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=replicated) for k, v in _flatten(template).items()
        }
        try:
            flat = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{self.directory / str(step)}: cannot restore: {exc}") from exc
        leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
        return jax.tree_util.tree_unflatten(treedef, [np.asarray(flat[jax.tree_util.keystr(p)]) for p, _ in leaves])

    def close(self) -> None:
        self._manager.close()


def _flatten(state: TrainState) -> dict:
    return {jax.tree_util.keystr(path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]}
