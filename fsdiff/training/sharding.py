"""Data parallelism over every JAX device: the batch is split along its set axis, the state is replicated."""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from fsdiff.errors import ConfigError

AXIS = "data"


class DataParallel:
    """A 1-D device mesh over all devices (of every process, after ``jax.distributed.initialize()``).

    ``batch`` places a global batch ``"b n h w c"`` split over the devices along ``b``; ``replicate`` places the
    state on every device. Gradients are averaged by the compiler: the jitted step sees one global batch, and XLA
    inserts the all-reduce where the sharded loss meets the replicated parameters.
    """

    def __init__(self, devices: list | None = None):
        devices = jax.devices() if devices is None else devices
        self.mesh = Mesh(np.asarray(devices), (AXIS,))
        self.size = len(devices)
        self.batch_sharding = NamedSharding(self.mesh, PartitionSpec(AXIS))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())

    def check_batch(self, batch_sets: int) -> None:
        if batch_sets % self.size:
            raise ConfigError(
                [("train.batch_sets", f"{batch_sets} sets do not split over {self.size} devices; use a multiple")]
            )

    def batch(self, global_batch: np.ndarray) -> jax.Array:
        """The global batch as one array sharded over the devices; each process supplies its own slice."""
        if jax.process_count() == 1:
            return jax.device_put(global_batch, self.batch_sharding)
        per_process = global_batch.shape[0] // jax.process_count()
        local = global_batch[jax.process_index() * per_process : (jax.process_index() + 1) * per_process]
        return jax.make_array_from_process_local_data(self.batch_sharding, local, global_batch.shape)

    def replicate(self, tree):
        return jax.device_put(tree, self.replicated)
