"""The feature extractor of a run: built, fitted on the run's training classes when it is trainable, and cached
in the run folder so later evaluations reuse it."""

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from fsdiff.config import fill_config
from fsdiff.data import ClassImages
from fsdiff.errors import CheckpointError
from fsdiff.evaluation.episodes import FitOptions, fit_extractor
from fsdiff.evaluation.features import FeatureExtractor, build_extractor
from fsdiff.runs.folder import FEATURES_DIR

PARAMS = "params.npz"
INFO = "extractor.json"

_log = logging.getLogger(__name__)


def fitted_extractor(
    run_dir: str | os.PathLike,
    features: str | dict,
    train: ClassImages,
    *,
    image_shape: tuple[int, int, int],
    fit: dict | None = None,
    identity: dict | None = None,
    progress: bool = False,
) -> tuple[FeatureExtractor, dict]:
    """The extractor ``features`` (a registered name or ``{"type": name, **options}``) for the run in
    ``run_dir``, and a JSON-safe record of it.

    A trainable extractor is fitted on ``train`` (the run's training classes) with ``fit`` (``FitOptions``
    keywords) and stored in ``<run>/features/<name>/<key>/`` (``params.npz`` and ``extractor.json``), where
    ``key`` hashes the extractor's filled options, the fit options and ``identity`` (what identifies the training
    data, e.g. the run's data config and split). A later call with the same key loads it instead of fitting.
    Other extractors are built as they are (seed ``0``) and never stored. ``progress``: a bar for the fitting.
    """
    fit_config = fill_config(fit or {}, FitOptions, path="fit")
    probe, config = build_extractor(features, image_shape=image_shape, seed=fit_config["seed"])
    record = {"config": config, "trainable": probe.trainable}
    if not probe.trainable:
        return probe, {**record, "fit": None, "cache": None, "reused": False, "fitted": None}
    key_material = {"config": config, "fit": fit_config, "identity": identity or {}}
    key = hashlib.sha256(json.dumps(key_material, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(run_dir) / FEATURES_DIR / config["type"] / key
    record = {**record, "fit": fit_config, "cache": str(Path(FEATURES_DIR) / config["type"] / key)}
    if (folder / INFO).is_file() and (folder / PARAMS).is_file():
        _load_params(probe, folder / PARAMS)
        fitted = json.loads((folder / INFO).read_text())["fitted"]
        return probe, {**record, "reused": True, "fitted": fitted}
    _log.info("fitting the %s feature extractor on %d training classes", config["type"], train.num_classes)
    fitted = fit_extractor(probe, train, FitOptions(**fit_config), progress=progress)
    _store(folder, probe, {**key_material, "fitted": fitted})
    return probe, {**record, "reused": False, "fitted": fitted}


def _store(folder: Path, extractor: FeatureExtractor, info: dict) -> None:
    """Write the parameters and the record into a temporary folder, then rename it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    leaves = jax.tree_util.tree_flatten_with_path(nnx.state(extractor, nnx.Param))[0]
    np.savez(staging / PARAMS, **{jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves})
    (staging / INFO).write_text(json.dumps(info, indent=2) + "\n")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(staging, folder)


def _load_params(extractor: FeatureExtractor, path: Path) -> None:
    state = nnx.state(extractor, nnx.Param)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(state)
    with np.load(path) as stored:
        names = [jax.tree_util.keystr(p) for p, _ in leaves]
        mismatched = [
            n for n, (_, leaf) in zip(names, leaves, strict=True) if n not in stored or stored[n].shape != leaf.shape
        ]
        if mismatched:
            raise CheckpointError(f"{path}: does not fit the extractor (e.g. {mismatched[0]}); delete it to refit")
        arrays = [jnp.asarray(stored[n]) for n in names]
    nnx.update(extractor, jax.tree_util.tree_unflatten(treedef, arrays))
