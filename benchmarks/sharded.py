"""The data-parallel training step (``fsdiff.training.DataParallel``) on 1, 2, 4 and 8 forced CPU devices, each
count in a process of its own (``XLA_FLAGS=--xla_force_host_platform_device_count=N``).

The model is the demo preset's with 8 sets a batch (1 set a device at 8). Forced host devices share this machine's
cores, so this measures what the sharding costs (partitioning, all-reduces), not a speed-up. The quick mode times
meshes of 1 and 2 devices in one process with 2 forced devices.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import Settings, format_table, ratio

ROOT = Path(__file__).resolve().parents[1]


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    if settings.quick:
        rows = worker(["--config", "demo", "--quick", "--meshes", "1,2"], devices=2)
    else:
        rows = [row for n in (1, 2, 4, 8) for row in worker(["--config", "demo"], devices=n)]
    single = rows[0]["step_median_ms"]
    for row in rows:
        row["ratio_vs_1_device"] = ratio(row["step_median_ms"], single)
    return rows


def worker(args: list[str], *, devices: int = 1, env: dict | None = None) -> list[dict]:
    """Run ``python -m benchmarks.worker args`` with ``devices`` forced CPU devices; its rows."""
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if "device_count" not in f]
    environment = {
        **os.environ,
        "XLA_FLAGS": " ".join([*flags, f"--xla_force_host_platform_device_count={devices}"]),
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.worker {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    return format_table(
        "Sharded step on forced CPU devices (one process each; same 2 cores)",
        rows,
        [
            ("devices", "devices"),
            ("step_median_ms", "median ms"),
            ("step_min_ms", "min ms"),
            ("compile_s", "compile s"),
            ("ratio_vs_1_device", "vs 1 device"),
        ],
    )
