"""A tiny run config (procedural glyphs, 8 px, a few thousand parameters) and a helper to run the real CLI."""

import subprocess
import sys

TINY = {
    "model": {
        "image_shape": [8, 8, 1],
        "set_size": 3,
        "encoder": {"type": "cnn", "width": 8, "channels": 8, "depth": 1},
        "conditioner": {"type": "mean", "null_prob": 0.1},
        "denoiser": {"type": "dit", "width": 16, "depth": 1, "heads": 2, "patch": 2},
        "diffusion": {"steps": 20},
    },
    "data": {"source": "procedural", "size": 8, "max_classes": 24, "instances": 6},
    "train": {
        "steps": 12,
        "batch_sets": 8,
        "warmup": 2,
        "log_every": 2,
        "checkpoint_every": 6,
        "sample_every": 12,
        "sample_steps": 4,
        "sample_classes": 2,
        "sample_num": 2,
        "sample_shots": 2,
    },
}


def tiny_config(**train) -> dict:
    """``TINY`` with ``train`` options replaced."""
    return {**TINY, "train": {**TINY["train"], **train}}


def fsdiff_cli(args: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m fsdiff.cli ARGS`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "fsdiff.cli", *args], env=env, capture_output=True, text=True, **kwargs
    )
