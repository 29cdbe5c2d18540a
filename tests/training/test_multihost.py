"""Multi-host training for real: two ``fsdiff train`` processes of 2 CPU devices each, joined by ``jax.distributed``
on a localhost coordinator (gloo collectives), train, checkpoint and resume, and end with the parameters of one
process training on 4 devices."""

import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

import fsdiff
from fsdiff.runs import Checkpoints, Run
from fsdiff.training import TrainOptions, new_training
from fsdiff.training.distributed import initialize
from tests.runs import tiny_config

pytestmark = pytest.mark.slow

# No held-out classes: no preview grids, whose sampling is not what this test is about.
CONFIG = tiny_config(steps=4, checkpoint_every=2, log_every=2, val_classes=0, test_classes=0)


def _train(run, env, *, devices, steps, resume=False, distributed=None):
    """``fsdiff train`` of ``CONFIG`` for ``steps`` steps on ``devices`` CPU devices per process; ``distributed``:
    ``(address, num_processes)`` to start that many processes joined at ``address``."""
    config = run.parent / f"{run.name}.json"
    config.write_text(json.dumps({**CONFIG, "train": {**CONFIG["train"], "distributed": distributed is not None}}))
    args = [sys.executable, "-m", "fsdiff.cli", "train", "--config", str(config), "--out", str(run), "--quiet"]
    args += ["--steps", str(steps), *(["--resume"] if resume else [])]
    env = {**env, "JAX_NUM_CPU_DEVICES": str(devices), "JAX_PLATFORMS": "cpu"}
    # Without the session's persistent compilation cache: a process that hits it while another compiles was seen
    # to leave the run waiting in its first step (not investigated further).
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    address, count = distributed or (None, 1)
    processes = [
        subprocess.Popen(
            args,
            env={**env, "JAX_COORDINATOR_ADDRESS": address, "JAX_NUM_PROCESSES": str(count), "JAX_PROCESS_ID": str(i)}
            if address
            else env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(count)
    ]
    return processes


def _finish(processes):
    """Wait for every process (killing them all if one hangs); each must succeed."""
    try:
        outputs = [process.communicate(timeout=600)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]


def _params(run):
    _, template, _ = new_training(Run(run).config)
    checkpoints = Checkpoints(run)
    try:
        return checkpoints.latest_step(), jax.device_get(checkpoints.restore(template).params)
    finally:
        checkpoints.close()


def _free_address():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return f"localhost:{s.getsockname()[1]}"


def test_two_processes_train_checkpoint_and_resume_to_the_parameters_of_one_process_on_four_devices(tmp_path, cli_env):
    single, multi = tmp_path / "single", tmp_path / "multi"
    reference = _train(single, cli_env, devices=4, steps=4)
    try:
        _finish(_train(multi, cli_env, devices=2, steps=2, distributed=(_free_address(), 2)))
        _finish(_train(multi, cli_env, devices=2, steps=4, resume=True, distributed=(_free_address(), 2)))
    finally:
        _finish(reference)
    (single_step, expected), (multi_step, got) = _params(single), _params(multi)
    assert single_step == multi_step == 4
    for e, g in zip(jax.tree.leaves(expected), jax.tree.leaves(got), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    # One writer: one metrics line per logged step, not one per process.
    steps = [json.loads(line)["step"] for line in (multi / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4]


def test_partial_distributed_settings_are_a_config_error(monkeypatch):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    options = TrainOptions(distributed=True, coordinator_address="localhost:1234", num_processes=2)
    with pytest.raises(fsdiff.ConfigError, match=r"train.process_id: needed with the other distributed settings; "
                                                 r"set it or JAX_PROCESS_ID"):  # fmt: skip
        initialize(options)
    monkeypatch.setenv("JAX_PROCESS_ID", "2")
    with pytest.raises(fsdiff.ConfigError, match=r"train.process_id: 2 is not in \[0, 2\)"):
        initialize(options)


def test_the_environment_fills_what_the_config_leaves_unset(monkeypatch):
    calls = []
    monkeypatch.setattr(jax.distributed, "initialize", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "host0:1234")
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    monkeypatch.setenv("JAX_PROCESS_ID", "1")
    initialize(TrainOptions(distributed=True))
    initialize(TrainOptions(distributed=True, process_id=0))
    assert calls == [
        {"coordinator_address": "host0:1234", "num_processes": 2, "process_id": 1},
        {"coordinator_address": "host0:1234", "num_processes": 2, "process_id": 0},
    ]
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name)
    initialize(TrainOptions(distributed=True))
    assert calls[-1] == {}  # none set: JAX detects the cluster (SLURM, Open MPI, TPU)
    assert os.environ.get("JAX_PROCESS_ID") is None
