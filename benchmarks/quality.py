"""Few-shot sample quality of presets trained for one stated budget: train, then ``evaluate_run``, then the tables.

    python benchmarks/quality.py                                  # the demo preset, its own 500 steps
    python benchmarks/quality.py --config vit_lag --steps 5000 --out runs/quality
    python benchmarks/quality.py --config vit_lag,vit_mean,set_vit_lag,cnn_mean,vit_spatial,demo --minutes 10
    python benchmarks/quality.py --config demo --data cjk_fonts --minutes 5

Trains each preset (a name from ``fsdiff/configs`` or a YAML/JSON path) on the embedded KanjiVG glyphs into
``<out>/<preset>/kanji`` and, when CJK fonts are installed (``fsdiff.data.cjk_fonts_available()``), on the font
glyphs into ``<out>/<preset>/cjk_fonts``; ``--minutes`` gives every preset the same wall budget
(``train.time_limit``, compilation included). Then evaluates each run on its held-out test classes (``eval.json``
and ``eval/`` in the run folder) and prints each run's Markdown table, and at the end one comparison table (a row
a preset and data set: model / unconditional / copy). A run folder that already holds checkpoints is resumed
rather than retrained. Run from the command line, it first switches to the host allocator ``fsdiff train`` uses
(``fsdiff.host_memory``), so a wall budget buys the steps the CLI would.
"""

import argparse
import logging
import time
from pathlib import Path

from fsdiff.data import cjk_fonts_available
from fsdiff.evaluation import markdown_table
from fsdiff.host_memory import use_fast_allocator
from fsdiff.presets import apply_overrides, load_config
from fsdiff.runs import Run, evaluate_run, train

CJK_INSTANCES = 10
"""Renderings per font face and character for the CJK-font set: enough images per class for training sets and a
held-out context with real references, even with a single installed face."""


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if argv is None:
        use_fast_allocator()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    datasets = {"kanji": {"source": "kanji"}}
    if cjk_fonts_available():
        datasets["cjk_fonts"] = {"source": "cjk_fonts", "instances": CJK_INSTANCES}
    if args.data is not None:
        unknown = sorted(set(args.data.split(",")) - set(datasets))
        if unknown:
            raise SystemExit(f"unknown or unavailable data set(s) {', '.join(unknown)}; here: {', '.join(datasets)}")
        datasets = {name: datasets[name] for name in args.data.split(",")}
    rows = []
    for preset in args.config.split(","):
        base = load_config(preset)
        budget = [] if args.minutes is None else [f"train.time_limit={60 * args.minutes}"]
        for name, data in datasets.items():
            config = apply_overrides({**base, "data": _data_section(base, data)}, budget, steps=args.steps)
            run = args.out / Path(preset).stem / name
            started = time.perf_counter()
            train(config, run, resume=bool(Run(run).steps()), progress=not args.quiet)
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
                progress=not args.quiet,
            )
            evaluated = time.perf_counter()
            steps = results["checkpoint_step"]
            print(f"\n## {name}: {preset}, {steps} steps ({run})\n")
            print(markdown_table(results))
            print(f"\ntraining {trained - started:.0f} s, evaluation {evaluated - trained:.0f} s (wall)")
            rows.append((preset, name, steps, trained - started, results))
    print("\n" + comparison_table(rows))


def comparison_table(rows: list[tuple[str, str, int, float, dict]]) -> str:
    """One line per preset, data set and generator: the paper-style ablation (model rows at each guidance scale,
    then the unconditional and copy baselines of the same run)."""
    lines = [
        "| preset | data | steps | train s | generator | FD ↓ | precision ↑ | recall ↑ | class acc ↑ | diversity | "
        "bpd gain ↑ |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for preset, data, steps, seconds, results in rows:
        generators = [(f"model g={g:g}", m) for g, m in zip(results["guidance"], results["model"], strict=True)]
        generators += [("unconditional", results["unconditional"]), ("copy", results["copy"])]
        gain = results["likelihood"]["gain"]
        for label, m in generators:
            lines.append(
                f"| {preset} | {data} | {steps} | {seconds:.0f} | {label} | {m['frechet']:.3f} | {m['precision']:.3f} "
                f"| {m['recall']:.3f} | {m['class_accuracy']:.3f} | {m['diversity']:.3f} | "
                + (f"{gain:.4f} |" if label.startswith("model") else "|")
            )
    return "\n".join(lines)


def _data_section(base: dict, data: dict) -> dict:
    """The preset's image size and channels with the benchmark's data source."""
    kept = {key: base.get("data", {})[key] for key in ("size", "channels") if key in base.get("data", {})}
    return {**kept, **data}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="demo", help="presets or config files, comma-separated (default: demo)")
    parser.add_argument(
        "--data", default=None, help="data sets, comma-separated (default: kanji, and cjk_fonts when installed)"
    )
    parser.add_argument("--steps", type=int, default=None, help="training budget in steps (default: the preset's)")
    parser.add_argument("--minutes", type=float, default=None, help="wall budget per run (train.time_limit)")
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
