"""Pictures a run leaves behind: image grids and the loss curve, as PNG (Pillow only)."""

import os
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Float
from PIL import Image, ImageDraw

from fsdiff.data.pixels import to_uint8
from fsdiff.model import FewShotDiffusion

_sample = nnx.jit(FewShotDiffusion.sample, static_argnames=("num", "steps", "method", "eta", "guidance"))


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
) -> Float[np.ndarray, "b num h w c"]:
    """Generate ``num`` images per context set and save a grid, one row per set: its context | its samples."""
    images = np.asarray(
        _sample(
            model,
            jnp.asarray(context),
            num=num,
            key=jax.random.key(seed),
            steps=steps,
            method=method,
            guidance=guidance,
        )
    )
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


def save_loss_curve(steps: Sequence[int], losses: Sequence[float], path: str | os.PathLike, *, size=(640, 360)) -> None:
    """The training loss against the step, on a log scale, with the axis ranges written in the corners."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 60, width - 20, 20, height - 40
    draw.rectangle([left, top, right, bottom], outline="black")
    values = np.log10(np.maximum(np.asarray(losses, np.float64), 1e-12))
    xs, lo, hi = np.asarray(steps, np.float64), values.min(), values.max()
    if len(xs) > 1:
        px = left + (xs - xs.min()) / max(xs.max() - xs.min(), 1.0) * (right - left)
        py = bottom - (values - lo) / max(hi - lo, 1e-9) * (bottom - top)
        draw.line(list(zip(px.tolist(), py.tolist(), strict=True)), fill=(31, 119, 180), width=2)
    draw.text((4, top), f"{10**hi:.3g}", fill="black")
    draw.text((4, bottom - 10), f"{10**lo:.3g}", fill="black")
    draw.text((left, bottom + 8), f"step {int(xs.min()) if len(xs) else 0}", fill="black")
    draw.text((right - 80, bottom + 8), f"step {int(xs.max()) if len(xs) else 0}", fill="black")
    draw.text((width // 2 - 40, height - 18), "training loss (log)", fill="black")
    image.save(path)
