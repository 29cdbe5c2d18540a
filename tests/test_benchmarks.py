"""The benchmark suite runs end to end: ``python -m benchmarks --quick`` in a subprocess writes JSON with every
section and the figures each table is built from (their values are timings, never checked here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
