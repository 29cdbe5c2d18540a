"""Multi-host training: joining the processes of one run with ``jax.distributed`` before any JAX work."""

import os

import jax

from fsdiff.errors import ConfigError
from fsdiff.training.options import TrainOptions

ENV = {
    "coordinator_address": "JAX_COORDINATOR_ADDRESS",
    "num_processes": "JAX_NUM_PROCESSES",
    "process_id": "JAX_PROCESS_ID",
}
"""The environment variables read for the options left unset (``JAX_COORDINATOR_ADDRESS`` is JAX's own)."""


def initialize(options: TrainOptions) -> None:
    """``jax.distributed.initialize`` with the ``train`` options ``coordinator_address``, ``num_processes`` and
    ``process_id``, each read from its environment variable (``ENV``) when unset; with none of them JAX detects
    the cluster itself (SLURM, Open MPI, Cloud TPU). Every process then sees every device of the run, and the
    data-parallel step spans them all.

    One process per host, the same config everywhere: the process id usually differs per host, hence the
    environment. A partial setting (an address without a process count or id) raises ``ConfigError``.
    """
    given = {name: getattr(options, name) for name in ENV}
    values = {name: given[name] if given[name] is not None else os.environ.get(var) for name, var in ENV.items()}
    if all(v is None for v in values.values()):
        jax.distributed.initialize()
        return
    missing = [name for name, v in values.items() if v is None]
    if missing:
        raise ConfigError(
            [
                (f"train.{name}", f"needed with the other distributed settings; set it or {ENV[name]}")
                for name in missing
            ]
        )
    try:
        num_processes, process_id = int(values["num_processes"]), int(values["process_id"])
    except ValueError as exc:
        raise ConfigError([("train.num_processes", f"process count and id must be integers: {exc}")]) from exc
    if not 0 <= process_id < num_processes:
        raise ConfigError([("train.process_id", f"{process_id} is not in [0, {num_processes})")])
    jax.distributed.initialize(
        coordinator_address=str(values["coordinator_address"]), num_processes=num_processes, process_id=process_id
    )


def is_primary() -> bool:
    """Whether this process writes the run folder's files (process 0; all processes take part in checkpoints)."""
    return jax.process_index() == 0
