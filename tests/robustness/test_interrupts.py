"""Interrupts are clean: SIGINT or SIGTERM at a random moment of a real ``fsdiff train`` (compiling, stepping,
writing a checkpoint, sampling a preview) ends it within 10 s with exit code 130/143, no crash, every complete
checkpoint kept and readable, the current step saved; a resume then logs each step once. A process started with
SIGINT ignored (``timeout -s INT`` from a script, ``nohup``) still stops."""

import json
import random
import signal
import subprocess
import sys
import time

import pytest

import fsdiff
from fsdiff.runs import Run
from tests.runs import tiny_config

LIMIT_S = 10.0
ENDLESS = tiny_config(steps=100_000, checkpoint_every=7, log_every=1, sample_every=5, keep=2)


def start(args, env, *, ignore_sigint=False) -> subprocess.Popen:
    """A real ``fsdiff`` process; ``ignore_sigint``: started with SIGINT ignored, as a shell's background job."""
    command = [sys.executable, "-m", "fsdiff.cli", *args]
    if ignore_sigint:
        command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, process, timeout=300.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.01)


def stop(process, signum) -> tuple[int, str, float]:
    """Send ``signum``; returns the exit code, stderr and the seconds the process took to end."""
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, stderr, time.monotonic() - sent


def assert_clean(code, stderr, took, signum):
    assert code == 128 + signum, stderr[-2000:]
    assert took < LIMIT_S
    assert "fsdiff: interrupted by" in stderr and "Traceback" not in stderr and "Segmentation" not in stderr


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(ENDLESS))
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_at_a_random_moment_of_training_stops_it_cleanly_and_saves_the_step(
    tmp_path, config_file, cli_env, signum
):
    out = tmp_path / "run"
    process = start(["train", "--config", config_file, "--out", str(out), "--quiet"], cli_env)
    wait_for(lambda: Run(out).steps(), process)  # past the first compiles: stepping, saving or previewing now
    time.sleep(random.Random(int(signum)).uniform(0.0, 1.5))
    code, stderr, took = stop(process, signum)
    assert_clean(code, stderr, took, signum)
    run = Run(out)
    logged = [row["step"] for row in run.metrics()]
    assert run.steps()[-1] == logged[-1], f"the step reached is saved: {stderr[-2000:]}"
    assert isinstance(fsdiff.load(out), fsdiff.FewShotDiffusion)
    resumed = subprocess.run(
        [sys.executable, "-m", "fsdiff.cli", "train", "--out", str(out), "--resume", "--quiet"]
        + ["--steps", str(logged[-1] + 3)],
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    steps = [row["step"] for row in run.metrics()]
    assert steps == sorted(set(steps)) and steps[-1] == logged[-1] + 3


@pytest.mark.slow
def test_a_signal_while_starting_up_or_compiling_ends_the_process_within_the_limit(tmp_path, config_file, cli_env):
    out = tmp_path / "run"
    process = start(["train", "--config", config_file, "--out", str(out), "--quiet"], cli_env)
    wait_for(lambda: (out / "config.json").is_file(), process)  # the model is built; the step compiles next
    code, stderr, took = stop(process, signal.SIGINT)
    assert code == 130 and took < LIMIT_S, stderr[-2000:]
    assert "Traceback" not in stderr and "Segmentation" not in stderr
    assert all(isinstance(fsdiff.load(out, step=s), fsdiff.FewShotDiffusion) for s in Run(out).steps())


@pytest.mark.slow
def test_sigint_stops_a_run_started_with_sigint_ignored(tmp_path, config_file, cli_env):
    out = tmp_path / "run"
    process = start(["train", "--config", config_file, "--out", str(out), "--quiet"], cli_env, ignore_sigint=True)
    wait_for(lambda: len(Run(out).metrics()) >= 2, process)
    code, stderr, took = stop(process, signal.SIGINT)
    assert_clean(code, stderr, took, signal.SIGINT)


def test_a_signal_that_lands_in_a_garbage_collection_callback_still_ends_the_process_quietly():
    """Python drops an exception raised in a gc callback (jaxlib registers one); the deadline ends the process."""
    program = """
import gc, os, signal, time
from fsdiff.runs import interrupts

def collecting(phase, info):
    if phase == "start" and not sent:
        sent.append(True)
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10_000))  # the handler runs here, inside the callback

sent = []
gc.callbacks.append(collecting)
with interrupts.handle_interrupts(grace_s=1.0):
    gc.collect()
    time.sleep(30)
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "interrupted by SIGINT" in done.stderr
