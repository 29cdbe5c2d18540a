"""A run's extractor: fitted once and cached under ``<run>/features/<name>/<key>/``, reused when the options
match, refitted when they don't; an extractor that needs no fitting is never stored."""

import jax
import numpy as np
from flax import nnx

import fsdiff
from fsdiff.runs import fitted_extractor

from .conftest import GLYPH_FEATURES, GLYPH_FIT, GLYPH_SIZE
from .test_features import PixelMeans

SHAPE = (GLYPH_SIZE, GLYPH_SIZE, 1)


def params(extractor) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(nnx.state(extractor, nnx.Param))]


def test_a_second_call_reuses_the_cached_extractor(glyph_protonet, glyph_splits):
    run, extractor, record = glyph_protonet
    assert not record["reused"] and record["cache"].startswith("features/protonet/")
    assert (run / record["cache"] / "params.npz").is_file() and (run / record["cache"] / "extractor.json").is_file()
    again, again_record = fitted_extractor(run, GLYPH_FEATURES, glyph_splits.train, image_shape=SHAPE, fit=GLYPH_FIT)
    assert again_record["reused"] and again_record["cache"] == record["cache"]
    assert again_record["fitted"] == record["fitted"]
    for a, b in zip(params(extractor), params(again), strict=True):
        np.testing.assert_array_equal(a, b)


def test_other_options_are_fitted_and_stored_apart(glyph_protonet, glyph_splits):
    run, _, record = glyph_protonet
    other, other_record = fitted_extractor(
        run, GLYPH_FEATURES, glyph_splits.train, image_shape=SHAPE, fit={**GLYPH_FIT, "steps": 1}
    )
    assert not other_record["reused"] and other_record["cache"] != record["cache"]
    assert other_record["fit"]["steps"] == 1
    assert sorted(p.name for p in (run / "features" / "protonet").iterdir()) == sorted(
        [record["cache"].split("/")[-1], other_record["cache"].split("/")[-1]]
    )


def test_an_extractor_that_needs_no_fitting_is_built_and_not_stored(tmp_path, glyph_splits):
    with fsdiff.isolated_registry():
        fsdiff.register("feature_extractor", "pixel_means")(PixelMeans)
        extractor, record = fitted_extractor(tmp_path, "pixel_means", glyph_splits.train, image_shape=SHAPE)
    assert isinstance(extractor, PixelMeans)
    assert record == {
        "config": {"type": "pixel_means", "bands": 2},
        "trainable": False,
        "fit": None,
        "cache": None,
        "reused": False,
        "fitted": None,
    }
    assert not (tmp_path / "features").exists()
