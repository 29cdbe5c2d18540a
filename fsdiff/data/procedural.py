"""A procedural alphabet with no data dependency, for tests and smoke runs: each class is a seeded random glyph
of a few strokes, drawn by the same jittered renderer as the kanji."""

import numpy as np

from fsdiff.data.classes import ClassImages
from fsdiff.data.strokes import DEFAULT_JITTER, Glyph, Jitter, render_glyph
from fsdiff.errors import ConfigError
from fsdiff.typing import NonNegativeInt, PositiveInt

_GRID = np.linspace(0.2, 0.8, 5)  # stroke ends snap to a 5 x 5 grid, as pen strokes of a script would


def procedural_dataset(
    *,
    classes: PositiveInt = 20,
    instances: PositiveInt = 10,
    size: PositiveInt = 32,
    min_strokes: PositiveInt = 2,
    max_strokes: PositiveInt = 5,
    jitter: Jitter = DEFAULT_JITTER,
    seed: NonNegativeInt = 0,
) -> ClassImages:
    """``classes`` random glyphs of ``min_strokes..max_strokes`` strokes, each rendered ``instances`` times at
    ``size x size``, 1 channel, named ``glyph0``, ``glyph1``, ... Class ``i`` depends only on ``(seed, i)``."""
    if min_strokes > max_strokes:
        raise ConfigError([("min_strokes", f"{min_strokes} exceeds max_strokes={max_strokes}")])
    images = np.stack(
        [
            render_glyph(
                random_glyph(np.random.default_rng([seed, i, 0]), min_strokes=min_strokes, max_strokes=max_strokes),
                size=size,
                instances=instances,
                jitter=jitter,
                rng=np.random.default_rng([seed, i, 1]),
            )
            for i in range(classes)
        ]
    )
    return ClassImages(
        images=images.reshape(-1, size, size, 1),
        labels=np.repeat(np.arange(classes, dtype=np.int64), instances),
        names=tuple(f"glyph{i}" for i in range(classes)),
        source="procedural",
    )


def random_glyph(rng: np.random.Generator, *, min_strokes: PositiveInt, max_strokes: PositiveInt) -> Glyph:
    """A glyph of ``min_strokes..max_strokes`` strokes, each one or two cubic segments between distinct grid
    points whose controls bend it off the straight line by up to a third of its length."""
    strokes = []
    for _ in range(rng.integers(min_strokes, max_strokes + 1)):
        pieces = rng.integers(1, 3)
        points = [_GRID[rng.integers(0, len(_GRID), 2)]]
        while len(points) <= pieces:
            point = _GRID[rng.integers(0, len(_GRID), 2)]
            if not np.array_equal(point, points[-1]):
                points.append(point)
        segments = []
        for start, end in zip(points[:-1], points[1:], strict=True):
            chord = end - start
            normal = np.array([-chord[1], chord[0]])
            bend = rng.uniform(-1.0 / 3.0, 1.0 / 3.0, 2)
            first = start + chord / 3.0 + bend[0] * normal
            second = start + 2.0 * chord / 3.0 + bend[1] * normal
            segments.append(np.stack([start, first, second, end]))
        strokes.append([np.stack(segments)])
    return strokes
