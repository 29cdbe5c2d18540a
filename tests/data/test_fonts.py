"""Glyphs from fonts: the rendering and coverage code runs on whatever font is installed (DejaVu here, drawing
Latin letters); the CJK part runs only where a CJK font is installed."""

import glob
from pathlib import Path

import numpy as np
import pytest

from fsdiff.data import fonts
from fsdiff.data.fonts import FontFace, cjk_font_dataset, cjk_fonts, cjk_fonts_available, font_faces
from fsdiff.errors import DataError

ANY_FONTS = sorted(glob.glob("/usr/share/fonts/**/*.ttf", recursive=True))[:3]
needs_a_font = pytest.mark.skipif(not ANY_FONTS, reason="no .ttf font under /usr/share/fonts to render with")


@needs_a_font
def test_same_character_in_each_face_is_one_class():
    data = cjk_font_dataset(characters="ABCA", fonts=ANY_FONTS, size=16, instances_per_font=2)
    assert data.names == ("A", "B", "C")  # duplicates asked for count once
    assert data.images.shape == (3 * len(ANY_FONTS) * 2, 16, 16, 1)
    np.testing.assert_array_equal(data.counts, np.full(3, len(ANY_FONTS) * 2))
    ink = data.images.reshape(len(data), -1).max(axis=1)
    assert (ink > 128).all()
    first = data.images[data.labels == 0]
    assert not np.array_equal(first[0], first[1])  # jittered copies differ


@needs_a_font
def test_characters_a_face_cannot_draw_are_left_out():
    data = cjk_font_dataset(characters="A\u611b", fonts=ANY_FONTS[:1], size=16)
    if data.names != ("A",):
        pytest.skip(f"{ANY_FONTS[0]} draws \u611b")
    assert data.images.shape == (1, 16, 16, 1)


@needs_a_font
def test_no_drawable_character_is_a_data_error():
    with pytest.raises(DataError, match="none of the 1 characters asked for is drawn by every face"):
        cjk_font_dataset(characters="\U0010fffc", fonts=ANY_FONTS[:1], size=16)


@needs_a_font
def test_font_faces_of_a_file_and_of_a_folder(tmp_path):
    font = Path(ANY_FONTS[0])
    assert font_faces(font) == [FontFace(font)]
    assert FontFace(font) in font_faces(str(font.parent))
    with pytest.raises(DataError, match=f"{tmp_path}: no font files"):
        font_faces(tmp_path)


def test_missing_font_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path / 'x.ttf'}: no such font file"):
        cjk_font_dataset(characters="A", fonts=[tmp_path / "x.ttf"])


def test_discovery_lists_existing_files_and_agrees_with_availability():
    faces = cjk_fonts()
    assert all(face.path.is_file() for face in faces)
    assert cjk_fonts_available() == bool(faces)


@pytest.mark.skipif(not cjk_fonts_available(), reason="no CJK font installed (fc-list :lang=zh finds none)")
def test_installed_cjk_fonts_draw_kanji():
    data = cjk_font_dataset(characters="一二三愛", size=16, max_classes=3)
    assert data.num_classes == 3 and data.images.max() > 128


def test_without_fontconfig_fonts_are_found_by_name_in_font_folders(monkeypatch, tmp_path):
    def no_fc_list(*args, **kwargs):
        raise FileNotFoundError("fc-list")

    (tmp_path / "noto").mkdir()
    for name in ("NotoSansCJK-Regular.ttc", "wqy-zenhei.ttc", "DejaVuSans.ttf", "notes.txt"):
        (tmp_path / "noto" / name).write_bytes(b"")
    monkeypatch.setattr(fonts.subprocess, "run", no_fc_list)
    monkeypatch.setattr(fonts, "FONT_DIRS", (tmp_path, tmp_path / "absent"))
    assert [face.path.name for face in cjk_fonts()] == ["NotoSansCJK-Regular.ttc", "wqy-zenhei.ttc"]
