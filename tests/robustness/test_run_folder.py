"""Run folders lose nothing: one writer at a time (a second is told who holds the lock; a dead holder's lock is
taken over), nothing changes before an operation is known to be valid, damaged checkpoints fall back to the newest
intact one, and metrics hold each step once after a resume."""

import contextlib
import json
import logging
import shutil
import socket
import subprocess
import sys

import pytest

import fsdiff
from fsdiff.errors import CheckpointError, ConfigError
from fsdiff.runs import Run, run_demo, train
from tests.runs import tiny_config

CONFIG = tiny_config(steps=4, checkpoint_every=2, log_every=1, sample_every=100)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny run trained to step 4 with checkpoints at 2 and 4; tests work on copies."""
    out = tmp_path_factory.mktemp("finished") / "run"
    train(CONFIG, out, progress=False)
    return out


@pytest.fixture
def run_copy(finished_run, tmp_path):
    return shutil.copytree(finished_run, tmp_path / "run")


def snapshot(folder) -> dict:
    """Every file of a folder with its bytes (what "nothing changed" compares)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def lock_holder(run):
    """Another process holding the run's lock until it is killed."""
    with subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run)], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout.readline().strip() == "held"
            yield holder
        finally:
            holder.kill()


def test_a_second_writer_fails_at_once_naming_the_holder(run_copy):
    with lock_holder(run_copy) as holder:
        before = snapshot(run_copy)
        with pytest.raises(CheckpointError, match=rf"is in use by PID {holder.pid} on {socket.gethostname()} \("):
            train(None, run_copy, resume=True, progress=False)
        assert snapshot(run_copy) == before


def test_a_dead_holders_lock_is_taken_over_with_a_warning(run_copy, caplog):
    with lock_holder(run_copy) as holder:
        pass  # killed with SIGKILL on the way out: its record stays in the lock file
    with caplog.at_level(logging.WARNING, logger="fsdiff"):
        train({**CONFIG, "train": {**CONFIG["train"], "steps": 6}}, run_copy, resume=True, progress=False)
    assert f"taking over the stale lock of PID {holder.pid}" in caplog.text
    assert Run(run_copy).steps()[-1] == 6


def test_resume_with_a_changed_model_refuses_naming_the_keys_and_changes_nothing(run_copy):
    before = snapshot(run_copy)
    changed = json.loads(json.dumps(CONFIG))
    changed["model"]["denoiser"]["width"] = 32
    changed["model"]["encoder"]["depth"] = 2
    with pytest.raises(ConfigError) as error:
        train(changed, run_copy, resume=True, progress=False)
    assert [path for path, _ in error.value.problems] == ["model.denoiser.width", "model.encoder.depth"]
    assert "differs from the run's saved config" in str(error.value)
    assert snapshot(run_copy) == before


def test_demo_refuses_a_folder_holding_another_run(run_copy):
    before = snapshot(run_copy)
    with pytest.raises(CheckpointError, match=r"holds a run that is not the demo's \(model\.\S+.* differ\)"):
        run_demo(run_copy, steps=2, progress=False)
    assert snapshot(run_copy) == before


def test_out_that_is_a_file_a_foreign_folder_or_unwritable_is_refused_before_any_work(tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    with pytest.raises(CheckpointError, match=r"notes\.txt is a file, not a run folder"):
        train(CONFIG, file, progress=False)
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff")
    with pytest.raises(CheckpointError, match=r"photos holds files that are not a run's \(cat\.jpg\)"):
        train(CONFIG, foreign, progress=False)
    assert sorted(p.name for p in foreign.iterdir()) == ["cat.jpg"]
    with pytest.raises(CheckpointError, match=r"cannot write into .*notes\.txt"):
        train(CONFIG, file / "run", progress=False)
    assert file.read_text() == "mine"


# Orbax leaves coroutines of a failed read behind; they complain about the closed event loop when collected
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("damage", ["delete the data files", "truncate the data files", "empty the metadata"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_newest_intact_one(run_copy, damage, caplog):
    newest = run_copy / "checkpoints" / "4"
    if damage == "empty the metadata":
        (newest / "default" / "_METADATA").write_text("")
    else:
        for data in [p for p in (newest / "default").rglob("*") if p.is_file() and p.parent.name == "d"]:
            data.unlink() if damage == "delete the data files" else data.write_bytes(
                data.read_bytes()[: _size(data) // 2]
            )
    with caplog.at_level(logging.WARNING, logger="fsdiff"):
        model = fsdiff.load(run_copy)
    assert isinstance(model, fsdiff.FewShotDiffusion)
    assert "checkpoint step 4: " in caplog.text and "is damaged; using step 2 instead" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fsdiff"):
        state = train(None, run_copy, resume=True, progress=False)
    assert "using step 2 instead" in caplog.text
    assert int(state.step) == 4


def test_loading_a_missing_step_lists_the_steps_that_exist(finished_run):
    with pytest.raises(CheckpointError, match=r"no checkpoint at step 3 \(steps on disk: 2, 4\)"):
        fsdiff.load(finished_run, step=3)


def test_resume_on_a_finished_run_says_it_is_already_at_its_last_step(run_copy, caplog):
    before = snapshot(run_copy)
    with caplog.at_level(logging.INFO, logger="fsdiff"):
        state = train(None, run_copy, resume=True, progress=False)
    assert int(state.step) == 4
    assert "is already at step 4 (train.steps = 4); nothing to do" in caplog.text
    assert snapshot(run_copy) == before


def test_metrics_hold_each_step_once_after_a_resume(run_copy):
    run = Run(run_copy)
    (run_copy / "checkpoints" / "4").rename(run_copy / "gone")  # as if killed after logging steps 3-4
    shutil.rmtree(run_copy / "gone")
    assert [row["step"] for row in run.metrics()] == [1, 2, 3, 4]
    train(None, run_copy, resume=True, progress=False)
    assert [row["step"] for row in run.metrics()] == [1, 2, 3, 4]


HOLD_LOCK = """
import sys, time
from pathlib import Path
from fsdiff.runs.lock import run_lock
with run_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def _size(path) -> int:
    return path.stat().st_size
