"""The leave-one-out context: ``Encoder.leave_one_out`` against one encoder pass over the same sets, and against the
FSDM port's way, a Python loop over the ``n`` elements encoding each ``n - 1`` subset (jitted as a whole).

Each encoder is that of a reference configuration; forward and forward + backward (the gradient of the summed
encoding with respect to the encoder's parameters, as in training) are timed round-robin in one run.

    python -m benchmarks.loo [--quick] [--out loo.json]
"""

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python benchmarks/loo.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

from benchmarks import configs  # noqa: E402
from benchmarks.common import Settings, compile_timed, format_table, ratio, time_interleaved  # noqa: E402
from fsdiff.encoders import Encoder  # noqa: E402
from fsdiff.nn.sets import others_index  # noqa: E402
from fsdiff.typing import SetEncoding, SetImages  # noqa: E402

ENCODERS = {"A": "set_vit", "C": "vit", "C1": "vit set_layers=1", "E": "cnn"}
"""Reference configuration -> the encoder it contributes."""


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    names = ("E",) if settings.quick else tuple(ENCODERS)
    refs = [ref for ref in configs.reference_configs(settings.quick) if ref.name in names]
    light = Settings(quick=settings.quick, warmup=1, repeats=min(3, settings.repeats))  # C's calls take seconds
    return [measure(ref, light if ref.name == "C" else settings) for ref in refs]


def measure(ref: configs.Reference, settings: Settings) -> dict:
    """One encoder's row: times of one pass, ``leave_one_out`` and the sequential loop, and their ratios."""
    encoder = configs.build(ref).encoder
    graphdef, params, rest = nnx.split(encoder, nnx.Param, ...)
    x = configs.batch(ref)

    def summed(how):
        def total(params, x):
            encoding = how(nnx.merge(graphdef, params, rest, copy=True), x)
            return sum(leaf.sum() for leaf in jax.tree.leaves(encoding))

        return total

    ways = {"one_pass": lambda e, x: e(x), "loo": lambda e, x: e.leave_one_out(x), "sequential": sequential_loo}
    calls, compile_s = {}, {}
    for name, how in ways.items():
        backward, compile_s[f"{name}_fwd_bwd"] = compile_timed(jax.grad(summed(how)), params, x)
        calls[f"{name}_fwd_bwd"] = lambda f=backward: f(params, x)
        if not settings.quick:  # the smoke run skips the forward-only programs
            forward, compile_s[f"{name}_fwd"] = compile_timed(summed(how), params, x)
            calls[f"{name}_fwd"] = lambda f=forward: f(params, x)
    timings = time_interleaved(calls, settings)
    ms = {name: timing.median_ms for name, timing in timings.items()}
    forward = {
        "loo_over_one_pass_fwd": ratio(ms["loo_fwd"], ms["one_pass_fwd"]) if "loo_fwd" in ms else None,
        "sequential_over_loo_fwd": ratio(ms["sequential_fwd"], ms["loo_fwd"]) if "loo_fwd" in ms else None,
    }
    return {
        "config": ref.name,
        "encoder": ENCODERS[ref.name],
        "decomposable": encoder.decomposable,
        "sets": ref.batch_sets,
        "set_size": ref.model["set_size"],
        **{f"{name}_ms": value for name, value in ms.items()},
        **{f"{name}_min_ms": timing.min_ms for name, timing in timings.items()},
        "loo_over_one_pass_fwd_bwd": ratio(ms["loo_fwd_bwd"], ms["one_pass_fwd_bwd"]),
        "sequential_over_loo_fwd_bwd": ratio(ms["sequential_fwd_bwd"], ms["loo_fwd_bwd"]),
        **forward,
        "compile_s": compile_s,
    }


def sequential_loo(encoder: Encoder, x: SetImages) -> SetEncoding:
    """The port's leave-one-out: for each element ``i``, encode the set without it (a fixed-size encoder gets the
    whole set with ``i`` masked); the ``b * n`` encodings set-major, as ``Encoder.leave_one_out`` returns them."""
    b, n = x.shape[:2]
    encodings = []
    for i in range(n):
        if encoder.fixed_set_size:
            encodings.append(encoder(x, jnp.broadcast_to(jnp.arange(n) != i, (b, n))))
        else:
            encodings.append(encoder(x[:, others_index(n)[i]]))
    return jax.tree.map(lambda *parts: jnp.stack(parts, axis=1).reshape(b * n, *parts[0].shape[1:]), *encodings)


def table(rows: list[dict]) -> str:
    return format_table(
        "Leave-one-out context (ms median; fwd+bwd = gradient wrt the encoder's parameters)",
        rows,
        [
            ("config", "cfg"),
            ("encoder", "encoder"),
            ("one_pass_fwd_bwd_ms", "1 pass"),
            ("loo_fwd_bwd_ms", "LOO"),
            ("sequential_fwd_bwd_ms", "seq loop"),
            ("loo_over_one_pass_fwd_bwd", "LOO/1pass"),
            ("loo_over_one_pass_fwd", "(fwd)"),
            ("sequential_over_loo_fwd_bwd", "seq/LOO"),
            ("sequential_over_loo_fwd", "(fwd)"),
        ],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repeats")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = run(Settings.make(args.quick))
    sys.stdout.write(table(rows) + "\n")
    if args.out:
        args.out.write_text(json.dumps({"loo": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
