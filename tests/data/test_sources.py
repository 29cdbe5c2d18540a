"""load_dataset: the config section's entry point. Its signature is a schema, every source builds through it,
and options that do not fit a source are config errors."""

import inspect
import typing

import numpy as np
import pytest
from beartype.door import is_bearable
from PIL import Image

from fsdiff.data.files import save_npz
from fsdiff.data.sources import load_dataset
from fsdiff.errors import ConfigError, DataError

from .test_classes import toy

PARAMETERS = inspect.signature(load_dataset).parameters


def test_signature_is_a_typed_schema_whose_defaults_fit_it():
    hints = typing.get_type_hints(load_dataset, include_extras=True)
    assert all(name in hints for name in PARAMETERS)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for name, p in PARAMETERS.items() if name != "source")
    for name, parameter in PARAMETERS.items():
        assert is_bearable(parameter.default, hints[name]), name
    assert set(typing.get_args(hints["source"])) == {
        "kanji",
        "procedural",
        "folder",
        "npz",
        "fashion_mnist",
        "cjk_fonts",
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [("source", "mnist"), ("size", 0), ("channels", 2), ("jitter", -1.0), ("jitter", True), ("seed", -1), ("path", 3)],
)
def test_schema_rejects_bad_values(name, value):
    hints = typing.get_type_hints(load_dataset, include_extras=True)
    assert not is_bearable(value, hints[name])


def test_procedural_source_with_options():
    data = load_dataset("procedural", size=16, max_classes=4, instances=3, channels=3, jitter=0)
    assert data.images.shape == (12, 16, 16, 3) and data.num_classes == 4
    np.testing.assert_array_equal(data.images[0], data.images[1])  # no jitter: identical instances


def test_kanji_source_passes_the_stroke_filter():
    data = load_dataset("kanji", size=28, max_classes=3, instances=2, min_strokes=2, max_strokes=3)
    assert data.images.shape == (6, 28, 28, 1) and data.source == "kanjivg"


def test_file_sources_resize_convert_and_subsample(tmp_path):
    save_npz(toy(6, 2), tmp_path / "toy.npz")
    data = load_dataset("npz", path=str(tmp_path / "toy.npz"), size=8, channels=3, max_classes=4, seed=1)
    assert data.images.shape == (8, 8, 8, 3) and data.num_classes == 4
    for name in ("a", "b"):
        (tmp_path / "classes" / name).mkdir(parents=True)
        Image.new("RGB", (5, 5), (10, 200, 30)).save(tmp_path / "classes" / name / "0.png")
    data = load_dataset("folder", path=str(tmp_path / "classes"), size=10)
    assert data.images.shape == (2, 10, 10, 1) and data.names == ("a", "b")


def test_path_required_or_unused_is_a_config_error():
    with pytest.raises(ConfigError, match="data.path: required by source 'folder'"):
        load_dataset("folder")
    with pytest.raises(ConfigError, match="data.path: not used by source 'kanji'"):
        load_dataset("kanji", path="somewhere")
    with pytest.raises(ConfigError, match="data.min_strokes: 5 exceeds data.max_strokes=3"):
        load_dataset("procedural", min_strokes=5, max_strokes=3)


def test_missing_data_is_a_data_error_naming_the_path(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path / 'none'}: no such folder"):
        load_dataset("folder", path=str(tmp_path / "none"))
    with pytest.raises(DataError, match=f"{tmp_path}: Fashion-MNIST file"):
        load_dataset("fashion_mnist", path=str(tmp_path))
    with pytest.raises(DataError, match=f"{tmp_path}: no font files"):
        load_dataset("cjk_fonts", path=str(tmp_path))
