"""Fashion-MNIST: the IDX reader on files the test writes, the loader on a tiny fake install, and the real
Debian package when it is installed."""

import gzip

import numpy as np
import pytest

from fsdiff.data.fashion_mnist import CLASS_NAMES, fashion_mnist_available, fashion_mnist_dataset, read_idx
from fsdiff.errors import DataError


def idx_bytes(array, code):
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize(
    ("dtype", "code"), [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D)]
)
@pytest.mark.parametrize("compressed", [False, True])
def test_idx_round_trip(tmp_path, dtype, code, compressed):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / ("a.idx.gz" if compressed else "a.idx")
    data = idx_bytes(array, code)
    path.write_bytes(gzip.compress(data) if compressed else data)
    read = read_idx(path)
    assert read.dtype == np.dtype(dtype) and read.dtype.isnative
    np.testing.assert_array_equal(read, array)


def test_idx_errors_name_the_file(tmp_path):
    (tmp_path / "magic").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(DataError, match=f"{tmp_path / 'magic'}: not an IDX file"):
        read_idx(tmp_path / "magic")
    (tmp_path / "short").write_bytes(idx_bytes(np.zeros(5, np.uint8), 0x08)[:-1])
    with pytest.raises(DataError, match=f"{tmp_path / 'short'}: IDX file of 12 bytes, its header says 13"):
        read_idx(tmp_path / "short")
    with pytest.raises(DataError, match=f"{tmp_path / 'missing'}: unreadable IDX file"):
        read_idx(tmp_path / "missing")


def fake_install(root, per_part=4):
    root.mkdir()
    for part in ("train", "t10k"):
        images = np.full((per_part, 28, 28), 7, np.uint8)
        labels = np.arange(per_part, dtype=np.uint8) % 10
        (root / f"{part}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images, 0x08)))
        (root / f"{part}-labels-idx1-ubyte").write_bytes(idx_bytes(labels, 0x08))


def test_loader_reads_both_parts_of_an_install(tmp_path):
    fake_install(tmp_path / "fm")
    assert fashion_mnist_available(tmp_path / "fm")
    data = fashion_mnist_dataset(root=tmp_path / "fm")
    assert data.images.shape == (8, 28, 28, 1) and data.names == CLASS_NAMES
    np.testing.assert_array_equal(data.labels, [0, 1, 2, 3, 0, 1, 2, 3])


def test_missing_files_are_reported_with_the_folder(tmp_path):
    assert not fashion_mnist_available(tmp_path)
    with pytest.raises(
        DataError, match=f"{tmp_path}: Fashion-MNIST file.*train-images-idx3-ubyte.*dataset-fashion-mnist"
    ):
        fashion_mnist_dataset(root=tmp_path)


@pytest.mark.skipif(not fashion_mnist_available(), reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_install():
    data = fashion_mnist_dataset()
    assert data.images.shape == (70000, 28, 28, 1)
    np.testing.assert_array_equal(data.counts, np.full(10, 7000))
