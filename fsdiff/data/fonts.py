"""CJK glyphs rendered from installed fonts, when there are any: one class per character, its instances the
same character in different faces (each optionally repeated under a random affine jitter)."""

import dataclasses
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fsdiff.data.cache import cached
from fsdiff.data.classes import ClassImages
from fsdiff.data.kanji import kanji_files
from fsdiff.data.strokes import DEFAULT_JITTER, Jitter, sample_affine
from fsdiff.errors import DataError
from fsdiff.typing import NonNegativeInt, PositiveInt

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")
"""Searched when ``fc-list`` is missing, for files whose names mark a CJK font."""

FONT_JITTER = DEFAULT_JITTER.scaled(0.5)
"""Font glyphs are already clean and consistent: half the stroke renderer's global jitter."""

_CJK_NAME_MARKS = ("cjk", "wqy", "wenquanyi", "droidsansfallback", "uming", "ukai", "sourcehan", "hanazono")
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
_SUPERSAMPLE = 4
_EM = 0.85  # the font size as a fraction of the image side
_MISSING = chr(0x10FFFD)  # a private-use code point: fonts draw it as their "missing glyph"


@dataclasses.dataclass(frozen=True, order=True)
class FontFace:
    """One face of a font file (``.ttc`` collections hold several, by ``index``)."""

    path: Path
    index: int = 0


def cjk_fonts() -> list[FontFace]:
    """Installed faces covering Chinese: ``fc-list :lang=zh``, or when fontconfig is missing, font files in
    ``FONT_DIRS`` whose names mark them CJK."""
    try:
        listing = subprocess.run(
            ["fc-list", "-f", "%{file}|%{index}\n", ":lang=zh"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return sorted(
            FontFace(Path(file))
            for folder in FONT_DIRS
            if folder.is_dir()
            for file in folder.rglob("*")
            if file.suffix.lower() in _FONT_SUFFIXES
            and any(mark in file.name.lower().replace("-", "") for mark in _CJK_NAME_MARKS)
        )
    faces = {
        FontFace(Path(file), int(index or 0))
        for file, _, index in (line.partition("|") for line in listing.split("\n") if line)
    }
    return sorted(faces)


def font_faces(path: str | os.PathLike) -> list[FontFace]:
    """The first face of the font file ``path``, or of every font file (``.ttf``, ``.otf``, ``.ttc``) under the
    folder ``path``, sorted."""
    root = Path(path)
    if root.is_file():
        return [FontFace(root)]
    if not root.is_dir():
        raise DataError(f"{root}: no such font file or folder")
    faces = [FontFace(file) for file in sorted(root.rglob("*")) if file.suffix.lower() in _FONT_SUFFIXES]
    if not faces:
        raise DataError(f"{root}: no font files ({', '.join(_FONT_SUFFIXES)}) in this folder")
    return faces


def cjk_fonts_available() -> bool:
    """Whether any CJK font is installed."""
    return bool(cjk_fonts())


def cjk_font_dataset(
    *,
    characters: str | None = None,
    fonts: Sequence[FontFace | str | os.PathLike] | None = None,
    size: PositiveInt = 32,
    instances_per_font: PositiveInt = 1,
    max_classes: PositiveInt | None = None,
    jitter: Jitter = FONT_JITTER,
    seed: NonNegativeInt = 0,
) -> ClassImages:
    """Each of ``characters`` (default: the kanji of ``kanji_files()``) that every face of ``fonts`` (default:
    ``cjk_fonts()``) draws, or a seeded choice of ``max_classes`` of them, rendered white on black at
    ``size x size``, 1 channel, ``instances_per_font`` times per face. Cached like the kanji, keyed also by each
    font file's path, size and modification time. Raises ``DataError`` when there is no font or no character
    that every face draws."""
    faces = cjk_fonts() if fonts is None else [f if isinstance(f, FontFace) else FontFace(Path(f)) for f in fonts]
    if not faces:
        raise DataError("cjk_fonts: no CJK font installed (fc-list :lang=zh finds none); install e.g. fonts-noto-cjk")
    for face in faces:
        if not face.path.is_file():
            raise DataError(f"{face.path}: no such font file")
    if characters is None:
        characters = "".join(chr(int(file.stem, 16)) for file in kanji_files())
    params = {
        "characters": characters,
        "fonts": [[str(f.path), f.index, f.path.stat().st_size, f.path.stat().st_mtime_ns] for f in faces],
        "size": size,
        "instances_per_font": instances_per_font,
        "max_classes": max_classes,
        "jitter": dataclasses.asdict(jitter),
        "seed": seed,
    }

    def build() -> ClassImages:
        loaded = [_load(face, size * _SUPERSAMPLE) for face in faces]
        chosen = [ch for ch in dict.fromkeys(characters) if all(_draws(font, ch, size) for font in loaded)]
        if not chosen:
            raise DataError(
                f"cjk_fonts: none of the {len(characters)} characters asked for is drawn by every face of "
                f"{[str(f.path) for f in faces]}"
            )
        if max_classes is not None and max_classes < len(chosen):
            keep = np.sort(np.random.default_rng(seed).choice(len(chosen), max_classes, replace=False))
            chosen = [chosen[i] for i in keep.tolist()]
        images = np.stack(
            [
                np.concatenate(
                    [
                        _render(
                            font,
                            ch,
                            size=size,
                            instances=instances_per_font,
                            jitter=jitter,
                            rng=np.random.default_rng([seed, ord(ch), f]),
                        )
                        for f, font in enumerate(loaded)
                    ]
                )
                for ch in chosen
            ]
        )
        per_class = len(faces) * instances_per_font
        return ClassImages(
            images=images.reshape(-1, size, size, 1),
            labels=np.repeat(np.arange(len(chosen), dtype=np.int64), per_class),
            names=tuple(chosen),
            source="cjk_fonts",
        )

    return cached("cjk_fonts", params, build)


def _load(face: FontFace, canvas: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(face.path), round(canvas * _EM), index=face.index)
    except OSError as error:
        raise DataError(f"{face.path}: unreadable font (face {face.index}): {error}") from error


def _draw(font: ImageFont.FreeTypeFont, character: str, canvas: int) -> Image.Image:
    image = Image.new("L", (canvas, canvas), 0)
    ImageDraw.Draw(image).text((canvas / 2, canvas / 2), character, font=font, fill=255, anchor="mm")
    return image


def _draws(font: ImageFont.FreeTypeFont, character: str, size: int) -> bool:
    """Whether the font has a glyph for the character: it draws something other than its missing-glyph box."""
    canvas = size * _SUPERSAMPLE
    drawn = np.asarray(_draw(font, character, canvas))
    return bool(drawn.any()) and not np.array_equal(drawn, np.asarray(_draw(font, _MISSING, canvas)))


def _render(
    font: ImageFont.FreeTypeFont,
    character: str,
    *,
    size: int,
    instances: int,
    jitter: Jitter,
    rng: np.random.Generator,
) -> np.ndarray:
    """``instances`` renderings ``(instances, size, size)`` of the character, each under its own random affine
    map (the inverse map goes to Pillow, which pulls each output pixel from the glyph image)."""
    canvas = size * _SUPERSAMPLE
    glyph = _draw(font, character, canvas)
    matrix, shift = sample_affine(rng, jitter, instances)
    out = np.empty((instances, size, size), dtype=np.uint8)
    for i in range(instances):
        inverse = np.linalg.inv(matrix[i])
        offset = canvas * 0.5 - inverse @ (canvas * (0.5 + shift[i]))
        coefficients = (*inverse[0], offset[0], *inverse[1], offset[1])
        moved = glyph.transform(glyph.size, Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR)
        out[i] = np.asarray(moved.reduce(_SUPERSAMPLE))
    return out
