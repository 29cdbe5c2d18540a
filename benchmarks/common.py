"""What every benchmark shares: repeats after a warm-up, compile time apart, XLA's FLOP count, memory, the matmul
roofline of this machine, and the printed tables.

The machine these run on is shared and noisy, so a figure is a median (and a min) over repeats after warm-up, and
a comparison is a ratio of calls timed round-robin in one run (``time_interleaved``): load hits both sides alike.
"""

import dataclasses
import resource
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """How hard to measure: ``quick`` is the smoke mode (tiny sizes, few repeats)."""

    quick: bool
    warmup: int
    repeats: int

    @classmethod
    def make(cls, quick: bool) -> "Settings":
        return cls(quick=quick, warmup=1 if quick else 2, repeats=2 if quick else 5)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Timing:
    """Wall time of one call over ``repeats`` runs after warm-up, in milliseconds."""

    median_ms: float
    min_ms: float
    repeats: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def compile_timed(fn: Callable, *args, **jit_options) -> tuple[Callable, float]:
    """``jax.jit(fn)`` lowered and compiled for ``args``; returns the compiled call and the seconds it took
    (tracing included)."""
    started = time.perf_counter()
    compiled = jax.jit(fn, **jit_options).lower(*args).compile()
    return compiled, time.perf_counter() - started


def flops(compiled) -> float | None:
    """FLOPs of one call of a compiled function, from XLA's cost analysis (None when the backend has none)."""
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list | tuple):
        analysis = analysis[0] if analysis else None
    if not analysis or "flops" not in analysis:
        return None
    return float(analysis["flops"])


def memory(compiled) -> dict:
    """Memory of a compiled call: XLA's buffer sizes (arguments, outputs, temporaries) in MiB, the device's peak
    where the backend reports one (not on CPU), and this process's peak resident size."""
    stats = compiled.memory_analysis()
    device = jax.devices()[0].memory_stats() or {}
    mib = 1024.0**2
    return {
        "argument_mib": stats.argument_size_in_bytes / mib if stats else None,
        "output_mib": stats.output_size_in_bytes / mib if stats else None,
        "temp_mib": stats.temp_size_in_bytes / mib if stats else None,
        "device_peak_mib": device["peak_bytes_in_use"] / mib if "peak_bytes_in_use" in device else None,
        "process_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def page_faults() -> int:
    """Minor page faults of this process so far (fresh memory touched for the first time)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_call(call: Callable[[], object], settings: Settings) -> Timing:
    """Time ``call()`` (its result is waited for) ``settings.repeats`` times after ``settings.warmup`` calls."""
    return time_interleaved({"call": call}, settings)["call"]


def time_interleaved(calls: dict[str, Callable[[], object]], settings: Settings) -> dict[str, Timing]:
    """Time several calls round-robin, so that the machine's load changes hit every one alike; their ratios are
    the figures to trust."""
    for call in calls.values():
        for _ in range(settings.warmup):
            jax.block_until_ready(call())
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(settings.repeats):
        for name, call in calls.items():
            started = time.perf_counter()
            jax.block_until_ready(call())
            times[name].append(time.perf_counter() - started)
    return {
        name: Timing(median_ms=1e3 * float(np.median(t)), min_ms=1e3 * min(t), repeats=len(t))
        for name, t in times.items()
    }


def matmul_gflops(settings: Settings) -> float:
    """This machine's float32 matmul rate in GFLOP/s: the best of repeated ``n x n`` products (``n`` 2048, or 512
    in quick mode), the roofline that a step's achieved rate is compared with."""
    n = 512 if settings.quick else 2048
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    product, _ = compile_timed(jnp.matmul, a, b)
    timing = time_call(lambda: product(a, b), dataclasses.replace(settings, repeats=3 * settings.repeats))
    return 2.0 * n**3 / (timing.min_ms / 1e3) / 1e9


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def format_table(title: str, rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A plain-text table: ``columns`` are ``(key, header)``; floats get 3 significant digits, missing values a dash."""
    header = [h for _, h in columns]
    body = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if np.isnan(value):
            return "-"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
