"""The embedded KanjiVG data set: real legible glyphs, the stroke filter, sizes, and the render cache."""

import numpy as np
import pytest

from fsdiff.data import cache, kanji
from fsdiff.data.kanji import kanji_dataset, kanji_files, kanjivg_dir, read_glyph
from fsdiff.data.strokes import DEFAULT_JITTER, render_glyph
from fsdiff.errors import DataError


@pytest.fixture(scope="module")
def glyphs():
    return kanji_dataset(size=32, instances=6, max_classes=8, seed=0)


def strokes_of(name):
    return len(read_glyph(kanjivg_dir() / f"{ord(name):05x}.svg"))


def test_renders_real_glyphs(glyphs):
    assert glyphs.images.shape == (48, 32, 32, 1) and glyphs.images.dtype == np.uint8
    assert glyphs.num_classes == 8 and glyphs.source == "kanjivg"
    assert all(ord(name) >= 0x2E80 for name in glyphs.names)  # CJK radicals and ideographs, no kana or Latin
    ink = (glyphs.images > 127).mean(axis=(1, 2, 3))
    assert (ink > 0.03).all() and (ink < 0.6).all()


def test_instances_differ_but_correlate_more_within_a_class_than_across(glyphs):
    flat = glyphs.images.reshape(len(glyphs), -1).astype(np.float64)
    corr = np.corrcoef(flat)
    same = glyphs.labels[:, None] == glyphs.labels[None, :]
    off_diagonal = ~np.eye(len(glyphs), dtype=bool)
    assert (corr[off_diagonal] < 1.0 - 1e-9).all()  # no two renderings identical
    assert corr[same & off_diagonal].mean() > corr[~same].mean() + 0.2
    per_class = [flat[glyphs.labels == c].mean(axis=0).tobytes() for c in range(8)]
    assert len(set(per_class)) == 8


def test_stroke_filter_is_respected():
    data = kanji_dataset(size=16, instances=1, max_classes=5, min_strokes=3, max_strokes=4, seed=1)
    assert all(3 <= strokes_of(name) <= 4 for name in data.names)


def test_kanji_files_skip_variants_and_non_kanji():
    files = kanji_files(min_strokes=1, max_strokes=2)
    assert files and all("-" not in file.stem and int(file.stem, 16) >= 0x2E80 for file in files)
    assert (kanjivg_dir() / "04e00.svg") in files  # 一, one stroke


def test_no_character_in_stroke_range_is_a_data_error():
    with pytest.raises(DataError, match="no character has 40..50 strokes"):
        kanji_files(min_strokes=40, max_strokes=50)


def test_renders_at_28_pixels():
    data = kanji_dataset(size=28, instances=2, max_classes=3, seed=0)
    assert data.images.shape == (6, 28, 28, 1) and data.images.max() == 255


def test_cache_hit_returns_identical_arrays_without_rendering(glyphs, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("rendered on a cache hit")

    monkeypatch.setattr(kanji, "render_glyph", fail)
    again = kanji_dataset(size=32, instances=6, max_classes=8, seed=0)
    np.testing.assert_array_equal(again.images, glyphs.images)
    np.testing.assert_array_equal(again.labels, glyphs.labels)
    assert again.names == glyphs.names


@pytest.mark.parametrize(
    "change", [{"seed": 1}, {"size": 16}, {"instances": 5}, {"max_strokes": 9}, {"jitter": DEFAULT_JITTER.scaled(0.5)}]
)
def test_a_changed_parameter_misses_the_cache(glyphs, change, monkeypatch):
    rendered = []

    def counting(*args, **kwargs):
        rendered.append(1)
        return render_glyph(*args, **kwargs)

    monkeypatch.setattr(kanji, "render_glyph", counting)
    before = set(cache.cache_dir().iterdir())
    kanji_dataset(**({"size": 32, "instances": 6, "max_classes": 8, "seed": 0} | change))
    assert rendered and len(set(cache.cache_dir().iterdir()) - before) == 1


def test_kanjivg_files_parse():
    """Every 32nd file of all stroke counts (all 6,446 parse; that check takes seconds under the type checker)."""
    for file in kanji_files(min_strokes=1, max_strokes=40)[::32]:
        glyph = read_glyph(file)
        assert glyph and all(stroke for stroke in glyph), file
