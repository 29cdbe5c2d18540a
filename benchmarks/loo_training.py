"""Does the factorized ViT encoder learn as well? Configuration C (``vit``, ``patch_mean`` pooling, ``lag``) trained
with every block attending across the set, and with ``set_layers=1`` (the first blocks within each image, whose
leave-one-out work is shared), for the same steps on the same batches of the embedded KanjiVG glyphs (grey
replicated to 32x32x3); prints both loss curves, the mean loss of the last quarter and the wall time per step.

    python -m benchmarks.loo_training [--steps 200] [--out loo_training.json]

The encoders' heads are fsdiff's (``width // heads``), as a config sets them. Run once for RESULTS.md; not part of
``python -m benchmarks`` (it trains for many minutes).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python benchmarks/loo_training.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks import configs  # noqa: E402
from fsdiff.runs import Run, train  # noqa: E402


def run_config(set_layers: int | None, *, steps: int, batch_sets: int, log_every: int) -> dict:
    model = configs.find("C", quick=False).model
    encoder = {**model["encoder"], "set_layers": set_layers}
    return {
        "model": {**model, "encoder": encoder},
        "data": {"source": "kanji", "size": 32, "channels": 3},
        "train": {
            "steps": steps,
            "batch_sets": batch_sets,
            "lr": 3e-4,
            "warmup": min(50, steps // 10),
            "log_every": log_every,
            "checkpoint_every": steps,
            "sample_every": steps,
            "sample_classes": 1,
            "sample_num": 1,
            "sample_steps": 2,
        },
    }


def train_curve(config: dict) -> dict:
    """Train ``config`` in a temporary folder; its logged loss curve and wall time."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        train(config, Path(out) / "run", progress=False)
        wall_s = time.perf_counter() - started
        rows = Run(Path(out) / "run").metrics()
    steps = [row["step"] for row in rows]
    losses = [row["loss"] for row in rows]
    images_per_step = config["train"]["batch_sets"] * config["model"]["set_size"]
    tail = losses[len(losses) - max(1, len(losses) // 4) :]
    return {
        "set_layers": config["model"]["encoder"]["set_layers"],
        "steps": steps,
        "loss": losses,
        "last_quarter_mean_loss": float(np.mean(tail)),
        "wall_s": wall_s,
        "ms_per_step_after_first_log": float(
            np.median([1e3 * images_per_step / row["images_per_s"] for row in rows[1:]])
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loo_training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-sets", type=int, default=4)
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    curves = [
        train_curve(run_config(layers, steps=args.steps, batch_sets=args.batch_sets, log_every=args.log_every))
        for layers in (1, None)
    ]
    lines = ["step  " + "  ".join(f"loss set_layers={c['set_layers']}" for c in curves)]
    for i, step in enumerate(curves[0]["steps"]):
        lines.append(f"{step:4d}  " + "  ".join(f"{c['loss'][i]:20.4f}" for c in curves))
    for c in curves:
        lines.append(
            f"set_layers={c['set_layers']}: last-quarter mean loss {c['last_quarter_mean_loss']:.4f}, "
            f"{c['ms_per_step_after_first_log']:.0f} ms/step, {c['wall_s']:.0f} s in all"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    if args.out:
        args.out.write_text(json.dumps({"command": " ".join(sys.argv), "curves": curves}, indent=2) + "\n")


if __name__ == "__main__":
    main()
