"""``python -m benchmarks --device``: what fsdiff does on one accelerator, in a bounded few minutes.

Parts, in this order: the bf16 (and float32) matmul rate of the device; the training steps of configs A and C1 at
64 sets a batch, in bfloat16 and float32 (step ms, images/s, compile s, XLA's FLOPs, achieved TFLOP/s and its ratio
to the bf16 matmul rate, the MFU; peak device memory); a smoke of the real CLI on the device: ``fsdiff train`` (a few
hundred steps), ``fsdiff sample`` and ``fsdiff eval`` of that run; then the same steps at 4 sets a batch. Each step
compiles in a process of its own (25-40 s on an H200), so the default budget holds the 64-set rows and what fits
after them; ``--budget 600`` runs every part (``benchmarks/DEVICE.md``).

Each part runs in a process of its own (``benchmarks.device_worker`` or the ``fsdiff`` CLI) under its own time
limit, shortened to what is left of the whole budget (``--budget``, 285 s by default: the run fits in 5 minutes of
device time, compilation included); an overrunning part gets SIGTERM, then SIGKILL after a grace, and a row saying
so. Every row is appended to the output file (JSON lines) and flushed the moment it exists, so a run cut short keeps
what finished. ``--quick`` shrinks everything (tiny models, a few steps) so the suite's tests run it on a CPU.
"""

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import format_table

BUDGET_S = 285.0
QUICK_BUDGET_S = 1200.0
QUICK_LIMIT_S = 300.0
"""Quick mode runs in the test suite on a shared, loaded CPU: its limits only stop a hung part."""
GRACE_S = 5.0
DTYPES = ("bfloat16", "float32")


@dataclasses.dataclass(frozen=True)
class Part:
    """One bounded part: ``argv`` run as a process for at most ``limit_s`` seconds. ``rows_itself``: the process
    appends its own rows (a worker); otherwise (a CLI command) the parent writes one row from its exit status."""

    name: str
    argv: list[str]
    limit_s: float
    rows_itself: bool = False
    produces: Path | None = None


def main(out: Path, *, quick: bool, budget_s: float | None = None) -> list[dict]:
    """Run every part within ``budget_s`` seconds (default ``BUDGET_S``, ``QUICK_BUDGET_S`` in quick mode),
    appending rows to ``out``; return all rows written."""
    budget_s = budget_s if budget_s is not None else QUICK_BUDGET_S if quick else BUDGET_S
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fsdiff-device-") as scratch:
        for part in parts(Path(scratch), out, quick=quick):
            left = budget_s - (time.monotonic() - started)
            if left < 1.0:
                append_row(out, {"part": part.name, "status": "skipped", "reason": f"budget of {budget_s:.0f} s spent"})
                continue
            run_part(part, out, limit_s=min(part.limit_s, left))
    rows = read_rows(out)
    sys.stdout.write(table(rows) + "\n")
    sys.stdout.flush()
    return rows


def parts(scratch: Path, out: Path, *, quick: bool) -> list[Part]:
    """The parts in priority order: the matmul rate, A's and C1's steps at 64 sets (a process each), the CLI
    smoke, then the steps at 4 sets. Quick mode: config A at 2 sets only, and limits for a loaded CPU."""
    worker = [sys.executable, "-m", "benchmarks.device_worker", "--out", str(out), *(["--quick"] if quick else [])]
    config, run, grid = scratch / "smoke.json", scratch / "run", scratch / "grid.png"
    config.write_text(json.dumps(smoke_config(quick)))
    cli = [sys.executable, "-m", "fsdiff.cli"]
    few = ["--shots", "2", "--classes", "2"] if quick else ["--shots", "5", "--classes", "4"]
    limit = {"matmul": 25, "step": 60, "train": 120, "sample": 30, "eval": 60}
    if quick:
        limit = dict.fromkeys(limit, QUICK_LIMIT_S)

    def steps(sets: int) -> list[Part]:
        return [
            Part(
                f"step {name} {dtype} {sets}",
                [*worker, "step", name, dtype, str(sets)],
                limit["step"],
                rows_itself=True,
            )
            for name in (["A"] if quick else ["A", "C1"])
            for dtype in DTYPES
        ]

    return [
        Part("matmul", [*worker, "matmul"], limit["matmul"], rows_itself=True),
        *steps(2 if quick else 64),
        Part("fsdiff train", [*cli, "train", "--config", str(config), "--out", str(run), "--quiet"], limit["train"],
             produces=run / "metrics.jsonl"),
        Part("fsdiff sample", [*cli, "sample", "--run", str(run), *few, "--num", "4", "--steps", "10", "--out",
                               str(grid)], limit["sample"], produces=grid),
        Part("fsdiff eval", [*cli, "eval", "--run", str(run), *few, "--samples", "4", "--fit-steps",
                             "2" if quick else "100"], limit["eval"], produces=run / "eval.json"),
        *([] if quick else steps(4)),
    ]  # fmt: skip


def smoke_config(quick: bool) -> dict:
    """The run the CLI smoke trains: procedural glyphs (no data to fetch), a small ViT + LAG + DiT, 300 steps on
    the device (4 in quick mode), 100 diffusion steps so ``eval``'s exact bits/dim stays short."""
    size, width = (8, 16) if quick else (32, 64)
    return {
        "model": {
            "image_shape": [size, size, 1],
            "set_size": 3 if quick else 5,
            "encoder": {
                "type": "vit",
                "width": width,
                "depth": 1 if quick else 2,
                "heads": 2,
                "patch": 2 if quick else 4,
            },
            "conditioner": {"type": "lag"},
            "denoiser": {"type": "dit", "width": width, "depth": 1 if quick else 2, "heads": 2, "patch": 2},
            "diffusion": {"steps": 20 if quick else 100},
        },
        "data": {"source": "procedural", "size": size, "max_classes": 24 if quick else 60, "instances": 6},
        "train": {
            "steps": 4 if quick else 300,
            "batch_sets": 4 if quick else 16,
            "warmup": 2 if quick else 20,
            "log_every": 2 if quick else 50,
            "checkpoint_every": 4 if quick else 300,
            "sample_every": 1000,
            "sample_steps": 4 if quick else 10,
            "sample_classes": 2,
            "sample_num": 2,
        },
    }


def run_part(part: Part, out: Path, *, limit_s: float, grace_s: float = GRACE_S) -> dict:
    """Run ``part`` for at most ``limit_s`` seconds (then SIGTERM to its process group, SIGKILL after
    ``grace_s``); append a row for a CLI part, or for any part that failed or overran; return that row (or the
    status row of a worker that wrote its own)."""
    started = time.monotonic()
    process = subprocess.Popen(
        part.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=limit_s)
        status = "ok" if process.returncode == 0 else "failed"
    except subprocess.TimeoutExpired:
        output = _stop(process, grace_s)
        status = "timeout"
    row = {"part": part.name, "status": status, "seconds": time.monotonic() - started, "limit_s": limit_s}
    if status == "ok" and part.produces is not None and not part.produces.exists():
        row.update(status="failed", reason=f"{part.produces} was not written")
    if status != "ok":
        row["output_tail"] = (output or "")[-2000:]
    if status != "ok" or not part.rows_itself:
        append_row(out, row)
    return row


def append_row(out: Path, row: dict) -> None:
    """One JSON line appended and flushed to disk now (a later kill keeps it)."""
    with out.open("a") as f:
        f.write(json.dumps(row, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_rows(out: Path) -> list[dict]:
    """The rows written so far (none when ``out`` does not exist yet)."""
    lines = out.read_text().splitlines() if out.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def table(rows: list[dict]) -> str:
    matmul = [r for r in rows if r.get("part") == "matmul" and "bf16_tflops" in r]
    steps = [r for r in rows if "step_ms" in r]
    others = [r for r in rows if r not in matmul and r not in steps]
    return "\n\n".join(
        [
            format_table("Device", matmul, [("device", "device"), ("bf16_tflops", "bf16 TFLOP/s"),
                                            ("f32_tflops", "f32 TFLOP/s")]),
            format_table("Training step on the device", steps, [
                ("config", "cfg"), ("compute_dtype", "dtype"), ("batch_sets", "sets"), ("step_ms", "ms"),
                ("images_per_s", "img/s"), ("achieved_tflops", "TFLOP/s"), ("mfu", "MFU"),
                ("device_peak_mib", "peak MiB"), ("compile_s", "compile s"), ("attention", "attention")]),
            format_table("Parts", others, [("part", "part"), ("status", "status"), ("seconds", "s"),
                                           ("limit_s", "limit s")]),
        ]
    )  # fmt: skip


def _stop(process: subprocess.Popen, grace_s: float) -> str:
    """SIGTERM to the part's process group, SIGKILL if it is still there after ``grace_s``; its output so far."""
    with contextlib.suppress(ProcessLookupError):  # it may end on its own meanwhile
        os.killpg(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
    return output
