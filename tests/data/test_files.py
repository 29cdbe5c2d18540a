"""Class-folder and .npz loaders: round trips, conversions, and a DataError naming the path for each bad case."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fsdiff.data.files import folder_dataset, npz_dataset, save_npz
from fsdiff.errors import DataError

from .test_classes import toy


def write_folder(root, classes, per_class=2, size=(6, 5), mode="L"):
    """Class folders of random images; returns the uint8 arrays per class, in file order."""
    rng = np.random.default_rng(0)
    written = {}
    for name in classes:
        (root / name).mkdir(parents=True)
        shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
        arrays = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(per_class)]
        for i, array in enumerate(arrays):
            Image.fromarray(array).save(root / name / f"{i}.png")
        written[name] = arrays
    return written


def test_folder_round_trip_grayscale(tmp_path):
    written = write_folder(tmp_path, ["b", "a"], per_class=3)
    (tmp_path / "a" / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden").mkdir()
    data = folder_dataset(tmp_path)
    assert data.names == ("a", "b") and data.images.shape == (6, 5, 6, 1) and data.source == str(tmp_path)
    np.testing.assert_array_equal(data.labels, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(data.images[:3, ..., 0], np.stack(written["a"]))


def test_folder_rgb_and_grayscale_conversions(tmp_path):
    written = write_folder(tmp_path, ["x"], per_class=1, mode="RGB")
    rgb = folder_dataset(tmp_path, channels=3)
    np.testing.assert_array_equal(rgb.images[0], written["x"][0])
    gray = folder_dataset(tmp_path, channels=1, size=4)
    assert gray.images.shape == (1, 4, 4, 1)


def test_folder_missing_path(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path / 'nope'}: no such folder"):
        folder_dataset(tmp_path / "nope")


def test_folder_without_class_folders(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path}: no class folders"):
        folder_dataset(tmp_path)


def test_empty_class_folder(tmp_path):
    write_folder(tmp_path, ["a"])
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match=f"{tmp_path / 'b'}: empty class folder"):
        folder_dataset(tmp_path)


def test_images_of_mixed_sizes(tmp_path):
    write_folder(tmp_path / "one", ["a"], size=(6, 5))
    write_folder(tmp_path / "two", ["b"], size=(7, 5))
    (tmp_path / "one" / "b").mkdir()
    (tmp_path / "two" / "b" / "0.png").rename(tmp_path / "one" / "b" / "0.png")
    with pytest.raises(DataError, match=f"{tmp_path / 'one'}: images of mixed sizes: .*0.png is 7x5"):
        folder_dataset(tmp_path / "one")


def test_unreadable_image(tmp_path):
    write_folder(tmp_path, ["a"])
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=f"{tmp_path / 'a' / 'broken.png'}: unreadable image"):
        folder_dataset(tmp_path)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 6),
    h=st.integers(1, 5),
    c=st.sampled_from([None, 1, 3]),
    kind=st.sampled_from(["uint8", "unit", "signed", "int64"]),
    seed=st.integers(0, 1000),
)
def test_npz_layouts_and_ranges_load_as_uint8(tmp_path, n, h, c, kind, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n, h, h) if c is None else (n, h, h, c), dtype=np.uint8)
    pixels.flat[0] = 0  # floats in [0, 1] read as [0, 1]: a signed image shows it by a negative value
    stored = {
        "uint8": pixels,
        "unit": pixels / 255.0,
        "signed": (pixels / 127.5 - 1.0).astype(np.float32),
        "int64": pixels.astype(np.int64),
    }[kind]
    labels = rng.integers(5, 8, n)
    np.savez(tmp_path / "d.npz", images=stored, labels=labels)
    data = npz_dataset(tmp_path / "d.npz")
    expected = pixels if c is not None else pixels[..., None]
    np.testing.assert_array_equal(data.images, expected)
    assert data.names == tuple(str(v) for v in np.unique(labels))
    np.testing.assert_array_equal(np.asarray(data.names, dtype=int)[data.labels], labels)


def test_save_npz_round_trip_keeps_names_and_leaves_no_temporary_file(tmp_path):
    data = toy(4, 2)
    path = save_npz(data, tmp_path / "sub" / "toy.npz")
    loaded = npz_dataset(path)
    np.testing.assert_array_equal(loaded.images, data.images)
    np.testing.assert_array_equal(loaded.labels, data.labels)
    assert loaded.names == data.names and loaded.source == str(path)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["toy.npz"]


def test_npz_channels_and_size(tmp_path):
    np.savez(tmp_path / "d.npz", images=np.full((2, 8, 8), 9, np.uint8), labels=np.array([0, 1]))
    data = npz_dataset(tmp_path / "d.npz", channels=3, size=4)
    assert data.images.shape == (2, 4, 4, 3) and (data.images == 9).all()


@pytest.mark.parametrize(
    ("arrays", "words"),
    [
        ({"images": np.zeros((2, 4, 4), np.uint8)}, r"missing array\(s\) \['labels'\]"),
        ({"images": np.zeros((2, 4, 4), np.uint8), "labels": np.zeros(3, int)}, "'labels' must be 2 integers"),
        ({"images": np.zeros((2, 4, 4), np.uint8), "labels": np.zeros(2)}, "'labels' must be 2 integers"),
        ({"images": np.zeros((2, 4), np.uint8), "labels": np.zeros(2, int)}, "'images' must be N h w"),
        ({"images": np.full((2, 4, 4), 300.0), "labels": np.zeros(2, int)}, "values 300..300 fit none"),
        ({"images": np.full((2, 4, 4), np.nan), "labels": np.zeros(2, int)}, "non-finite"),
        (
            {"images": np.zeros((2, 4, 4), np.uint8), "labels": np.array([0, 2]), "names": np.array(["a", "b"])},
            "labels must index 'names'",
        ),
    ],
)
def test_bad_npz_contents_name_the_file(tmp_path, arrays, words):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=f"{tmp_path / 'bad.npz'}: .*{words}"):
        npz_dataset(tmp_path / "bad.npz")


def test_npz_missing_unreadable_or_pickled(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path / 'none.npz'}: no such file"):
        npz_dataset(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataError, match=f"{tmp_path / 'junk.npz'}: not a readable .npz"):
        npz_dataset(tmp_path / "junk.npz")
    np.savez(tmp_path / "objects.npz", images=np.array([None, 1], dtype=object), labels=np.zeros(2, int))
    with pytest.raises(DataError, match=f"{tmp_path / 'objects.npz'}: not a readable .npz"):
        npz_dataset(tmp_path / "objects.npz")
