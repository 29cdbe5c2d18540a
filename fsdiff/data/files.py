"""Data sets stored by the user: a folder of class folders of images, or an ``.npz`` of images and labels.

Every problem raises ``DataError`` naming the path: a missing path, an empty class folder, an unreadable image,
images of mixed sizes, missing or malformed arrays.
"""

import os
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from fsdiff.data.classes import ClassImages
from fsdiff.data.pixels import resize, to_channels
from fsdiff.errors import DataError
from fsdiff.typing import PositiveInt

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
Channels = Literal[1, 3]


def folder_dataset(path: str | os.PathLike, *, channels: Channels = 1, size: PositiveInt | None = None) -> ClassImages:
    """One class per sub-folder of ``path`` (named after it, sorted), its ``.png``/``.jpg`` files the images,
    converted to ``channels`` (1 grayscale, 3 RGB) and, when ``size`` is given, resized to ``size x size``.
    Hidden entries and other files are ignored."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (expected one sub-folder of images per class)")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(f"{root}: no class folders (expected one sub-folder of images per class)")
    mode = "L" if channels == 1 else "RGB"
    images, labels, shape_of = [], [], None
    for label, folder in enumerate(folders):
        files = sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if not files:
            raise DataError(f"{folder}: empty class folder (no {'/'.join(sorted(IMAGE_SUFFIXES))} files)")
        for file in files:
            image = _read_image(file, mode)
            if shape_of is None:
                shape_of = (image.shape, file)
            elif image.shape != shape_of[0]:
                raise DataError(
                    f"{root}: images of mixed sizes: {file} is {image.shape[1]}x{image.shape[0]}, "
                    f"{shape_of[1]} is {shape_of[0][1]}x{shape_of[0][0]}"
                )
            images.append(image)
            labels.append(label)
    stacked = np.stack(images).reshape(len(images), *shape_of[0][:2], channels)
    return ClassImages(
        images=stacked if size is None else resize(stacked, size),
        labels=np.asarray(labels, dtype=np.int64),
        names=tuple(folder.name for folder in folders),
        source=str(root),
    )


def npz_dataset(
    path: str | os.PathLike,
    *,
    channels: Channels | None = None,
    size: PositiveInt | None = None,
    source: str | None = None,
) -> ClassImages:
    """Arrays ``images`` (``N h w c`` or ``N h w``; uint8, integers in 0..255, or floats in [0, 1] or [-1, 1])
    and ``labels`` (``N`` integers), and optionally ``names`` (``names[i]`` names label ``i``; without it the
    distinct labels become classes ``0..C-1`` named by their value). ``channels`` converts (1 or 3; None keeps
    the file's), ``size`` resizes. ``source`` names the data set in messages (default: the path)."""
    file = Path(path)
    source = source or str(file)
    if not file.is_file():
        raise DataError(f"{file}: no such file (expected an .npz with arrays 'images' and 'labels')")
    try:
        with np.load(file, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{file}: not a readable .npz file ({error})") from error
    missing = [key for key in ("images", "labels") if key not in arrays]
    if missing:
        raise DataError(f"{file}: missing array(s) {missing}; found {sorted(arrays)}")
    images, labels = _as_uint8(arrays["images"], file), arrays["labels"]
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(images):
        raise DataError(
            f"{file}: 'labels' must be {len(images)} integers (one per image), got {labels.dtype} {labels.shape}"
        )
    if "names" in arrays:
        names = tuple(str(name) for name in arrays["names"].tolist())
        if len(labels) and (labels.min() < 0 or labels.max() >= len(names)):
            raise DataError(
                f"{file}: labels must index 'names' (0..{len(names) - 1}), got {labels.min()}..{labels.max()}"
            )
        labels = labels.astype(np.int64)
    else:
        values, labels = np.unique(labels, return_inverse=True)
        names = tuple(str(value) for value in values.tolist())
    if channels is not None:
        images = to_channels(images, channels)
    return ClassImages(
        images=images if size is None else resize(images, size),
        labels=labels.astype(np.int64),
        names=names,
        source=source,
    )


def save_npz(data: ClassImages, path: str | os.PathLike) -> Path:
    """Write ``data`` as a compressed ``.npz`` that ``npz_dataset`` reads back exactly; atomic (a temporary file in the
    same folder, then a rename), so a reader never sees a partial file."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp", delete=False) as tmp:
        try:
            np.savez_compressed(tmp, images=data.images, labels=data.labels, names=np.asarray(data.names, dtype=str))
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.chmod(tmp.name, 0o644)  # a temporary file is private; the data set need not be
    os.replace(tmp.name, file)
    return file


def _read_image(file: Path, mode: str) -> np.ndarray:
    try:
        with Image.open(file) as image:
            return np.asarray(image.convert(mode))
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataError(f"{file}: unreadable image ({error})") from error


def _as_uint8(images: np.ndarray, file: Path) -> np.ndarray:
    """``N h w c`` uint8 from the accepted layouts and ranges."""
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataError(f"{file}: 'images' must be N h w (gray) or N h w c with c in (1, 3), got {images.shape}")
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind not in "iuf":
        raise DataError(f"{file}: 'images' must be numbers, got dtype {images.dtype}")
    values = images.astype(np.float64)
    if not np.isfinite(values).all():
        raise DataError(f"{file}: 'images' holds non-finite values")
    low, high = (values.min(), values.max()) if values.size else (0.0, 0.0)
    if images.dtype.kind == "f" and low >= -1.0 and high <= 1.0:
        values = (values + 1.0) * 127.5 if low < 0.0 else values * 255.0
    elif low < 0.0 or high > 255.0:
        raise DataError(f"{file}: 'images' values {low:g}..{high:g} fit none of 0..255, [0, 1] or [-1, 1] (floats)")
    return np.rint(values).astype(np.uint8)
