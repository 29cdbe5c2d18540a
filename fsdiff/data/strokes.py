"""Jittered rasterization of stroke glyphs: the one renderer behind the kanji and procedural alphabets.

A glyph is a list of strokes, a stroke a list of subpaths (``svg_path.Segments``) in the unit square, y down.
Each instance draws the glyph under its own random global affine map and per-stroke shift with its own pen width,
white on black, at ``supersample`` times the target size, then box-averages down: that is the antialiasing.
"""

import dataclasses
from collections.abc import Sequence

import numpy as np
from jaxtyping import Float64, UInt8
from PIL import Image, ImageDraw

from fsdiff.data.svg_path import Segments, flatten
from fsdiff.typing import PositiveInt

Glyph = Sequence[Sequence[Segments]]
"""Strokes, each a sequence of subpaths, in unit-square coordinates (0..1, y down)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Jitter:
    """How instances of one glyph differ. Angles in radians, lengths as fractions of the image side; every
    amount is the half-width of a uniform distribution centred on no change."""

    rotation: float = 0.1
    scale: float = 0.08  # of the log scale factor, drawn per axis
    shear: float = 0.12
    translate: float = 0.04
    stroke_offset: float = 0.015  # per stroke and axis, on top of the global map
    width: tuple[float, float] = (0.045, 0.07)  # pen width range

    def scaled(self, amount: float) -> "Jitter":
        """This jitter with every random amount multiplied by ``amount`` (0: all instances identical); the pen
        width range shrinks or widens about its middle."""
        middle, half = sum(self.width) / 2.0, (self.width[1] - self.width[0]) / 2.0
        return dataclasses.replace(
            self,
            rotation=self.rotation * amount,
            scale=self.scale * amount,
            shear=self.shear * amount,
            translate=self.translate * amount,
            stroke_offset=self.stroke_offset * amount,
            width=(middle - half * amount, middle + half * amount),
        )


DEFAULT_JITTER = Jitter()


def sample_affine(
    rng: np.random.Generator, jitter: Jitter, instances: PositiveInt
) -> tuple[Float64[np.ndarray, "{instances} 2 2"], Float64[np.ndarray, "{instances} 2"]]:
    """Random affine maps about the image centre, ``x -> A x + t`` in unit coordinates: rotation, shear and
    per-axis log-uniform scale, then a translation."""
    angle = rng.uniform(-jitter.rotation, jitter.rotation, instances)
    shear = rng.uniform(-jitter.shear, jitter.shear, instances)
    scale = np.exp(rng.uniform(-jitter.scale, jitter.scale, (instances, 2)))
    shift = rng.uniform(-jitter.translate, jitter.translate, (instances, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    rotate = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shear_x = np.zeros((instances, 2, 2))
    shear_x[:, 0, 0] = shear_x[:, 1, 1] = 1.0
    shear_x[:, 0, 1] = shear
    matrix = rotate @ shear_x * scale[:, None, :]  # scale the columns: scale first, then shear, then rotate
    return matrix, shift


def render_glyph(
    glyph: Glyph,
    *,
    size: PositiveInt,
    instances: PositiveInt,
    jitter: Jitter,
    rng: np.random.Generator,
    supersample: PositiveInt = 4,
) -> UInt8[np.ndarray, "{instances} {size} {size}"]:
    """``instances`` jittered renderings of one glyph, white strokes (255) on black (0)."""
    lines, knots, line_stroke, knot_stroke = [], [], [], []
    for index, stroke in enumerate(glyph):
        for segments in stroke:
            lines.append(flatten(segments))
            knots.append(np.concatenate([segments[:1, 0], segments[:, 3]]))  # segment ends: round caps and joins
            line_stroke.append(np.full(len(lines[-1]), index))
            knot_stroke.append(np.full(len(knots[-1]), index))
    matrix, shift = sample_affine(rng, jitter, instances)
    offsets = rng.uniform(-jitter.stroke_offset, jitter.stroke_offset, (instances, len(glyph), 2))
    widths = rng.uniform(jitter.width[0], jitter.width[1], instances)
    canvas = size * supersample
    out = np.zeros((instances, size, size), dtype=np.uint8)
    if not lines:
        return out

    line_xy = _place(np.concatenate(lines), np.concatenate(line_stroke), matrix, shift, offsets) * canvas
    knot_xy = _place(np.concatenate(knots), np.concatenate(knot_stroke), matrix, shift, offsets) * canvas
    ends = np.cumsum([len(line) for line in lines])
    bounds = list(zip((0, *ends[:-1].tolist()), ends.tolist(), strict=True))
    for i in range(instances):
        pen = max(1, round(float(widths[i]) * canvas))
        radius = pen / 2.0
        image = Image.new("L", (canvas, canvas), 0)
        draw = ImageDraw.Draw(image)
        # Joints inside a segment turn by small angles and need no rounding; discs at the segment ends round
        # the caps and the corners. Drawing joint="curve" instead costs four times as much.
        for start, stop in bounds:
            draw.line(line_xy[i, start:stop].ravel().tolist(), fill=255, width=pen)
        for x, y in knot_xy[i].tolist():
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
        out[i] = np.asarray(image.reduce(supersample))
    return out


def _place(
    points: np.ndarray, stroke: np.ndarray, matrix: np.ndarray, shift: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Unit-square points ``(p, 2)`` of strokes ``stroke`` (p,) under each instance's map: ``(instances, p, 2)``."""
    return np.einsum("iab,pb->ipa", matrix, points - 0.5) + 0.5 + shift[:, None, :] + offsets[:, stroke]
