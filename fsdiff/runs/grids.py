"""Image grids for people: few-shot grids (context | generated images, one row per held-out class) and
``sample_run``, the grid behind ``fsdiff sample``."""

import os
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Float
from PIL import Image
from tqdm.auto import tqdm

from fsdiff.data import context_sets
from fsdiff.data.pixels import to_uint8
from fsdiff.debug import functionalized
from fsdiff.model import FewShotDiffusion
from fsdiff.runs.folder import Run

_sample = functionalized(
    nnx.jit(FewShotDiffusion.sample, static_argnames=("num", "steps", "method", "eta", "guidance"))
)


def sample_run(
    run_dir: str | os.PathLike,
    *,
    shots: int,
    num: int,
    out: str | os.PathLike,
    classes: int = 8,
    steps: int | None = None,
    method: str | None = None,
    guidance: float | None = None,
    seed: int = 0,
    progress: bool = False,
) -> Path:
    """``fsdiff sample``: ``shots`` images of each of ``classes`` test classes (never seen in training) condition
    ``num`` new images each, with the run's EMA weights; writes the grid to ``out``. ``steps``, ``method`` and
    ``guidance``: the run's ``train.sample_steps``, ``train.sample_method`` and ``train.sample_guidance`` unless
    given."""
    run = Run(run_dir)
    steps = run.options.sample_steps if steps is None else steps
    method = run.options.sample_method if method is None else method
    guidance = run.options.sample_guidance if guidance is None else guidance
    test = run.splits().test
    contexts = context_sets(test, shots=shots, classes=range(min(classes, test.num_classes)), seed=seed)
    few_shot_grid(
        run.load(),
        contexts.context,
        out,
        num=num,
        steps=steps,
        method=method,
        guidance=guidance,
        seed=seed,
        progress=progress,
    )
    return Path(out)


def few_shot_grid(
    model: FewShotDiffusion,
    context: Float[np.ndarray, "b k h w c"],
    path: str | os.PathLike,
    *,
    num: int,
    steps: int | None = 50,
    method: str = "ddim",
    guidance: float = 1.0,
    seed: int = 0,
    progress: bool = False,
) -> Float[np.ndarray, "b num h w c"]:
    """Generate ``num`` images per context set and save a grid, one row per set: its context | its samples.
    One set per call (one compile serves all), so ``progress`` shows a bar with an ETA."""
    key = jax.random.key(seed)
    images = np.zeros((context.shape[0], num, *context.shape[2:]), np.float32)
    for i in tqdm(range(context.shape[0]), desc="sampling", unit="class", disable=not progress, dynamic_ncols=True):
        one = jnp.asarray(context[i : i + 1])
        sampled = _sample(
            model, one, num=num, key=jax.random.fold_in(key, i), steps=steps, method=method, guidance=guidance
        )
        images[i] = np.asarray(sampled)[0]
    save_grid([(ctx, gen) for ctx, gen in zip(context, images, strict=True)], path)
    return images


def save_grid(rows: Sequence[Sequence[Float[np.ndarray, "_ h w c"]]], path: str | os.PathLike, *, gap: int = 2) -> None:
    """One row per entry of ``rows``; each row is a sequence of image groups (e.g. context | samples | real)
    laid left to right, groups separated by a wider gap. Images are float in ``[-1, 1]``, channels-last."""
    groups = [[to_uint8(np.asarray(g)) for g in row] for row in rows]
    h, w, c = groups[0][0].shape[1:]
    widths = [sum(g.shape[0] * (w + gap) for g in row) + 3 * gap * (len(row) - 1) for row in groups]
    canvas = np.full((len(groups) * (h + gap) + gap, max(widths) + gap, c), 128, np.uint8)
    for r, row in enumerate(groups):
        x = gap
        for group in row:
            for image in group:
                canvas[gap + r * (h + gap) : gap + r * (h + gap) + h, x : x + w] = image
                x += w + gap
            x += 3 * gap
    Image.fromarray(canvas[..., 0] if c == 1 else canvas).save(path)
