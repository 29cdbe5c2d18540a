"""The shipped presets: each is a valid run config whose model builds (shapes only, no parameters allocated)."""

import pytest
from flax import nnx

import fsdiff
from fsdiff.presets import load_config, preset_names
from fsdiff.training.options import fill_run_config


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_is_a_valid_run_whose_model_builds(name):
    config = fill_run_config(load_config(name))
    model = nnx.eval_shape(lambda: fsdiff.build_model(config["model"]))
    assert model.conditioner.provides <= model.denoiser.accepts


def test_the_comparison_covers_every_conditioning_form():
    conditioners = {load_config(name)["model"]["conditioner"]["type"] for name in preset_names()}
    assert conditioners == {"mean", "lag", "spatial"}
