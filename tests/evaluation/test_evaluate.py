"""``evaluate_run`` on a tiny run (the call behind ``fsdiff eval``): ``eval.json`` holds exactly the fields of
``EvalRecord`` and ``EvalResult``, each documented; one grid per class, a guidance plot for several scales; bad
settings are config errors before any work. ``diversity`` tells copies from varied samples."""

import ast
import dataclasses
import inspect
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from fsdiff.errors import ConfigError, DataError
from fsdiff.evaluation import EvalResult, GeneratorMetrics, LikelihoodGain, diversity
from fsdiff.runs import EvalRecord, Run, evaluate_run
from tests.evaluation.conftest import LEVELS_EVAL


def field_names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def documented_fields(cls) -> set[str]:
    """Fields of ``cls`` followed by a docstring in its source."""
    body = ast.parse(inspect.getsource(cls)).body[0].body
    return {
        node.target.id
        for node, after in zip(body, body[1:], strict=False)
        if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
    }


def test_every_field_of_the_results_is_documented():
    for cls in (EvalRecord, EvalResult, GeneratorMetrics):
        assert documented_fields(cls) == field_names(cls) - {"images"}, cls.__name__


def test_writes_eval_json_with_exactly_the_record_and_result_fields(levels_run, levels_eval):
    stored = json.loads((levels_run / "eval.json").read_text())
    assert stored == levels_eval
    assert set(stored) == field_names(EvalRecord) | field_names(EvalResult) - {"images"}
    assert set(stored["likelihood"]) == field_names(LikelihoodGain)
    for metrics in [*stored["model"], stored["unconditional"], stored["copy"]]:
        assert set(metrics) == field_names(GeneratorMetrics)
        assert 0.0 <= metrics["precision"] <= 1.0 and 0.0 <= metrics["recall"] <= 1.0
        assert metrics["frechet"] >= 0.0 and metrics["diversity"] >= 0.0
    assert (stored["classes"], stored["real_per_class"], stored["generated_per_class"]) == (4, 3, 3)
    assert stored["held_out_classes"] == 4 and stored["likelihood_images_per_class"] == 3
    assert stored["checkpoint_step"] == 300 and stored["seed"] == 0
    assert stored["method"] == "ddpm", "the run's train.sample_method is the evaluation's default sampler"
    assert stored["guidance"] == [1.0, 3.0] and len(stored["model"]) == 2
    assert stored["chance_accuracy"] == 0.25 and stored["extractor_accuracy"]["ways"] == 4
    assert stored["likelihood"]["gain"] > 0.0
    assert stored["copy"]["diversity"] < stored["model"][0]["diversity"]


def test_writes_one_grid_per_class_and_the_guidance_plot(levels_run, levels_eval):
    assert len(levels_eval["grids"]) == 4
    for grid in levels_eval["grids"]:
        with Image.open(levels_run / grid) as image:
            width, height = image.size
        assert height == 8 + 2 * 2 and width > (3 + 3 + 3 + 3) * 8  # context | guidance 1 | guidance 3 | real
    assert levels_eval["guidance_plot"] == "guidance.png"
    with Image.open(levels_run / "guidance.png") as plot:
        assert plot.size == (1280, 360)


def test_bad_settings_are_config_errors_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match=r"eval\.classes: expected an int >= 2, got 1"):
        evaluate_run(tmp_path, classes=1)
    with pytest.raises(
        ConfigError, match=r"eval\.guidance: expected one or more finite scales >= 0, got \[1\.0, -2\.0\]"
    ):
        evaluate_run(tmp_path, guidance=[1.0, -2.0])


def test_copies_of_five_context_images_score_well_below_varied_samples():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(4, 16, 64))  # 4 classes, 16 real references, 64 features
    varied = rng.normal(size=(4, 16, 64))  # new draws from the same distribution: model-like
    context = rng.normal(size=(4, 5, 64))
    copies = np.take(context, np.arange(16) % 5, axis=1)
    assert diversity(real, varied) == pytest.approx(1.0, abs=0.05)
    # 16 copies of 5 images: 36 of the 240 ordered pairs are an image and its copy, at distance 0
    assert diversity(real, copies) == pytest.approx(1 - 36 / 240, abs=0.05)
    assert diversity(real, copies) < diversity(real, varied) - 0.1
    assert diversity(real, np.repeat(context[:, :1], 16, axis=1)) == 0.0


def test_the_validation_split_is_evaluated_on_its_own_classes(levels_run, levels_eval, tmp_path):
    """``split="validation"`` (``fsdiff eval --split validation``) measures the validation classes, to choose
    settings on, and says so in ``eval.json``; the test classes stay for the report."""
    run = tmp_path / "run"
    shutil.copytree(levels_run, run)
    config = json.loads((run / "config.json").read_text())
    config["train"]["val_classes"] = 4
    (run / "config.json").write_text(json.dumps(config))
    small = {**LEVELS_EVAL, "classes": 2, "guidance": 1.0, "likelihood_images": 1}
    validation = evaluate_run(run, split="validation", **small)
    splits = Run(run).splits()
    assert validation["split"] == "validation" and validation["held_out_classes"] == 4
    assert validation["class_names"] == list(splits.val.names[:2])
    assert not set(validation["class_names"]) & set(splits.test.names)
    assert levels_eval["split"] == "test"


def test_the_runs_own_sampler_is_the_default(levels_run, tmp_path):
    """Without ``sample_steps``, ``method`` or ``guidance``, ``evaluate_run`` (``fsdiff eval``) samples as the run
    was configured to (``train.sample_steps``, ``sample_method``, ``sample_guidance``), and says so in ``eval.json``."""
    run = tmp_path / "run"
    shutil.copytree(levels_run, run)
    config = json.loads((run / "config.json").read_text())
    config["train"].update(sample_steps=3, sample_guidance=2.0)
    (run / "config.json").write_text(json.dumps(config))
    own = {k: v for k, v in LEVELS_EVAL.items() if k not in ("sample_steps", "guidance")}
    record = evaluate_run(run, **{**own, "classes": 2, "likelihood_images": 1})
    assert (record["sample_steps"], record["method"], record["guidance"]) == (3, "ddpm", [2.0])


def test_an_unknown_split_or_an_empty_validation_split_is_refused(levels_run):
    with pytest.raises(ConfigError, match="split: 'train'; expected 'test' or 'validation'"):
        evaluate_run(levels_run, split="train")
    with pytest.raises(DataError, match="validation split has 0 class.*raise train.val_classes"):
        evaluate_run(levels_run, split="validation")
