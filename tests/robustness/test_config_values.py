"""Hostile config values: inf and NaN in any float option, negative learning-rate multipliers and KL weights, YAML
and JSON files with a duplicate key or a syntax error, and sizes that cannot fit. Each is one ``ConfigError``
naming the path (or file:line:column) before any JAX work or allocation."""

import copy
import math

import pytest

import fsdiff
from fsdiff.memory import device_memory
from fsdiff.presets import apply_overrides, load_config
from fsdiff.training.options import fill_run_config
from tests.runs import TINY

INF, NAN = math.inf, math.nan


def with_value(path: str, value: object) -> dict:
    config = copy.deepcopy(TINY)
    *parents, leaf = path.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return config


FLOAT_CASES = [
    ("train.lr", INF, "train.lr: expected finite float > 0, got float inf"),
    ("train.lr", -INF, "train.lr: expected finite float > 0, got float -inf"),
    ("train.lr", NAN, "train.lr: expected finite float > 0, got float nan"),
    ("train.lr", 0.0, "train.lr: expected finite float > 0, got float 0.0"),
    ("train.clip", INF, "train.clip: expected finite float > 0, got float inf"),
    ("train.weight_decay", INF, "train.weight_decay: expected finite float >= 0, got float inf"),
    ("train.weight_decay", NAN, "train.weight_decay: expected finite float >= 0, got float nan"),
    ("train.ema_decay", NAN, "train.ema_decay: expected float in [0, 1], got float nan"),
    ("train.final_lr_fraction", INF, "train.final_lr_fraction: expected float in [0, 1], got float inf"),
    ("train.kl_weight", -1.0, "train.kl_weight: expected finite float >= 0, got float -1.0"),
    ("train.kl_weight", INF, "train.kl_weight: expected finite float >= 0, got float inf"),
    ("train.kl_weight", NAN, "train.kl_weight: expected finite float >= 0, got float nan"),
    (
        "train.lr_multipliers",
        {"encoder": -1.0},
        "train.lr_multipliers: expected dict[str, finite float >= 0 | int >= 0]",
    ),
    ("train.lr_multipliers", {"encoder": -2}, "train.lr_multipliers: expected dict[str, finite float >= 0 | int >= 0]"),
    (
        "train.lr_multipliers",
        {"encoder": INF},
        "train.lr_multipliers: expected dict[str, finite float >= 0 | int >= 0]",
    ),
    (
        "train.lr_multipliers",
        {"denoiser": NAN},
        "train.lr_multipliers: expected dict[str, finite float >= 0 | int >= 0]",
    ),
    (
        "train.lr_multipliers",
        {"encoder": "fast"},
        "train.lr_multipliers: expected dict[str, finite float >= 0 | int >= 0]",
    ),
    ("model.conditioner.null_prob", NAN, "model.conditioner.null_prob: expected float in [0, 1], got float nan"),
    ("model.conditioner.null_prob", INF, "model.conditioner.null_prob: expected float in [0, 1], got float inf"),
    ("model.conditioner.temperature", INF, "model.conditioner.temperature: expected finite float > 0, got float inf"),
    ("data.jitter", INF, "data.jitter: expected a finite number, got float inf"),
    ("data.jitter", NAN, "data.jitter: expected"),
]


@pytest.mark.parametrize(("path", "value", "words"), FLOAT_CASES, ids=[f"{c[0]}={c[1]}" for c in FLOAT_CASES])
def test_non_finite_or_negative_float_options_are_config_errors(path, value, words):
    with pytest.raises(fsdiff.ConfigError) as raised:
        fill_run_config(with_value(path, value))
    assert words in str(raised.value), str(raised.value)
    assert len(raised.value.problems) == 1


@pytest.mark.parametrize(
    ("assignment", "words"),
    [
        ("train.lr=.inf", "train.lr: expected finite float > 0, got float inf"),
        ("train.lr=inf", "train.lr: expected finite float > 0, got str 'inf'"),
        ("train.lr=.nan", "train.lr: expected finite float > 0, got float nan"),
        ("train.kl_weight=-0.5", "train.kl_weight: expected finite float >= 0, got float -0.5"),
        ("train.lr_multipliers={encoder: .inf}", "train.lr_multipliers: expected dict"),
    ],
)
def test_set_overrides_with_non_finite_values_are_refused(assignment, words):
    with pytest.raises(fsdiff.ConfigError) as raised:
        fill_run_config(apply_overrides(TINY, [assignment]))
    assert words in str(raised.value), str(raised.value)


def test_legal_boundary_values_pass():
    """A frozen module (multiplier 0), an int multiplier, a zero KL weight are settings, not mistakes."""
    config = with_value("train.lr_multipliers", {"encoder": 0, "conditioner": 0.5, "denoiser": 2})
    config["train"]["kl_weight"] = 0
    filled = fill_run_config(config)
    assert filled["train"]["lr_multipliers"] == {"encoder": 0, "conditioner": 0.5, "denoiser": 2}
    assert filled["train"]["kl_weight"] == 0.0


YAML_CASES = [
    (
        "model:\n  set_size: 3\n  set_size: 4\n",
        "{file}:3:3: invalid YAML: duplicate key 'set_size' (first at line 2, column 3)",
    ),
    (
        "train:\n  lr: 0.1\nmodel: {}\ntrain:\n  steps: 2\n",
        "{file}:4:1: invalid YAML: duplicate key 'train' (first at line 1, column 1)",
    ),
    (
        "model:\n  encoder: {type: cnn, width: 8, width: 16}\n",
        "{file}:2:34: invalid YAML: duplicate key 'width' (first at line 2, column 24)",
    ),
    ("model:\n  set_size: [3\n", "{file}:3:1: invalid YAML: while parsing a flow sequence expected ',' or ']'"),
    ("model:\n\tset_size: 3\n", "{file}:2:1: invalid YAML: while scanning for the next token found character '\\t'"),
    ("model:\n  set_size: 3\n bad: 1\n", "{file}:3:2: invalid YAML:"),
    ("model: {a: 1\n", "{file}:2:1: invalid YAML: while parsing a flow mapping"),
    ("a: b: c\n", "{file}:1:5: invalid YAML: mapping values are not allowed here"),
]


@pytest.mark.parametrize(("text", "expected"), YAML_CASES)
def test_a_broken_yaml_file_is_one_line_with_file_line_and_column(tmp_path, text, expected):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(fsdiff.ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert message.startswith("invalid config:\n  ") and message.count("\n") == 1, message
    assert expected.format(file=path) in message, message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"model": {}, "model": {}}', "{file}: invalid JSON: duplicate key 'model'"),
        ('{"model": {"set_size": 3,\n "set_size": 4}}', "{file}: invalid JSON: duplicate key 'set_size'"),
        ('{"model": {\n "set_size" 3}}', "{file}:2:13: invalid JSON: Expecting ':' delimiter"),
        ('{"model": [1, 2,]}', "{file}:1:17: invalid JSON: Expecting value"),
    ],
)
def test_a_broken_json_file_is_one_line_naming_the_file(tmp_path, text, expected):
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(fsdiff.ConfigError) as raised:
        load_config(path)
    assert expected.format(file=path) in str(raised.value), str(raised.value)


def test_a_valid_yaml_file_with_repeated_keys_in_different_mappings_reads(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model:\n  encoder: {type: cnn, width: 8}\n  denoiser: {type: dit, width: 8}\n")
    assert load_config(path)["model"]["denoiser"] == {"type": "dit", "width": 8}


SIZE_CASES = [
    (
        "encoder",
        {"type": "cnn", "width": 10**9, "channels": 8, "depth": 1},
        3,
        "model.encoder: too large: an estimated",
    ),
    ("encoder", {"type": "vit", "width": 10**9, "depth": 1, "heads": 2, "patch": 4}, 3, "model.encoder: too large"),
    ("denoiser", {"type": "dit", "width": 10**8, "depth": 1, "heads": 2, "patch": 2}, 3, "model.denoiser: too large"),
    ("encoder", {"type": "cnn", "width": 8, "channels": 8, "depth": 1}, 10**9, "model.set_size: too large: one set of"),
    ("encoder", {"type": "vit", "width": 8, "depth": 1, "heads": 2, "patch": 4}, 10**9, "model.set_size: too large"),
]


@pytest.mark.parametrize(("part", "options", "set_size", "words"), SIZE_CASES)
def test_sizes_that_cannot_fit_are_config_errors_with_the_estimated_bytes(part, options, set_size, words):
    """Estimated from shapes alone: the build fails in seconds with the bytes, instead of aborting in XLA."""
    config = copy.deepcopy(TINY["model"])
    config[part] = options
    config["set_size"] = set_size
    with pytest.raises(fsdiff.ConfigError) as raised:
        fsdiff.build_model(config)
    message = str(raised.value)
    assert words in message, message
    assert " bytes" in message and "but the device has" in message, message


def test_a_model_just_too_large_for_a_small_limit_names_activations_and_parameters():
    """``check_fits`` with a tiny limit: the estimate lists each part and the activations of one set, and names
    the part whose parameters alone exceed the limit."""
    from flax import nnx

    from fsdiff.memory import activation_bytes, check_fits
    from fsdiff.model import _assemble

    cfg = fsdiff.fill_config(TINY["model"])
    abstract = nnx.eval_shape(lambda: _assemble(cfg, 0))
    activations = activation_bytes(abstract)
    assert 0 < activations < device_memory()
    check_fits(abstract, activations)  # the tiny model fits the real device
    with pytest.raises(
        fsdiff.ConfigError,
        match=r"model.denoiser: too large: an estimated .* = parameters \(encoder .*, "
        r"conditioner .*, denoiser .*\) \+ .* of activations for one set, but the device has 1.0 KiB",
    ):
        check_fits(abstract, activations, limit=1024)
