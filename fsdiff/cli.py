"""The ``fsdiff`` command line: ``demo``, ``train``, ``sample``, ``eval``, ``components``.

Every fsdiff error prints one line (``fsdiff: error: ...``) and exits with code 2; no traceback. Commands that
compute first switch to a host allocator that keeps freed memory (``fsdiff.host_memory``; ``FSDIFF_ALLOCATOR``),
unless ``main`` is called from Python with ``argv``: the allocator of a process that is not fsdiff's is left alone.
They run under ``fsdiff.runs.interrupts.handle_interrupts``: SIGINT/SIGTERM end them within seconds with exit code
130/143, training first saving its current step. A process of its own then ends with ``os._exit``, without the
interpreter's teardown: XLA threads may still be running work dispatched before the signal, and tearing the
runtime down under them is what crashed ("segfault after fsdiff: interrupted").
"""

import argparse
import json
import logging
import math
import os
import sys
from pathlib import Path

from fsdiff.errors import FsdiffError
from fsdiff.host_memory import use_fast_allocator


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("fsdiff").setLevel(logging.INFO)
    logging.getLogger("absl").setLevel(logging.ERROR)  # Orbax reports routine checkpoint housekeeping as warnings
    if not args.computes:
        return _run(args)
    from fsdiff.runs.interrupts import Interrupted, handle_interrupts

    own_process = argv is None
    if own_process:  # not a call from Python: choose its allocator
        try:
            use_fast_allocator()
        except FsdiffError as exc:
            return _error(exc)
    try:
        with handle_interrupts():
            return _run(args)
    except (Interrupted, KeyboardInterrupt) as exc:
        code, reason = (exc.exit_code, str(exc)) if isinstance(exc, Interrupted) else (130, "interrupted by SIGINT")
        print(f"fsdiff: {reason}; complete checkpoints are kept", file=sys.stderr)
        if own_process:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code


def _run(args: argparse.Namespace) -> int:
    try:
        return args.handler(args) or 0
    except FsdiffError as exc:
        return _error(exc)


def _error(exc: FsdiffError) -> int:
    """Every fsdiff error: one line, exit code 2."""
    message = str(exc).replace(":\n  ", ": ", 1).replace("\n  ", "; ")
    print(f"fsdiff: error: {message}", file=sys.stderr)
    return 2


def _components(args: argparse.Namespace) -> int:
    import fsdiff

    if args.describe:
        if not args.kind:
            raise fsdiff.RegistryError("--describe needs a KIND, e.g. `fsdiff components encoder --describe vit`")
        print(fsdiff.describe(args.kind, args.describe))
        return 0
    listing = {args.kind: fsdiff.list_components(args.kind)} if args.kind else fsdiff.list_components()
    for kind, names in listing.items():
        print(f"{kind}: {', '.join(names) or '(none)'}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from fsdiff.presets import apply_overrides, load_config
    from fsdiff.runs import Run, train

    if args.config is None and not args.resume:
        raise _usage("train needs --config FILE (or --resume to continue the run in --out)")
    config = load_config(args.config) if args.config else Run(args.out).config if args.set or args.steps else None
    if config is not None:
        config = apply_overrides(config, args.set, steps=args.steps)
    train(config, args.out, resume=args.resume, progress=not args.quiet)
    print(f"trained: {args.out}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from fsdiff.runs import sample_run

    path = sample_run(
        args.run,
        shots=args.shots,
        num=args.num,
        out=args.out,
        classes=args.classes,
        steps=args.steps,
        method=args.method,
        guidance=args.guidance,
        seed=args.seed,
        progress=not args.quiet,
    )
    print(f"wrote {path}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from fsdiff.runs import run_demo

    summary = run_demo(args.out, steps=args.steps, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from fsdiff.evaluation import markdown_table
    from fsdiff.runs import evaluate_run
    from fsdiff.runs.folder import EVAL_FILE

    results = evaluate_run(
        args.run,
        shots=args.shots,
        classes=args.classes,
        samples=args.samples,
        features=args.features,
        seed=args.seed,
        fit=None if args.fit_steps is None else {"steps": args.fit_steps},
        guidance=args.guidance,
        method=args.method,
        sample_steps=args.steps,
        split=args.split,
        progress=not args.quiet,
    )
    print(markdown_table(results))
    print(
        f"wrote {args.run / EVAL_FILE}"
        + (f" and {args.run / results['guidance_plot']}" if results["guidance_plot"] else "")
    )
    return 0


def _usage(message: str) -> FsdiffError:
    from fsdiff.errors import ConfigError

    return ConfigError(message)


def _scales(text: str) -> list[float]:
    """Comma-separated guidance scales, each checked like ``--guidance`` of ``sample``."""
    return [_guidance(part) for part in text.split(",")]


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="fsdiff", description="Few-shot diffusion models in JAX.")
    parser.set_defaults(computes=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="few-shot training + sampling on the embedded glyph data set")
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="run folder (default runs/demo)")
    demo.add_argument("--steps", type=int, default=None, help="training steps (default: the demo preset's)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(handler=_demo)

    train = commands.add_parser("train", help="train a model from a run config")
    train.add_argument("--config", help="YAML/JSON run config, or a preset name (see fsdiff/configs)")
    train.add_argument(
        "--set", action="append", default=[], metavar="PATH=VALUE", help="override, e.g. model.encoder.depth=6"
    )
    train.add_argument("--out", type=Path, required=True, help="run folder")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    train.add_argument("--steps", type=int, default=None, help="shortcut for --set train.steps=N")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)

    sample = commands.add_parser("sample", help="generate images of held-out classes from K shots each")
    sample.add_argument("--run", type=Path, required=True, help="run folder")
    sample.add_argument("--shots", type=_positive_int, default=5, help="context images per class")
    sample.add_argument("--num", type=_positive_int, default=8, help="generated images per class")
    sample.add_argument("--classes", type=_positive_int, default=8, help="held-out (test) classes, one row each")
    sample.add_argument(
        "--steps", type=_positive_int, default=None, help="sampler steps (default: the run's train.sample_steps)"
    )
    sample.add_argument(
        "--method", choices=["ddim", "ddpm"], default=None, help="sampler (default: the run's train.sample_method)"
    )
    sample.add_argument(
        "--guidance",
        type=_guidance,
        default=None,
        help="classifier-free guidance scale (default: the run's train.sample_guidance)",
    )
    sample.add_argument("--seed", type=_non_negative_int, default=0)
    sample.add_argument("--out", type=_new_file, required=True, help="PNG: context | generated, one row per class")
    sample.add_argument("--quiet", action="store_true", help="no progress bar")
    sample.set_defaults(handler=_sample)

    evaluate = commands.add_parser("eval", help="few-shot metrics on held-out classes: eval.json + a Markdown table")
    evaluate.add_argument("--run", type=Path, required=True, help="run folder")
    evaluate.add_argument("--shots", type=_positive_int, default=5, help="context images per class")
    evaluate.add_argument("--classes", type=_positive_int, default=10, help="held-out classes")
    evaluate.add_argument("--samples", type=_positive_int, default=16, help="generated images per class")
    evaluate.add_argument("--features", default="protonet", help="registered feature_extractor")
    evaluate.add_argument(
        "--fit-steps", type=_positive_int, default=None, help="training steps of the feature extractor"
    )
    evaluate.add_argument(
        "--guidance",
        type=_scales,
        default=None,
        metavar="G[,G...]",
        help="classifier-free guidance scale(s), default the run's train.sample_guidance; several (e.g. 1,2,3,5) "
        "also plot accuracy and FD against it",
    )
    evaluate.add_argument(
        "--method", choices=["ddim", "ddpm"], default=None, help="sampler (default: the run's train.sample_method)"
    )
    evaluate.add_argument(
        "--steps", type=_positive_int, default=None, help="sampler steps (default: the run's train.sample_steps)"
    )
    evaluate.add_argument("--seed", type=_non_negative_int, default=0)
    evaluate.add_argument(
        "--split",
        choices=("test", "validation"),
        default="test",
        help="held-out classes: test (to report) or validation (to choose settings on)",
    )
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.set_defaults(handler=_eval)

    components = commands.add_parser("components", help="list registered components, or describe one")
    components.add_argument("kind", nargs="?", help="encoder, conditioner, denoiser, ...")
    components.add_argument("--describe", metavar="NAME", help="options, defaults and shape contract of NAME")
    components.set_defaults(handler=_components, computes=False)
    return parser


class _OneLineParser(argparse.ArgumentParser):
    """A misused flag is one line naming it (``fsdiff: error: argument --shots: ...``), exit code 2, like every
    other fsdiff error; ``--help`` shows the usage."""

    def error(self, message: str):
        self.exit(2, f"fsdiff: error: {message}\n")


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _guidance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _new_file(text: str) -> Path:
    """An output file path: not a folder, in a folder that exists (checked before any work)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; expected a file path such as {path / 'grid.png'}")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {path.parent} does not exist; create it first")
    return path


if __name__ == "__main__":
    sys.exit(main())
