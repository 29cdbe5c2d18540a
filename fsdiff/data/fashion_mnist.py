"""Fashion-MNIST (Xiao et al. 2017) from Debian's ``dataset-fashion-mnist`` package, when it is installed: ten
classes of clothing, 7,000 28 x 28 grayscale images each (train and test files together: a few-shot split is by
class). Also the reader of the IDX format its files use."""

import gzip
import os
from pathlib import Path

import numpy as np

from fsdiff.data.classes import ClassImages
from fsdiff.errors import DataError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_PARTS = ("train", "t10k")
_KINDS = ("images-idx3-ubyte", "labels-idx1-ubyte")
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def fashion_mnist_available(root: str | os.PathLike | None = None) -> bool:
    """Whether the four Fashion-MNIST files are in ``root`` (default: where Debian installs them)."""
    return all(_find(Path(root or DEBIAN_DIR), f"{part}-{kind}") for part in _PARTS for kind in _KINDS)


def fashion_mnist_dataset(*, root: str | os.PathLike | None = None) -> ClassImages:
    """All 70,000 images (``N 28 28 1`` uint8) with their labels. ``root`` holds ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-...`` (each optionally ``.gz``); default: Debian's folder. Raises
    ``DataError`` naming the folder when a file is missing (``apt install dataset-fashion-mnist``)."""
    folder = Path(root or DEBIAN_DIR)
    images, labels = [], []
    for part in _PARTS:
        found = {kind: _find(folder, f"{part}-{kind}") for kind in _KINDS}
        missing = [f"{part}-{kind}" for kind, file in found.items() if file is None]
        if missing:
            raise DataError(
                f"{folder}: Fashion-MNIST file(s) {missing} not found "
                "(install Debian's dataset-fashion-mnist, or pass the folder holding them)"
            )
        images.append(read_idx(found["images-idx3-ubyte"]))
        labels.append(read_idx(found["labels-idx1-ubyte"]))
    images, labels = np.concatenate(images), np.concatenate(labels)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{folder}: Fashion-MNIST arrays of shapes {images.shape} and {labels.shape} do not match")
    return ClassImages(
        images=images.astype(np.uint8)[..., None],
        labels=labels.astype(np.int64),
        names=CLASS_NAMES,
        source=str(folder),
    )


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An array from an IDX file (the MNIST format; gzip-compressed when the name ends in ``.gz``): two zero
    bytes, a type code, the rank, then each dimension as a big-endian uint32, then the values, big-endian."""
    file = Path(path)
    try:
        opener = gzip.open if file.suffix == ".gz" else open
        with opener(file, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{file}: unreadable IDX file ({error})") from error
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{file}: not an IDX file (bad magic number {raw[:4].hex()})")
    rank, dtype = raw[3], np.dtype(_IDX_DTYPES[raw[2]])
    header = 4 + 4 * rank
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=rank, offset=4)) if len(raw) >= header else ()
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) < header or len(raw) != expected:
        raise DataError(f"{file}: IDX file of {len(raw)} bytes, its header says {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None
