"""The benchmark suite runs end to end: ``python -m benchmarks --quick`` (and ``--device --quick``) in a subprocess
writes JSON with every section and the figures each table is built from (their values are timings, never checked
here); a device part that overruns its limit is killed and leaves a row."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.device import Part, append_row, read_rows, run_part

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("machine", "step", "loo", "contracts", "sampling", "overhead", "sharded", "allocator", "optimizations")


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmarks") / "results.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def test_quick_run_writes_every_section(quick_results):
    results, _ = quick_results
    assert results["quick"] is True
    for section in SECTIONS:
        assert results[section], f"section {section!r} is empty"
    for section in SECTIONS[1:]:
        assert all(isinstance(row, dict) for row in results[section]), section


def test_rows_carry_the_figures_the_issue_asks_for(quick_results):
    results, _ = quick_results
    assert results["machine"]["matmul_gflops"] > 0
    step = results["step"][0]
    for key in ("step_median_ms", "step_min_ms", "compile_s", "images_per_s", "gflop_per_step", "roofline_ratio"):
        assert step[key] is not None, key
    loo = results["loo"][0]
    assert {"loo_over_one_pass_fwd_bwd", "sequential_over_loo_fwd_bwd"} <= loo.keys()
    assert any(row["what"].startswith("jitted") for row in results["contracts"])
    assert {row["method"] for row in results["sampling"]} == {"ddim", "ddpm"}
    assert "overhead_fraction" in results["overhead"][0]
    assert [row["devices"] for row in results["sharded"]] == [1, 2]
    assert "speedup" in results["optimizations"][0]


def test_a_table_is_printed_per_section(quick_results):
    _, stdout = quick_results
    for title in ("Training step", "Leave-one-out", "Contract checks", "Sampling", "Python overhead", "Sharded"):
        assert title in stdout


def test_device_quick_run_writes_a_row_per_part_with_the_device_figures(tmp_path):
    """``python -m benchmarks --device --quick`` on this CPU: the matmul rate, config A's step in float32 and
    bfloat16 (step ms, images/s, TFLOP/s, MFU against the bf16 matmul, peak memory, compile s) and the CLI smoke."""
    out = tmp_path / "device.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--device", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    failed = [row for row in rows if row.get("status", "ok") != "ok"]
    assert not failed, failed
    assert rows[0]["part"] == "matmul" and rows[0]["bf16_tflops"] > 0
    steps = [row for row in rows if row["part"].startswith("step")]
    assert [(row["config"], row["compute_dtype"], row["batch_sets"]) for row in steps] == [
        ("A", "bfloat16", 2),
        ("A", "float32", 2),
    ]
    for row in steps:
        for key in ("step_ms", "images_per_s", "achieved_tflops", "mfu", "compile_s"):
            assert row[key] > 0, key
        assert "device_peak_mib" in row and row["attention"] == "written"
    assert [row["part"] for row in rows[3:]] == ["fsdiff train", "fsdiff sample", "fsdiff eval"]
    assert "Training step on the device" in done.stdout


def test_a_device_part_that_overruns_is_killed_and_leaves_a_timeout_row_after_the_finished_ones(tmp_path):
    """Each part is bounded: SIGTERM at its limit, SIGKILL after the grace when it ignores that; rows written
    before stay in the file."""
    out = tmp_path / "rows.jsonl"
    append_row(out, {"part": "finished"})
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('started', flush=True)"
    stubborn += "; time.sleep(120)"
    started = time.monotonic()
    row = run_part(Part("stubborn", [sys.executable, "-c", stubborn], 120.0), out, limit_s=3.0, grace_s=1.0)
    assert time.monotonic() - started < 60
    assert row["status"] == "timeout" and "started" in row["output_tail"]
    assert [r["part"] for r in read_rows(out)] == ["finished", "stubborn"]
