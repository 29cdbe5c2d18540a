"""The command line as a user meets it: real processes, one-line errors with exit code 2, the demo end to end."""

import json

import pytest
import yaml

from tests.runs import fsdiff_cli, tiny_config


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(tiny_config(steps=2, checkpoint_every=2, log_every=1, sample_every=100)))
    return path


def _one_line_error(result, *expected):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fsdiff: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0]


def test_bad_config_value_is_one_line_naming_the_path(tmp_path, config_file, cli_env):
    config = yaml.safe_load(config_file.read_text())
    config["model"]["encoder"]["depht"] = 3
    config_file.write_text(yaml.safe_dump(config))
    result = fsdiff_cli(["train", "--config", str(config_file), "--out", str(tmp_path / "run")], cli_env)
    _one_line_error(result, "model.encoder.depht: unknown option; did you mean 'depth'?")


def test_bad_set_override_is_validated_like_the_file(tmp_path, config_file, cli_env):
    result = fsdiff_cli(
        ["train", "--config", str(config_file), "--out", str(tmp_path / "run"), "--set", "model.denoiser.width=wide"],
        cli_env,
    )
    _one_line_error(result, "model.denoiser.width: expected int > 0, got str 'wide'")


def test_missing_data_path_is_one_line_naming_it(tmp_path, config_file, cli_env):
    missing = tmp_path / "no-such-folder"
    result = fsdiff_cli(
        [
            "train",
            "--config",
            str(config_file),
            "--out",
            str(tmp_path / "run"),
            "--set",
            "data.source=folder",
            "--set",
            f"data.path={missing}",
        ],
        cli_env,
    )
    _one_line_error(result, str(missing))


def test_missing_config_file_and_missing_run_are_one_line(tmp_path, cli_env):
    _one_line_error(
        fsdiff_cli(["train", "--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "r")], cli_env),
        "nope.yaml",
    )
    _one_line_error(
        fsdiff_cli(["sample", "--run", str(tmp_path / "r"), "--out", str(tmp_path / "g.png")], cli_env), "config.json"
    )


def test_train_then_sample_unseen_classes(tmp_path, config_file, cli_env):
    run = tmp_path / "run"
    trained = fsdiff_cli(["train", "--config", str(config_file), "--out", str(run), "--quiet"], cli_env)
    assert trained.returncode == 0, trained.stderr
    grid = tmp_path / "grid.png"
    sampled = fsdiff_cli(
        [
            "sample",
            "--run",
            str(run),
            "--shots",
            "2",
            "--num",
            "3",
            "--classes",
            "2",
            "--steps",
            "3",
            "--out",
            str(grid),
        ],
        cli_env,
    )
    assert sampled.returncode == 0, sampled.stderr
    assert grid.stat().st_size > 0


def test_demo_runs_end_to_end_in_reduced_form(tmp_path, cli_env):
    out = tmp_path / "demo"
    result = fsdiff_cli(["demo", "--steps", "2", "--out", str(out), "--quiet"], cli_env)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "demo.json").read_text())
    assert summary["steps"] == 2
    for key in ("bits_per_dim_conditional", "bits_per_dim_unconditional", "few_shot_gain_bits_per_dim"):
        assert isinstance(summary[key], float)
    assert (out / "demo.png").stat().st_size > 0 and (out / "loss.png").is_file()


def test_eval_on_a_tiny_run_writes_eval_json_the_guidance_plot_and_prints_the_table(tmp_path, config_file, cli_env):
    run = tmp_path / "run"
    assert fsdiff_cli(["train", "--config", str(config_file), "--out", str(run), "--quiet"], cli_env).returncode == 0
    result = fsdiff_cli(
        ["eval", "--run", str(run), "--shots", "2", "--classes", "2", "--samples", "2", "--fit-steps", "2"]
        + ["--guidance", "1,2", "--method", "ddpm", "--quiet"],
        cli_env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| generator |" in result.stdout and "class accuracy" in result.stdout and "diversity" in result.stdout
    assert "| model (2-shot samples, guidance 2) |" in result.stdout
    report = json.loads((run / "eval.json").read_text())
    assert report["shots"] == 2 and report["classes"] == 2 and report["guidance"] == [1.0, 2.0]
    assert report["method"] == "ddpm"
    assert len(report["model"]) == 2 and {"unconditional", "copy"} <= set(report)
    assert (run / "guidance.png").is_file() and f"wrote {run / 'eval.json'} and {run / 'guidance.png'}" in result.stdout
    assert report["split"] == "test"
    validation = fsdiff_cli(
        ["eval", "--run", str(run), "--split", "validation", "--shots", "2", "--classes", "2", "--samples", "2"]
        + ["--fit-steps", "2", "--quiet"],
        cli_env,
    )
    assert validation.returncode == 0, validation.stderr[-3000:]
    assert json.loads((run / "eval.json").read_text())["split"] == "validation"
