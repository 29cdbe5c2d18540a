"""``evaluate_run`` on a tiny run (the call behind ``fsdiff eval``): writes ``eval.json`` with exactly the
documented fields and one grid per class; bad settings are config errors before any work."""

import json

import pytest
from PIL import Image

from fsdiff.errors import ConfigError
from fsdiff.evaluation import EVAL_FIELDS, GENERATORS, evaluate_run


def documented_paths(results: dict, prefix: str = "") -> set[str]:
    """Dotted paths of ``results``, descending into mappings until a documented field is reached."""
    paths = set()
    for key, value in results.items():
        path = f"{prefix}{key}"
        if path in EVAL_FIELDS:
            paths.add(path)
        else:
            assert isinstance(value, dict), f"undocumented field {path}"
            paths |= documented_paths(value, f"{path}.")
    return paths


def test_writes_eval_json_with_every_documented_field(levels_run, levels_eval):
    results = levels_eval
    stored = json.loads((levels_run / "eval.json").read_text())
    assert stored == results
    assert documented_paths(stored) == set(EVAL_FIELDS)
    assert stored["sizes"] == {
        "held_out_classes": 4,
        "classes": 4,
        "context_per_class": 3,
        "real_per_class": 3,
        "generated_per_class": 3,
        "likelihood_images_per_class": 3,
    }
    assert stored["checkpoint_step"] == 300 and stored["seed"] == 0
    assert stored["chance_accuracy"] == 0.25 and stored["extractor"]["held_out"]["ways"] == 4
    for name in GENERATORS:
        metrics = stored["generators"][name]
        assert 0.0 <= metrics["precision"] <= 1.0 and 0.0 <= metrics["recall"] <= 1.0
        assert metrics["frechet"] >= 0.0
    assert stored["likelihood"]["gain"] > 0.0


def test_writes_one_grid_per_class(levels_run, levels_eval):
    assert len(levels_eval["grids"]) == 4
    for grid in levels_eval["grids"]:
        with Image.open(levels_run / grid) as image:
            width, height = image.size
        assert height == 8 + 2 * 2 and width > (3 + 3 + 3) * 8


def test_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"eval\.classes: expected an int >= 2, got 1"):
        evaluate_run(tmp_path, classes=1)
