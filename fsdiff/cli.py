"""The ``fsdiff`` command line: ``demo``, ``train``, ``sample``, ``eval``, ``components``.

Every fsdiff error prints one line (``fsdiff: error: ...``) and exits with code 2; no traceback.
"""

import argparse
import logging
import sys

from fsdiff.errors import FsdiffError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return args.run(args) or 0
    except FsdiffError as exc:
        message = str(exc).replace("\n  ", "; ")
        print(f"fsdiff: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fsdiff: interrupted", file=sys.stderr)
        return 130


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fsdiff", description="Few-shot diffusion models in JAX.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    components = commands.add_parser("components", help="list registered components, or describe one")
    components.add_argument("kind", nargs="?", help="encoder, conditioner, denoiser, ...")
    components.add_argument("--describe", metavar="NAME", help="options, defaults and shape contract of NAME")
    components.set_defaults(run=_components)
    return parser


if __name__ == "__main__":
    sys.exit(main())
