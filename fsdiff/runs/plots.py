"""Plots a run leaves behind, as PNG (Pillow only): the loss curve and metrics against the guidance scale."""

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

PANEL = (640, 360)


def save_loss_curve(steps: Sequence[int], losses: Sequence[float], path: str | os.PathLike) -> None:
    """The training loss against the step, on a log scale, with the axis ranges written in the corners."""
    image = Image.new("RGB", PANEL, "white")
    values = np.log10(np.maximum(np.asarray(losses, np.float64), 1e-12))
    _panel(ImageDraw.Draw(image), (0, 0), steps, values, x_label="step", y_label="training loss (log)", log=True)
    image.save(path)


def save_guidance_plot(
    scales: Sequence[float], accuracy: Sequence[float], frechet: Sequence[float], path: str | os.PathLike
) -> None:
    """Two panels side by side: class accuracy and Fréchet distance of the model's samples against the
    classifier-free guidance scale (fidelity against diversity). Points are marked; axis ranges in the corners."""
    width, height = PANEL
    image = Image.new("RGB", (2 * width, height), "white")
    draw = ImageDraw.Draw(image)
    _panel(draw, (0, 0), scales, accuracy, x_label="guidance", y_label="class accuracy")
    _panel(draw, (width, 0), scales, frechet, x_label="guidance", y_label="Frechet distance")
    image.save(path)


def _panel(
    draw: ImageDraw.ImageDraw,
    origin: tuple[int, int],
    xs: Sequence[float] | Sequence[int],
    ys: Sequence[float] | np.ndarray,
    *,
    x_label: str,
    y_label: str,
    log: bool = False,
) -> None:
    """One line plot in the ``PANEL``-sized box at ``origin``; ``log``: ``ys`` are log10 values (labels show 10**y)."""
    ox, oy = origin
    width, height = PANEL
    left, right, top, bottom = ox + 60, ox + width - 20, oy + 20, oy + height - 40
    draw.rectangle([left, top, right, bottom], outline="black")
    x, y = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    lo, hi = (float(y.min()), float(y.max())) if len(y) else (0.0, 0.0)
    if len(x):
        px = left + (x - x.min()) / max(x.max() - x.min(), 1e-9) * (right - left)
        py = bottom - (y - lo) / max(hi - lo, 1e-9) * (bottom - top)
        points = list(zip(px.tolist(), py.tolist(), strict=True))
        if len(points) > 1:
            draw.line(points, fill=(31, 119, 180), width=2)
        for cx, cy in points:
            draw.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=(31, 119, 180))
    shown = (lambda v: 10**v) if log else (lambda v: v)
    draw.text((ox + 4, top), f"{shown(hi):.3g}", fill="black")
    draw.text((ox + 4, bottom - 10), f"{shown(lo):.3g}", fill="black")
    draw.text((left, bottom + 8), f"{x_label} {x.min() if len(x) else 0:g}", fill="black")
    draw.text((right - 80, bottom + 8), f"{x_label} {x.max() if len(x) else 0:g}", fill="black")
    draw.text((ox + width // 2 - 40, oy + height - 18), y_label, fill="black")
