"""The embedded default data set: kanji rendered from KanjiVG's stroke data (the ``kanjivg`` PyPI package),
one class per character, each instance a jittered rendering. Needs nothing but pip; rendered once per set of
parameters and cached (see ``cache``).

KanjiVG is by Ulrich Apel, CC BY-SA 3.0 (https://kanjivg.tagaini.net); the images it renders carry that licence.
"""

import dataclasses
import functools
import importlib.metadata
import re
import unicodedata
from pathlib import Path

import numpy as np

from fsdiff.data.cache import cached
from fsdiff.data.classes import ClassImages
from fsdiff.data.strokes import DEFAULT_JITTER, Glyph, Jitter, render_glyph
from fsdiff.data.svg_path import parse_path
from fsdiff.errors import DataError
from fsdiff.typing import NonNegativeInt, PositiveInt

RENDERER_VERSION = 1
"""Part of the cache key: bump whenever a change to the rendering code changes the images."""

_VIEWBOX = 109.0  # every KanjiVG file draws in a 109 x 109 box
_PATH_DATA = re.compile(r'<path\b[^>]*?\sd="([^"]*)"')


def kanji_dataset(
    *,
    size: PositiveInt = 32,
    instances: PositiveInt = 20,
    max_classes: PositiveInt | None = None,
    min_strokes: PositiveInt = 1,
    max_strokes: PositiveInt = 10,
    jitter: Jitter = DEFAULT_JITTER,
    seed: NonNegativeInt = 0,
) -> ClassImages:
    """Every KanjiVG kanji with ``min_strokes..max_strokes`` strokes (up to 10 they stay legible at 28-32 px;
    there are 2,366 of them), or a seeded choice of ``max_classes`` of those, each rendered ``instances``
    times at ``size x size``, 1 channel. Classes are in code-point order and named by their character.

    A character's renderings depend only on (character, size, instances, jitter, seed), not on which other
    characters are chosen. Cached under ``cache.cache_dir()``, keyed by every parameter and the versions of
    KanjiVG and of this renderer.
    """
    params = {
        "size": size,
        "instances": instances,
        "max_classes": max_classes,
        "min_strokes": min_strokes,
        "max_strokes": max_strokes,
        "jitter": dataclasses.asdict(jitter),
        "seed": seed,
        "kanjivg": importlib.metadata.version("kanjivg"),
        "renderer": RENDERER_VERSION,
    }

    def build() -> ClassImages:
        files = kanji_files(min_strokes=min_strokes, max_strokes=max_strokes)
        if max_classes is not None and max_classes < len(files):
            keep = np.sort(np.random.default_rng(seed).choice(len(files), max_classes, replace=False))
            files = [files[i] for i in keep.tolist()]
        images = np.stack(
            [
                render_glyph(
                    read_glyph(file),
                    size=size,
                    instances=instances,
                    jitter=jitter,
                    rng=np.random.default_rng([seed, _code_point(file)]),
                )
                for file in files
            ]
        )
        return ClassImages(
            images=images.reshape(-1, size, size, 1),
            labels=np.repeat(np.arange(len(files), dtype=np.int64), instances),
            names=tuple(chr(_code_point(file)) for file in files),
            source="kanjivg",
        )

    return cached("kanjivg", params, build)


def kanjivg_dir() -> Path:
    """The folder of KanjiVG's SVG files, as installed by the ``kanjivg`` package."""
    try:
        files = importlib.metadata.files("kanjivg") or []
    except importlib.metadata.PackageNotFoundError as error:
        raise DataError("kanjivg: the package is not installed (pip install kanjivg)") from error
    for file in files:
        if file.parts[0] == "kanji" and file.suffix == ".svg":
            return Path(file.locate()).parent
    raise DataError("kanjivg: the installed package lists no kanji/*.svg files")


def kanji_files(*, min_strokes: PositiveInt = 1, max_strokes: PositiveInt = 10) -> list[Path]:
    """KanjiVG files of kanji (CJK ideographs and radicals; KanjiVG's kana, Latin letters, digits and
    punctuation are left out) with ``min_strokes..max_strokes`` strokes, in code-point order; variant drawings
    (``04e14-Kaisho.svg`` and the like) are skipped."""
    folder = kanjivg_dir()
    chosen = [file for file, strokes in _stroke_counts(folder) if min_strokes <= strokes <= max_strokes]
    if not chosen:
        raise DataError(f"{folder}: no character has {min_strokes}..{max_strokes} strokes")
    return chosen


def read_glyph(file: Path) -> Glyph:
    """The strokes of one KanjiVG file, one ``<path>`` each, in drawing order, scaled to the unit square."""
    try:
        return [
            [segments / _VIEWBOX for segments in parse_path(d)]
            for d in _PATH_DATA.findall(file.read_text(encoding="utf-8"))
        ]
    except DataError as error:
        raise DataError(f"{file}: {error}") from error


@functools.cache
def _stroke_counts(folder: Path) -> tuple[tuple[Path, int], ...]:
    """Every kanji file of the folder with its number of strokes, read once per process."""
    return tuple(
        (file, len(_PATH_DATA.findall(file.read_text(encoding="utf-8"))))
        for file in sorted(folder.glob("*.svg"))
        if "-" not in file.stem and unicodedata.name(chr(_code_point(file)), "").startswith("CJK ")
    )


def _code_point(file: Path) -> int:
    return int(file.stem, 16)
