"""Hostile CLI arguments of ``sample`` and ``eval``: each is refused by the parser, before any run folder is read
or any JAX work, with one line naming the flag and exit code 2."""

import pytest

from fsdiff.cli import main
from tests.runs import fsdiff_cli

SAMPLE = ["sample", "--run", "no-such-run", "--out", "grid.png"]
EVAL = ["eval", "--run", "no-such-run"]

CASES = [
    (SAMPLE, ["--shots", "0"], "argument --shots: expected an integer >= 1, got 0"),
    (SAMPLE, ["--shots", "-2"], "argument --shots: expected an integer >= 1, got -2"),
    (SAMPLE, ["--shots", "two"], "argument --shots: expected an integer, got 'two'"),
    (SAMPLE, ["--num", "-3"], "argument --num: expected an integer >= 1, got -3"),
    (SAMPLE, ["--num", "0"], "argument --num: expected an integer >= 1, got 0"),
    (SAMPLE, ["--num", "1.5"], "argument --num: expected an integer, got '1.5'"),
    (SAMPLE, ["--classes", "0"], "argument --classes: expected an integer >= 1, got 0"),
    (SAMPLE, ["--steps", "0"], "argument --steps: expected an integer >= 1, got 0"),
    (SAMPLE, ["--steps", "-1"], "argument --steps: expected an integer >= 1, got -1"),
    (SAMPLE, ["--guidance", "nan"], "argument --guidance: expected a finite number >= 0, got nan"),
    (SAMPLE, ["--guidance", "inf"], "argument --guidance: expected a finite number >= 0, got inf"),
    (SAMPLE, ["--guidance", "-1"], "argument --guidance: expected a finite number >= 0, got -1"),
    (SAMPLE, ["--guidance", "strong"], "argument --guidance: expected a number, got 'strong'"),
    (SAMPLE, ["--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
    (SAMPLE, ["--method", "DDPM"], "argument --method: invalid choice: 'DDPM'"),
    (EVAL, ["--shots", "0"], "argument --shots: expected an integer >= 1, got 0"),
    (EVAL, ["--classes", "0"], "argument --classes: expected an integer >= 1, got 0"),
    (EVAL, ["--classes", "-4"], "argument --classes: expected an integer >= 1, got -4"),
    (EVAL, ["--samples", "0"], "argument --samples: expected an integer >= 1, got 0"),
    (EVAL, ["--fit-steps", "0"], "argument --fit-steps: expected an integer >= 1, got 0"),
    (EVAL, ["--seed", "-3"], "argument --seed: expected an integer >= 0, got -3"),
]


@pytest.mark.parametrize(("command", "extra", "words"), CASES, ids=[f"{c[0][0]}{' '.join(c[1])}" for c in CASES])
def test_a_bad_count_or_scale_is_one_line_naming_the_flag(capsys, command, extra, words):
    with pytest.raises(SystemExit) as exited:
        main([*command, *extra])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fsdiff: error: "), err
    assert words in err, err


def test_out_that_is_a_folder_is_refused(capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        main(["sample", "--run", str(tmp_path), "--out", str(tmp_path)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    expected = f"{tmp_path} is a folder; expected a file path such as {tmp_path / 'grid.png'}"
    assert err == f"fsdiff: error: argument --out: {expected}\n"


def test_out_in_a_missing_folder_is_refused(capsys, tmp_path):
    out = tmp_path / "missing" / "grid.png"
    with pytest.raises(SystemExit) as exited:
        main(["sample", "--run", str(tmp_path), "--out", str(out)])
    assert exited.value.code == 2
    assert (
        capsys.readouterr().err
        == f"fsdiff: error: argument --out: folder {out.parent} does not exist; create it first\n"
    )


def test_a_missing_required_flag_is_one_line_too(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["sample", "--run", "r"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == "fsdiff: error: the following arguments are required: --out\n"


def test_help_still_shows_the_usage(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["sample", "--help"])
    assert exited.value.code == 0
    assert "usage: fsdiff sample" in capsys.readouterr().out


def test_a_real_process_refuses_before_any_work(tmp_path, cli_env):
    """As a user meets it: the run folder does not exist, yet the flag is what is reported (nothing was read)."""
    result = fsdiff_cli([*SAMPLE, "--shots", "0"], cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "fsdiff: error: argument --shots: expected an integer >= 1, got 0\n"
    assert not (tmp_path / "grid.png").exists()
