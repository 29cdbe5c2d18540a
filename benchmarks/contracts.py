"""What the shape contracts cost: a registered component's checked ``__call__`` against the unwrapped
``__call__.__wrapped__``.

Eager calls pay the check every call; under ``jax.jit`` the check runs once, at trace time, so a jitted training
step traced with the checks should run exactly as fast as one traced without them (only its tracing is slower).

The value checks of debug mode (``fsdiff.debug_checks``) are off by default: the last row counts the equations of
the traced step with them off (the same as a step traced without contracts) and on, and times the step on
(functionalized with ``chex.chexify``) against off.
"""

import contextlib
import time

import chex
import jax
import jax.extend
from flax import nnx
from jax.experimental import checkify

from benchmarks import configs
from benchmarks.common import Settings, format_table, ratio, time_interleaved
from fsdiff import debug_checks
from fsdiff.training import make_train_step


def run(settings: Settings, machine: dict | None = None) -> list[dict]:
    ref = configs.find("A", settings.quick)
    model = configs.build(ref)
    x = configs.batch(ref)
    return [*_eager_rows(model, x, settings), _jitted_row(model, x, settings), _debug_row(model, x, settings)]


@contextlib.contextmanager
def unchecked(*components: nnx.Module):
    """Within the block, the components' classes call their unwrapped ``__call__`` (no contract check)."""
    classes = {type(c) for c in components}
    saved = {cls: cls.__call__ for cls in classes}
    try:
        for cls in classes:
            cls.__call__ = cls.__call__.__wrapped__
        yield
    finally:
        for cls, call in saved.items():
            cls.__call__ = call


def _eager_rows(model, x, settings: Settings) -> list[dict]:
    encoding = model.encoder(x)
    cond = model.conditioner(encoding)
    b, n = x.shape[:2]
    x_t = x.reshape(b * n, *x.shape[2:])[:b]
    t = jax.numpy.zeros((b,), jax.numpy.int32)
    calls = {
        "encoder": (model.encoder, (x,)),
        "conditioner": (model.conditioner, (encoding,)),
        "denoiser": (model.denoiser, (x_t, t, cond)),
    }
    rows = []
    for kind, (component, args) in calls.items():
        call = type(component).__call__
        timings = time_interleaved(
            {
                "checked": lambda call=call, component=component, args=args: call(component, *args),
                "unchecked": lambda call=call, component=component, args=args: call.__wrapped__(component, *args),
            },
            settings,
        )
        rows.append(
            {
                "what": f"eager {kind} call",
                "checked_ms": timings["checked"].median_ms,
                "unchecked_ms": timings["unchecked"].median_ms,
                "ratio": ratio(timings["checked"].median_ms, timings["unchecked"].median_ms),
                "overhead_ms": timings["checked"].median_ms - timings["unchecked"].median_ms,
            }
        )
    return rows


def _jitted_row(model, x, settings: Settings) -> dict:
    graphdef, rest, optimizer, options, state = configs.training(model)
    key = jax.random.key(0)
    # A fresh step function per trace (JAX caches traces per function object), after one trace that warms up
    # everything a first trace pays for once.
    jax.jit(make_train_step(graphdef, rest, optimizer, options)).trace(state, x, key)
    started = time.perf_counter()
    traced_checked = jax.jit(make_train_step(graphdef, rest, optimizer, options)).trace(state, x, key)
    trace_checked_s = time.perf_counter() - started
    with unchecked(model.encoder, model.conditioner, model.denoiser):
        started = time.perf_counter()
        traced_unchecked = jax.jit(make_train_step(graphdef, rest, optimizer, options)).trace(state, x, key)
        trace_unchecked_s = time.perf_counter() - started
    checked = traced_checked.lower().compile()
    bare = traced_unchecked.lower().compile()
    timings = time_interleaved(
        {"checked": lambda: checked(state, x, key), "bare": lambda: bare(state, x, key)}, settings
    )
    return {
        "what": f"jitted train step ({configs.find('A', settings.quick).name})",
        "checked_ms": timings["checked"].median_ms,
        "unchecked_ms": timings["bare"].median_ms,
        "ratio": ratio(timings["checked"].median_ms, timings["bare"].median_ms),
        "min_ratio": ratio(timings["checked"].min_ms, timings["bare"].min_ms),
        "overhead_ms": timings["checked"].median_ms - timings["bare"].median_ms,
        "trace_checked_s": trace_checked_s,
        "trace_unchecked_s": trace_unchecked_s,
        "trace_ratio": ratio(trace_checked_s, trace_unchecked_s),
    }


def _debug_row(model, x, settings: Settings) -> dict:
    graphdef, rest, optimizer, options, state = configs.training(model)
    key = jax.random.key(0)
    with debug_checks(False):
        step = make_train_step(graphdef, rest, optimizer, options)
        off_eqns = _equations(jax.make_jaxpr(checkify.checkify(step))(state, x, key).jaxpr)
        with unchecked(model.encoder, model.conditioner, model.denoiser):
            bare_step = make_train_step(graphdef, rest, optimizer, options)
            bare_eqns = _equations(jax.make_jaxpr(checkify.checkify(bare_step))(state, x, key).jaxpr)
        off = jax.jit(step).lower(state, x, key).compile()
    with debug_checks():
        step = make_train_step(graphdef, rest, optimizer, options)
        on_eqns = _equations(jax.make_jaxpr(checkify.checkify(step))(state, x, key).jaxpr)
        on = chex.chexify(jax.jit(step), async_check=False)
        on(state, x, key)
        timings = time_interleaved({"on": lambda: on(state, x, key), "off": lambda: off(state, x, key)}, settings)
    return {
        "what": f"jitted train step, value checks on vs off ({configs.find('A', settings.quick).name})",
        "checked_ms": timings["on"].median_ms,
        "unchecked_ms": timings["off"].median_ms,
        "ratio": ratio(timings["on"].median_ms, timings["off"].median_ms),
        "overhead_ms": timings["on"].median_ms - timings["off"].median_ms,
        "eqns": f"{off_eqns} off (bare {bare_eqns}), {on_eqns} on",
    }


def _equations(jaxpr) -> int:
    """Equations of a jaxpr and of every jaxpr nested in it."""
    return sum(1 + sum(_equations(sub) for sub in jax.extend.core.jaxprs_in_params(e.params)) for e in jaxpr.eqns)


def table(rows: list[dict]) -> str:
    return format_table(
        "Contract checks on vs off (median ms; the jitted step pays only at trace time)",
        rows,
        [
            ("what", "call"),
            ("checked_ms", "checked"),
            ("unchecked_ms", "unchecked"),
            ("ratio", "ratio"),
            ("min_ratio", "min ratio"),
            ("overhead_ms", "+ms"),
            ("trace_checked_s", "trace s"),
            ("trace_unchecked_s", "trace s off"),
            ("eqns", "equations"),
        ],
    )
