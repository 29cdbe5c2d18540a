"""One entry point from a config's ``data`` section to a data set: ``load_dataset(**section)``. Its signature is
the section's schema."""

import dataclasses
from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np
from beartype.vale import Is

from fsdiff.data.classes import ClassImages
from fsdiff.data.fashion_mnist import fashion_mnist_dataset
from fsdiff.data.files import folder_dataset, npz_dataset
from fsdiff.data.fonts import FONT_JITTER, cjk_font_dataset, font_faces
from fsdiff.data.kanji import kanji_dataset
from fsdiff.data.pixels import resize, to_channels
from fsdiff.data.procedural import procedural_dataset
from fsdiff.data.strokes import DEFAULT_JITTER
from fsdiff.errors import ConfigError
from fsdiff.typing import NonNegativeInt, PositiveInt

Source = Literal["kanji", "procedural", "folder", "npz", "fashion_mnist", "cjk_fonts"]
NonNegativeNumber = Annotated[float | int, Is[lambda v: not isinstance(v, bool) and v >= 0]]


def load_dataset(
    source: Source = "kanji",
    *,
    path: str | None = None,
    size: PositiveInt = 32,
    channels: Literal[1, 3] = 1,
    instances: PositiveInt | None = None,
    max_classes: PositiveInt | None = None,
    min_strokes: PositiveInt | None = None,
    max_strokes: PositiveInt | None = None,
    jitter: NonNegativeNumber = 1.0,
    seed: NonNegativeInt = 0,
) -> ClassImages:
    """Build the data set ``source`` with images ``size x size x channels``.

    - ``kanji`` (default): KanjiVG glyphs, see ``kanji_dataset``; ``instances`` renderings per kanji (20).
    - ``procedural``: random stroke glyphs, see ``procedural_dataset``; ``max_classes`` of them (100).
    - ``folder``: ``path`` holds one sub-folder of images per class; ``npz``: ``path`` is an ``.npz`` file.
    - ``fashion_mnist``: Debian's Fashion-MNIST, or the IDX files in ``path``.
    - ``cjk_fonts``: installed CJK fonts, or the font file (or folder of fonts) ``path``; ``instances`` per face (1).

    ``None`` means the source's own default. ``min_strokes``/``max_strokes`` filter kanji (1..10) and shape
    procedural glyphs (2..5); ``jitter`` scales the rendered sources' random variation (0: none); ``seed`` fixes
    renderings and the choice of ``max_classes`` classes (a seeded subset for every source). Stored images are
    resized to ``size`` when they differ. Raises ``ConfigError`` for options that do not fit the source and
    ``DataError`` for unusable data.
    """
    if min_strokes is not None and max_strokes is not None and min_strokes > max_strokes:
        raise ConfigError([("data.min_strokes", f"{min_strokes} exceeds data.max_strokes={max_strokes}")])
    options = _Options(
        path=path,
        size=size,
        channels=channels,
        instances=instances,
        max_classes=max_classes,
        min_strokes=min_strokes,
        max_strokes=max_strokes,
        jitter=float(jitter),
        seed=seed,
    )
    builder, uses_path = _SOURCES[source]
    if path is None and uses_path == "required":
        raise ConfigError([("data.path", f"required by source {source!r}")])
    if path is not None and uses_path == "unused":
        raise ConfigError([("data.path", f"not used by source {source!r}")])
    data = builder(options)
    if max_classes is not None and max_classes < data.num_classes:
        keep = np.sort(np.random.default_rng(seed).choice(data.num_classes, max_classes, replace=False))
        data = data.select(keep.tolist())
    images = to_channels(resize(data.images, size), channels)
    return dataclasses.replace(data, images=images)


@dataclasses.dataclass(frozen=True)
class _Options:
    path: str | None
    size: int
    channels: int
    instances: int | None
    max_classes: int | None
    min_strokes: int | None
    max_strokes: int | None
    jitter: float
    seed: int


def _given(**options: object) -> dict[str, object]:
    """The options that were set: the others keep the source function's defaults."""
    return {name: value for name, value in options.items() if value is not None}


def _kanji(o: _Options) -> ClassImages:
    return kanji_dataset(
        size=o.size,
        jitter=DEFAULT_JITTER.scaled(o.jitter),
        seed=o.seed,
        **_given(
            instances=o.instances, max_classes=o.max_classes, min_strokes=o.min_strokes, max_strokes=o.max_strokes
        ),
    )


def _procedural(o: _Options) -> ClassImages:
    return procedural_dataset(
        classes=o.max_classes or 100,
        size=o.size,
        jitter=DEFAULT_JITTER.scaled(o.jitter),
        seed=o.seed,
        **_given(instances=o.instances, min_strokes=o.min_strokes, max_strokes=o.max_strokes),
    )


def _folder(o: _Options) -> ClassImages:
    return folder_dataset(o.path, channels=o.channels)


def _npz(o: _Options) -> ClassImages:
    return npz_dataset(o.path, channels=o.channels)


def _fashion_mnist(o: _Options) -> ClassImages:
    return fashion_mnist_dataset(root=o.path)


def _cjk_fonts(o: _Options) -> ClassImages:
    return cjk_font_dataset(
        fonts=None if o.path is None else font_faces(o.path),
        size=o.size,
        jitter=FONT_JITTER.scaled(o.jitter),
        seed=o.seed,
        **_given(instances_per_font=o.instances, max_classes=o.max_classes),
    )


_SOURCES: dict[str, tuple[Callable[[_Options], ClassImages], Literal["required", "optional", "unused"]]] = {
    "kanji": (_kanji, "unused"),
    "procedural": (_procedural, "unused"),
    "folder": (_folder, "required"),
    "npz": (_npz, "required"),
    "fashion_mnist": (_fashion_mnist, "optional"),
    "cjk_fonts": (_cjk_fonts, "optional"),
}
