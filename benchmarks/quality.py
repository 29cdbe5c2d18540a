"""Few-shot sample quality of a preset trained for a stated budget: train, then ``evaluate_run``, then the table.

    python benchmarks/quality.py                                  # the demo preset, its own 500 steps
    python benchmarks/quality.py --config vit_lag --steps 5000 --out runs/quality

Trains the preset (a name from ``fsdiff/configs`` or a YAML/JSON path) on the embedded KanjiVG glyphs into
``<out>/kanji`` and, when CJK fonts are installed (``fsdiff.data.cjk_fonts_available()``), on the font glyphs into
``<out>/cjk_fonts``; then evaluates each run on its held-out classes (``eval.json`` and ``eval/`` in the run
folder) and prints the Markdown table with the training and evaluation wall times. A run folder that already
holds checkpoints is resumed (to the stated budget) rather than retrained.
"""

import argparse
import logging
import time
from pathlib import Path

from fsdiff.data import cjk_fonts_available
from fsdiff.evaluation import markdown_table
from fsdiff.presets import apply_overrides, load_config
from fsdiff.runs import evaluate_run, train

CJK_INSTANCES = 10
"""Renderings per font face and character for the CJK-font set: enough images per class for training sets and a
held-out context with real references, even with a single installed face."""


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    base = load_config(args.config)
    datasets = {"kanji": {"source": "kanji"}}
    if cjk_fonts_available():
        datasets["cjk_fonts"] = {"source": "cjk_fonts", "instances": CJK_INSTANCES}
    for name, data in datasets.items():
        config = apply_overrides({**base, "data": _data_section(base, data)}, [], steps=args.steps)
        run = args.out / name
        started = time.perf_counter()
        train(config, run, resume=_has_checkpoints(run), progress=not args.quiet)
        trained = time.perf_counter()
        results = evaluate_run(
            run,
            shots=args.shots,
            classes=args.classes,
            samples=args.samples,
            features=args.features,
            fit=None if args.fit_steps is None else {"steps": args.fit_steps},
            seed=args.seed,
            sample_steps=args.sample_steps,
            likelihood_images=args.likelihood_images,
        )
        evaluated = time.perf_counter()
        budget = config.get("train", {}).get("steps", "default")
        print(f"\n## {name}: {args.config}, {budget} steps ({run})\n")
        print(markdown_table(results))
        print(f"\ntraining {trained - started:.0f} s, evaluation {evaluated - trained:.0f} s (wall)")


def _data_section(base: dict, data: dict) -> dict:
    """The preset's image size and channels with the benchmark's data source."""
    kept = {key: base.get("data", {})[key] for key in ("size", "channels") if key in base.get("data", {})}
    return {**kept, **data}


def _has_checkpoints(run: Path) -> bool:
    return (run / "checkpoints").is_dir() and any((run / "checkpoints").iterdir())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="demo", help="preset name or config file (default: demo)")
    parser.add_argument("--steps", type=int, default=None, help="training budget in steps (default: the preset's)")
    parser.add_argument("--out", type=Path, default=Path("runs/quality"), help="folder of the runs")
    parser.add_argument("--shots", type=int, default=5, help="context images per held-out class")
    parser.add_argument("--classes", type=int, default=10, help="held-out classes evaluated")
    parser.add_argument("--samples", type=int, default=16, help="generated images per class")
    parser.add_argument("--features", default="protonet", help="registered feature extractor")
    parser.add_argument("--fit-steps", type=int, default=None, help="extractor fitting steps (default: FitOptions)")
    parser.add_argument("--sample-steps", type=int, default=50, help="sampler steps (respaced)")
    parser.add_argument("--likelihood-images", type=int, default=2, help="held-out images per class for bits/dim")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


if __name__ == "__main__":
    main()
