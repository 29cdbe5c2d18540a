"""The reference configurations A-F of the performance issue as fsdiff model configs, and their batches.

All: sets of 6 images at 32x32x3, 4 sets a batch, a DiT of width 128, depth 4, 4 heads, patch 4 (or a UNet), 1000
diffusion steps. The FSDM port's encoder attention has 8 heads of 56 (an inner width of 448 for a model width of
128); the port's configurations set the encoder option ``head_dim: 56`` (wider heads than fsdiff's default
``width // heads = 16``). ``A16`` keeps fsdiff's own derived head width.

``port_ms``: the port's step time on a 2-core machine of this kind, measured elsewhere (we cannot run the port
here), a label only: never put in a ratio with a time measured in another run.
"""

import dataclasses
from collections.abc import Callable

import jax
import numpy as np
import optax
from flax import nnx

from benchmarks.common import compile_timed
from fsdiff.model import FewShotDiffusion, build_model
from fsdiff.training import (
    DataParallel,
    FlatStep,
    TrainOptions,
    TrainState,
    init_state,
    make_optimizer,
    make_train_step,
)

PORT_HEAD_DIM = 56


@dataclasses.dataclass(frozen=True, kw_only=True)
class Reference:
    """One benchmarked configuration: a model config, its batch size and what it is compared with."""

    name: str
    description: str
    model: dict
    batch_sets: int = 4
    port_ms: float | None = None


def reference_configs(quick: bool) -> list[Reference]:
    """A-F (and ``A16``, ``C1``) at the issue's sizes; in quick mode a tiny A, C1 and E (16x16x1, 3-element
    sets, width 32) that only prove the code paths run."""
    return _quick() if quick else _full()


def find(name: str, quick: bool) -> Reference:
    return next(ref for ref in reference_configs(quick) if ref.name == name)


def build(ref: Reference, seed: int = 0) -> FewShotDiffusion:
    """The model of ``ref``."""
    return build_model(ref.model, seed=seed)


def batch(ref: Reference, seed: int = 0) -> jax.Array:
    """A batch of sets ``"b n h w c"`` uniform in ``[-1, 1]`` (timings do not depend on the pixels)."""
    shape = (ref.batch_sets, ref.model["set_size"], *ref.model["image_shape"])
    return jax.numpy.asarray(np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(np.float32))


def training_step(ref: Reference, parallel: DataParallel | None = None) -> tuple[Callable, Callable[[], dict], float]:
    """``ref``'s training step as the loop runs it (``FlatStep``, the state donated), compiled for its batch (split
    over ``parallel``'s devices, the state replicated, when given): the compiled step, a call that runs one step
    on the state the previous call returned (its metrics), and the seconds compilation took."""
    graphdef, rest, optimizer, options, state = training(build(ref))
    x = batch(ref)
    if parallel is not None:
        state, x = parallel.replicate(state), parallel.batch(jax.device_get(x))
    key = jax.random.key(0)
    flat = FlatStep(make_train_step(graphdef, rest, optimizer, options), state)
    step, compile_s = compile_timed(flat.flat, flat.leaves(state), x, key, donate_argnums=0)
    holder = [flat.leaves(state)]

    def call() -> dict:
        holder[0], metrics = step(holder[0], x, key)
        return metrics

    return step, call, compile_s


def training(
    model: FewShotDiffusion,
) -> tuple[nnx.GraphDef, nnx.State, optax.GradientTransformation, TrainOptions, TrainState]:
    """What a training step of ``model`` (put in training mode) is made from: its structure, its non-parameter
    state, the default optimizer and options (1000 steps), and a fresh ``TrainState``."""
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    options = TrainOptions(steps=1000)
    optimizer = make_optimizer(options, params)
    return graphdef, rest, optimizer, options, init_state(params, optimizer)


def _model(encoder: dict, conditioner: dict, denoiser: dict | None = None, image=(32, 32, 3), n: int = 6) -> dict:
    return {
        "image_shape": list(image),
        "set_size": n,
        "encoder": encoder,
        "conditioner": conditioner,
        "denoiser": denoiser or {"type": "dit", "width": 128, "depth": 4, "heads": 4, "patch": 4},
        "diffusion": {"steps": 1000},
    }


def _full() -> list[Reference]:
    set_vit16 = {"type": "set_vit", "width": 128, "depth": 6, "heads": 8, "patch": 4}
    set_vit = {**set_vit16, "head_dim": PORT_HEAD_DIM}
    vit = {
        "type": "vit",
        "width": 128,
        "depth": 6,
        "heads": 8,
        "head_dim": PORT_HEAD_DIM,
        "patch": 4,
        "pool": "patch_mean",
    }
    lag, mean = {"type": "lag"}, {"type": "mean"}
    return [
        Reference(
            name="A",
            description="set_vit + lag (port's heads of 56)",
            model=_model(set_vit, lag),
            port_ms=380.0,
        ),
        Reference(name="A16", description="A with fsdiff's heads of 16", model=_model(set_vit16, lag)),
        Reference(name="B", description="set_vit + mean", model=_model(set_vit, mean)),
        Reference(
            name="C",
            description="vit patch_mean + lag",
            model=_model(vit, lag),
            port_ms=3200.0,
        ),
        Reference(
            name="C1",
            description="C factorized, set_layers=1",
            model=_model({**vit, "set_layers": 1}, lag),
            port_ms=3200.0,
        ),
        Reference(
            name="D",
            description="A, gaussian posterior",
            model=_model(set_vit, {**lag, "posterior": "gaussian"}),
        ),
        Reference(name="E", description="cnn + mean + unet", model=_model({"type": "cnn"}, mean, {"type": "unet"})),
        Reference(
            name="F",
            description="C at 28x28x1, 8 sets",
            model=_model(vit, lag, image=(28, 28, 1)),
            batch_sets=8,
        ),
    ]


def _quick() -> list[Reference]:
    denoiser = {"type": "dit", "width": 32, "depth": 1, "heads": 2, "patch": 4}
    small = {"width": 32, "depth": 2, "heads": 2, "patch": 4}

    def tiny(encoder: dict, conditioner: dict, denoiser: dict = denoiser) -> dict:
        return {**_model(encoder, conditioner, denoiser, image=(16, 16, 1), n=3), "diffusion": {"steps": 50}}

    return [
        Reference(
            name="A",
            description="tiny set_vit + lag, heads of 8",
            model=tiny({"type": "set_vit", **small, "head_dim": 8}, {"type": "lag"}),
            batch_sets=2,
        ),
        Reference(
            name="C1",
            description="tiny vit, set_layers=1",
            model=tiny({"type": "vit", **small, "set_layers": 1}, {"type": "lag"}),
            batch_sets=2,
        ),
        Reference(
            name="E",
            description="tiny cnn + mean + unet",
            model=tiny(
                {"type": "cnn", "width": 32, "channels": 8, "depth": 1},
                {"type": "mean"},
                {"type": "unet", "width": 8, "channel_mult": [1, 2], "num_res_blocks": 1, "attention_resolutions": [2]},
            ),
            batch_sets=2,
        ),
    ]
