"""Config validation: every mistake is one ConfigError with dotted paths, before any JAX work; valid configs
round-trip through JSON and YAML and rebuild the same model."""

import copy
import inspect
import json

import jax
import pytest
import yaml
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

import fsdiff
from fsdiff.config import fill_component
from fsdiff.training import fill_run_config
from tests.toys import register_toys


@pytest.fixture(autouse=True)
def toys():
    with fsdiff.isolated_registry():
        register_toys()
        yield


def valid_config(width=8, hidden=4, steps=10, schedule="linear", mode="add", scale=1.0):
    return {
        "image_shape": [4, 4, 1],
        "set_size": 3,
        "encoder": {"type": "toy_enc", "width": width},
        "conditioner": {"type": "toy_cond", "scale": scale},
        "denoiser": {"type": "toy_den", "hidden": hidden, "mode": mode},
        "diffusion": {"steps": steps, "schedule": schedule},
    }


configs = st.builds(
    valid_config,
    width=st.integers(1, 8),
    hidden=st.integers(1, 8),
    steps=st.integers(1, 50),
    schedule=st.sampled_from(["linear", "cosine"]),
    mode=st.sampled_from(["add", "mul"]),
    scale=st.floats(-2, 2, allow_nan=False) | st.integers(-2, 2),
)


@given(configs)
def test_valid_configs_round_trip_through_json_yaml_and_build(cfg):
    filled = fsdiff.fill_config(cfg)
    assert json.loads(json.dumps(filled)) == filled
    assert yaml.safe_load(yaml.safe_dump(filled)) == filled
    assert fsdiff.fill_config(filled) == filled, "filling is idempotent"
    model = fsdiff.build_model(yaml.safe_load(yaml.safe_dump(cfg)), seed=0)
    assert model.config == filled
    rebuilt = fsdiff.build_model(json.loads(json.dumps(model.config)), seed=0)
    same = jax.tree.map(lambda a, b: bool((a == b).all()), nnx.state(model, nnx.Param), nnx.state(rebuilt, nnx.Param))
    assert all(jax.tree.leaves(same)), "same config and seed give identical parameters"


def test_every_default_is_written():
    filled = fsdiff.fill_config(valid_config())
    assert filled["encoder"] == {"type": "toy_enc", "width": 8, "depth": 2, "dropout": 0.0}
    assert filled["diffusion"]["predict"] == "eps" and filled["training_context"] == "leave_one_out"


def test_the_model_constructor_is_the_schema():
    """The model section's options are FewShotDiffusion's keywords; a left-out diffusion section (all of whose
    options have defaults) is filled with them; the shapes have no default."""
    cfg = {key: value for key, value in valid_config().items() if key != "diffusion"}
    filled = fsdiff.fill_config(cfg)
    assert list(filled) == list(inspect.signature(fsdiff.FewShotDiffusion.__init__).parameters)[1:]
    assert filled["diffusion"] == fsdiff.fill_config({}, fsdiff.GaussianDiffusion, path="diffusion")
    with pytest.raises(fsdiff.ConfigError, match="model.image_shape: missing required option"):
        fsdiff.fill_config({key: value for key, value in cfg.items() if key != "image_shape"})


def _paths(cfg, prefix="model"):
    for key, value in cfg.items():
        path = f"{prefix}.{key}"
        yield path, key, cfg
        if isinstance(value, dict):
            yield from _paths(value, path)


CORRUPTIONS = ["drop", "misspell", "retype"]


@given(st.data())
def test_any_corruption_raises_config_error_naming_its_path(data):
    cfg = valid_config()
    candidates = [(p, k, parent) for p, k, parent in _paths(cfg)]
    path, key, parent = data.draw(st.sampled_from(candidates))
    how = data.draw(st.sampled_from(CORRUPTIONS))
    value = parent[key]
    if how == "drop":
        required = key == "type" or key in {"encoder", "conditioner", "denoiser", "hidden"}
        if not required:
            how = "misspell"
        else:
            del parent[key]
    if how == "misspell":
        del parent[key]
        parent[key + "x"] = value
        path = path + "x"
    elif how == "retype":
        parent[key] = {str: 3, int: "4", float: "0.5", list: "32x32", dict: [1, 2]}[type(value)]
    with pytest.raises(fsdiff.ConfigError) as info:
        fsdiff.build_model(cfg)
    assert path in str(info.value)


def test_all_problems_are_reported_at_once_with_hints():
    cfg = valid_config()
    cfg["encoder"]["widht"] = 4
    cfg["encoder"]["depth"] = "4"
    cfg["conditioner"]["type"] = "toy_cnd"
    cfg["denoiser"].pop("hidden")
    cfg["diffusion"]["schedule"] = "cosin"
    cfg["set_size"] = 0
    with pytest.raises(fsdiff.ConfigError) as info:
        fsdiff.fill_config(cfg)
    message = str(info.value)
    assert "6 problems" in message
    assert "model.encoder.widht: unknown option; did you mean 'width'?" in message
    assert "model.encoder.depth: expected int > 0, got str '4'" in message
    assert "model.conditioner.type: unknown conditioner 'toy_cnd'; did you mean 'toy_cond'?" in message
    assert "model.denoiser.hidden: missing required option (expected int > 0)" in message
    assert "model.diffusion.schedule: expected one of 'linear', 'cosine', got str 'cosin'" in message
    assert "model.set_size: expected int > 0, got int 0" in message
    assert len(info.value.problems) == 6 and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("cfg", "path", "says"),
    [
        ([1, 2], "model", "expected a mapping of options, got list"),
        ({**valid_config(), "encoder": [1]}, "model.encoder", "expected a mapping with a 'type' key"),
        (
            {**valid_config(), "encoder": {"width": 4}},
            "model.encoder.type",
            "missing; expected the name of a registered encoder",
        ),
        (
            {**valid_config(), "encoder": {"type": 7}},
            "model.encoder.type",
            "expected a string naming a registered encoder, got int 7",
        ),
        (
            {**valid_config(), "encoder": {"type": "toy_enc", "depth": True}},
            "model.encoder.depth",
            "expected int > 0, got bool True",
        ),
        (
            {**valid_config(), "encoder": {"type": "toy_enc", "dropout": 1.5}},
            "model.encoder.dropout",
            "expected float in [0, 1]",
        ),
        ({**valid_config(), "image_shape": [4, 4]}, "model.image_shape", "expected [height, width, channels]"),
        ({**valid_config(), "set_size": 1}, "model.set_size", "leave-one-out context needs set_size >= 2"),
    ],
)
def test_bad_input_names_the_path(cfg, path, says):
    with pytest.raises(fsdiff.ConfigError) as info:
        fsdiff.build_model(copy.deepcopy(cfg))
    assert f"{path}: " in str(info.value) and says in str(info.value)


def test_component_of_an_unknown_kind_is_a_config_error():
    with pytest.raises(fsdiff.ConfigError, match=r"model.widget: unknown component kind 'widget'"):
        fill_component({"type": "x"}, "widget", "model.widget")


def test_ints_are_accepted_for_floats_and_lists_for_tuples():
    filled = fsdiff.fill_config({**valid_config(), "conditioner": {"type": "toy_cond", "scale": 2}})
    assert filled["conditioner"]["scale"] == 2.0 and isinstance(filled["conditioner"]["scale"], float)
    assert filled["image_shape"] == [4, 4, 1]
    # also where the float is constrained and optional (`PositiveFloat | None`), as YAML writes `time_limit: 390`
    train = fill_run_config({"model": valid_config(), "train": {"time_limit": 390}})["train"]
    assert train["time_limit"] == 390.0 and isinstance(train["time_limit"], float)


def test_conditioner_denoiser_mismatch_names_both():
    class TokenConditioner(fsdiff.Conditioner):
        provides = frozenset({"tokens"})

        def __init__(self, *, in_dim: int):
            self.in_dim = in_dim

        def __call__(self, encoding: fsdiff.SetEncoding, key=None) -> fsdiff.Conditioning:
            return fsdiff.Conditioning(vector=None, tokens=encoding.tokens, kl=encoding.pooled[:, 0] * 0)

    fsdiff.register("conditioner", "tok")(TokenConditioner)
    with pytest.raises(
        fsdiff.ConfigError,
        match=r"model.conditioner: conditioner 'tok' provides tokens, but denoiser 'toy_den' accepts only vector",
    ):
        fsdiff.build_model({**valid_config(), "conditioner": {"type": "tok"}})


def test_constructor_failures_become_config_errors_naming_the_component():
    with pytest.raises(
        fsdiff.ConfigError, match=r"model.encoder: encoder:toy_enc could not be built: ValueError: depth 9 > 8"
    ):
        fsdiff.build_model({**valid_config(), "encoder": {"type": "toy_enc", "depth": 9}})


def test_a_width_mismatch_between_components_is_reported_at_build_time_naming_them():
    class FixedWidthConditioner(fsdiff.Conditioner):
        """Ignores the derived ``in_dim`` and assumes a width of 3."""

        provides = frozenset({"vector"})

        def __init__(self, *, rngs: nnx.Rngs):
            self.proj = nnx.Linear(3, 4, rngs=rngs)

        def __call__(self, encoding: fsdiff.SetEncoding, key=None) -> fsdiff.Conditioning:
            vector = self.proj(encoding.pooled)
            return fsdiff.Conditioning(vector=vector, tokens=None, kl=vector[:, 0] * 0)

    fsdiff.register("conditioner", "fixed")(FixedWidthConditioner)
    with pytest.raises(
        fsdiff.ConfigError,
        match=r"model.conditioner: components do not fit \(encoder 'toy_enc' -> conditioner 'fixed'\)",
    ):
        fsdiff.build_model({**valid_config(), "conditioner": {"type": "fixed"}})
