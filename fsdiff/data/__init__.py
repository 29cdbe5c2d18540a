"""Data: labelled class images, episodic set sampling, and the sources they come from (rendered KanjiVG glyphs by
default, a procedural alphabet, class folders, ``.npz`` files, Fashion-MNIST and CJK fonts when installed)."""

from fsdiff.data.cache import cache_dir, cache_path, cached
from fsdiff.data.classes import ClassImages, Splits
from fsdiff.data.contexts import ContextSets, context_sets
from fsdiff.data.fashion_mnist import fashion_mnist_available, fashion_mnist_dataset, read_idx
from fsdiff.data.files import folder_dataset, npz_dataset, save_npz
from fsdiff.data.fonts import FontFace, cjk_font_dataset, cjk_fonts, cjk_fonts_available, font_faces
from fsdiff.data.kanji import kanji_dataset, kanji_files, kanjivg_dir, read_glyph
from fsdiff.data.pixels import resize, to_channels, to_float, to_uint8
from fsdiff.data.procedural import procedural_dataset, random_glyph
from fsdiff.data.sampler import SetSampler
from fsdiff.data.sources import Source, load_dataset
from fsdiff.data.strokes import DEFAULT_JITTER, Glyph, Jitter, render_glyph, sample_affine
from fsdiff.data.svg_path import Segments, flatten, parse_path

__all__ = [
    "DEFAULT_JITTER",
    "ClassImages",
    "ContextSets",
    "FontFace",
    "Glyph",
    "Jitter",
    "Segments",
    "SetSampler",
    "Source",
    "Splits",
    "cache_dir",
    "cache_path",
    "cached",
    "cjk_font_dataset",
    "cjk_fonts",
    "cjk_fonts_available",
    "context_sets",
    "fashion_mnist_available",
    "fashion_mnist_dataset",
    "flatten",
    "folder_dataset",
    "font_faces",
    "kanji_dataset",
    "kanji_files",
    "kanjivg_dir",
    "load_dataset",
    "npz_dataset",
    "parse_path",
    "procedural_dataset",
    "random_glyph",
    "read_glyph",
    "read_idx",
    "render_glyph",
    "resize",
    "sample_affine",
    "save_npz",
    "to_channels",
    "to_float",
    "to_uint8",
]
