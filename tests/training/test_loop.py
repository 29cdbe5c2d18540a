"""The training loop as a user runs it: exact resume after kill -9, crash-safe checkpoints, the NaN guard,
seeded reproducibility. Runs the real ``fsdiff train`` in subprocesses where a process must die."""

import contextlib
import json
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import fsdiff
from fsdiff.runs import Checkpoints, Run, train
from fsdiff.runs.train import _expected_steps
from fsdiff.training import new_training
from fsdiff.training.options import TrainOptions
from tests.runs import fsdiff_cli, tiny_config


def _final_params(run_dir):
    config = Run(run_dir).config
    _, template, _ = new_training(config)
    checkpoints = Checkpoints(run_dir)
    try:
        return checkpoints.restore(template)
    finally:
        checkpoints.close()


def _write(path, config):
    path.write_text(json.dumps(config))
    return str(path)


@contextlib.contextmanager
def _running(args, env):
    """A real ``fsdiff`` process, killed on the way out whatever happens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fsdiff.cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _completed_steps(run_dir):
    """Checkpoint steps whose folders are complete (Orbax renames a folder into place when it is done)."""
    folder = run_dir / "checkpoints"
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() else []


def _wait_for(predicate, process, timeout=300.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if process.poll() is not None:
            return predicate()
        time.sleep(0.005)
    return False


def test_killed_and_resumed_run_ends_with_exactly_the_parameters_of_a_straight_run(tmp_path, cli_env):
    config = _write(tmp_path / "run.json", tiny_config(steps=40, checkpoint_every=20, log_every=5, sample_every=1000))
    straight = fsdiff_cli(["train", "--config", config, "--out", str(tmp_path / "straight"), "--quiet"], cli_env)
    assert straight.returncode == 0, straight.stderr

    interrupted = tmp_path / "interrupted"
    with _running(["train", "--config", config, "--out", str(interrupted), "--quiet"], cli_env) as process:
        assert _wait_for(lambda: 20 in _completed_steps(interrupted), process)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run must be killed mid-way for this test to mean anything"
    assert _completed_steps(interrupted)[-1] == 20

    resumed = fsdiff_cli(["train", "--out", str(interrupted), "--resume", "--quiet"], cli_env)
    assert resumed.returncode == 0, resumed.stderr
    a, b = _final_params(tmp_path / "straight"), _final_params(interrupted)
    assert int(a.step) == int(b.step) == 40
    for x, y in zip(
        jax.tree.leaves((a.params, a.ema, a.opt_state)), jax.tree.leaves((b.params, b.ema, b.opt_state)), strict=True
    ):
        np.testing.assert_array_equal(x, y)


def test_kill_during_checkpoint_writes_never_corrupts_the_last_checkpoint(tmp_path, cli_env):
    config = _write(
        tmp_path / "run.json", tiny_config(steps=400, checkpoint_every=1, keep=2, log_every=1, sample_every=1000)
    )
    out = tmp_path / "run"
    for delay in (0.0, 0.05, 0.11):
        before = _completed_steps(out)
        resume = ["--resume"] if before else []
        with _running(["train", "--config", config, "--out", str(out), "--quiet", *resume], cli_env) as process:
            assert _wait_for(lambda b=before: _completed_steps(out)[-1:] > b[-1:], process)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
        restored = _final_params(out)
        assert int(restored.step) == _completed_steps(out)[-1]
        assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(restored.params))
    resumed = fsdiff_cli(
        ["train", "--out", str(out), "--resume", "--quiet", "--steps", str(int(restored.step) + 2)], cli_env
    )
    assert resumed.returncode == 0, resumed.stderr
    assert _completed_steps(out)[-1] == int(restored.step) + 2


def test_nan_batch_stops_training_naming_the_step_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    original = fsdiff.data.SetSampler.batch

    def poisoned(self, step):
        batch = original(self, step)
        return batch * np.nan if step == 7 else batch

    monkeypatch.setattr(fsdiff.data.SetSampler, "batch", poisoned)
    out = tmp_path / "run"
    with pytest.raises(
        fsdiff.TrainingError, match=r"step 7: the loss or its gradient is not finite.*last good checkpoint is step 6"
    ):
        train(tiny_config(steps=12, checkpoint_every=6, log_every=2), out, progress=False)
    assert Checkpoints(out).latest_step() == 6
    restored = _final_params(out)
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(restored.params))


def test_same_seed_same_parameters_different_seed_different(tmp_path):
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        state = train(
            tiny_config(steps=3, checkpoint_every=3, log_every=3, sample_every=100, seed=seed),
            tmp_path / name,
            progress=False,
        )
        runs[name] = jax.tree.leaves(jax.device_get(state.params))
    assert all(np.array_equal(x, y) for x, y in zip(runs["a"], runs["b"], strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(runs["a"], runs["c"], strict=True))


def test_a_run_folder_is_never_overwritten_without_resume(tmp_path):
    train(tiny_config(steps=2, checkpoint_every=2, log_every=2, sample_every=100), tmp_path / "run", progress=False)
    with pytest.raises(fsdiff.CheckpointError, match="already holds a run; pass --resume"):
        train(tiny_config(steps=2), tmp_path / "run", progress=False)


def test_run_folder_has_config_metrics_samples_and_loss_curve(tmp_path):
    out = tmp_path / "run"
    train(tiny_config(steps=4, checkpoint_every=4, log_every=2, sample_every=4), out, progress=False)
    assert Run(out).config == fsdiff.training.fill_run_config(
        tiny_config(steps=4, checkpoint_every=4, log_every=2, sample_every=4)
    )
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    assert {"loss", "mse", "kl", "context_norm", "grad_norm", "lr", "images_per_s"} <= set(rows[0])
    assert (out / "samples" / "step_0000004.png").is_file() and (out / "loss.png").is_file()
    model = fsdiff.load(out)
    assert isinstance(model, fsdiff.FewShotDiffusion) and model.config == Run(out).config["model"]


def test_a_time_limit_ends_training_early_with_its_last_step_saved_and_previewed(tmp_path):
    """A limit shorter than the first step (which compiles) stops after that step, as a budget of wall time would:
    the step is checkpointed, logged and previewed, exactly as a run's last step; and its learning rate has
    decayed by the clock (the limit was spent before the step ran), not by its 1 step of 50."""
    out = tmp_path / "run"
    config = tiny_config(steps=50, checkpoint_every=25, log_every=25, time_limit=1e-6, warmup=0, lr=1e-3)
    state = train(config, out, progress=False)
    assert int(state.step) == 1
    assert Run(out).steps() == [1]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1]
    assert rows[0]["lr"] == pytest.approx(1e-3 * Run(out).config["train"]["final_lr_fraction"])
    assert (out / "samples" / "step_0000001.png").is_file()


def test_the_progress_bar_expects_the_step_the_clock_will_stop_at():
    """With a time limit the bar's total (hence its ETA) is the step the limit will stop the run at, at the pace so
    far: 100 steps in half of a 20 s limit make 200, never more than ``train.steps``, never less than done."""
    ten_seconds_ago = time.perf_counter() - 10.0
    assert _expected_steps(TrainOptions(steps=1000, time_limit=20.0), 0, 100, ten_seconds_ago) in (198, 199, 200)
    assert _expected_steps(TrainOptions(steps=150, time_limit=20.0), 0, 100, ten_seconds_ago) == 150
    assert _expected_steps(TrainOptions(steps=1000, time_limit=5.0), 0, 100, ten_seconds_ago) == 100
    assert _expected_steps(TrainOptions(steps=1000), 0, 100, ten_seconds_ago) == 1000


def test_a_time_limit_is_refused_for_a_multi_host_run(tmp_path):
    with pytest.raises(fsdiff.ConfigError, match="train.time_limit: not with train.distributed"):
        train(tiny_config(time_limit=60.0, distributed=True), tmp_path / "run", progress=False)
