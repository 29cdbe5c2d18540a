"""Sampling throughput: ``FewShotDiffusion.sample`` jitted, DDIM with 50 respaced steps and DDPM with every
diffusion step (1000 at the reference sizes), in images per second; compile time apart."""

import jax
from flax import nnx

from benchmarks import configs
from benchmarks.common import Settings, compile_timed, format_table, time_call

SETS, SHOTS, NUM = 2, 5, 4
"""Each call: ``SETS`` sets of ``SHOTS`` context images, ``NUM`` new images each."""


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    rows = measure(configs.find("A", settings.quick), settings, ("ddim", "ddpm"))
    if not settings.quick:  # E's UNet takes ~0.15 s a denoiser call here: DDPM's 1000 calls would take minutes
        rows += measure(configs.find("E", quick=False), settings, ("ddim",))
    return rows


def measure(ref: configs.Reference, settings: Settings, methods: tuple[str, ...]) -> list[dict]:
    model = configs.build(ref)
    model.eval()
    graphdef, state = nnx.split(model)
    shots = min(SHOTS, ref.model["set_size"])
    context = configs.batch(ref)[:SETS, :shots]
    diffusion_steps = ref.model["diffusion"]["steps"]
    key = jax.random.key(0)
    rows = []
    for method in methods:
        steps = 50 if method == "ddim" else None

        def sample(state, context, key, method=method, steps=steps):
            return nnx.merge(graphdef, state).sample(context, NUM, key, steps=steps, method=method)

        compiled, compile_s = compile_timed(sample, state, context, key)
        # A DDPM call runs the denoiser at every diffusion step: one timed call, no warm-up beyond compiling.
        once = Settings(quick=settings.quick, warmup=0, repeats=1)
        timing = time_call(lambda c=compiled: c(state, context, key), settings if steps else once)
        images = SETS * NUM
        rows.append(
            {
                "config": ref.name,
                "method": method,
                "steps": steps or diffusion_steps,
                "images": images,
                "compile_s": compile_s,
                "call_median_ms": timing.median_ms,
                "call_min_ms": timing.min_ms,
                "images_per_s": images / (timing.median_ms / 1e3),
                "ms_per_denoiser_step": timing.median_ms / (steps or diffusion_steps),
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    return format_table(
        f"Sampling ({SETS} sets x {NUM} images from {SHOTS} context images each)",
        rows,
        [
            ("config", "cfg"),
            ("method", "method"),
            ("steps", "steps"),
            ("call_median_ms", "ms/call"),
            ("images_per_s", "img/s"),
            ("ms_per_denoiser_step", "ms/step"),
            ("compile_s", "compile s"),
        ],
    )
