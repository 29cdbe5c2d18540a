"""The on-disk cache of rendered data sets: one ``.npz`` per set of parameters, written atomically."""

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from fsdiff.data.classes import ClassImages
from fsdiff.data.files import npz_dataset, save_npz
from fsdiff.errors import DataError

logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    """``$FSDIFF_CACHE`` if set, else ``$XDG_CACHE_HOME/fsdiff``, else ``~/.cache/fsdiff``."""
    if os.environ.get("FSDIFF_CACHE"):
        return Path(os.environ["FSDIFF_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fsdiff"


def cache_path(name: str, params: Mapping[str, object]) -> Path:
    """Where the data set ``name`` built with ``params`` (JSON-able; every value that changes the result) lives."""
    text = json.dumps({"name": name, **params}, sort_keys=True)
    return cache_dir() / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:20]}.npz"


def cached(name: str, params: Mapping[str, object], build: Callable[[], ClassImages]) -> ClassImages:
    """Load the cached data set for ``(name, params)``, or build it, store it and return it. A cache file that
    cannot be read is rebuilt; a cache directory that cannot be written is reported and skipped."""
    path = cache_path(name, params)
    if path.exists():
        try:
            return npz_dataset(path, source=name)
        except DataError as error:
            logger.warning("rebuilding unreadable cache file: %s", error)
    data = build()
    try:
        save_npz(data, path)
    except OSError as error:
        logger.warning("could not cache %s at %s: %s", name, path, error)
    return data
