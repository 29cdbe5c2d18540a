"""The example plugin (``examples/plugin``) installs with real package metadata, and fsdiff finds its encoder
through the ``fsdiff.components`` entry point, in a fresh interpreter and without mocking: the CLI lists it,
``build_model`` builds it by name, and the plugin's own conformance tests pass."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fsdiff.testing import check_names

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugin"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The plugin's sources (copied, so the build leaves nothing in the repository) and the folder it is
    installed into."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "source"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode:
        pytest.fail(f"pip could not install the example plugin (setuptools < 70.1 needs 'wheel'):\n{result.stderr}")
    return {"source": source, "site": target}


def run(plugin: dict[str, Path], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python *args`` with the installed plugin and fsdiff on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin["site"]), str(ROOT)])}
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd or plugin["site"], capture_output=True, text=True, timeout=600
    )


def test_the_cli_lists_the_plugin_encoder(plugin):
    result = run(plugin, "-m", "fsdiff.cli", "components", "encoder")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("encoder: ") and "pixel_mean" in line.removeprefix("encoder: ").split(", ")


def test_build_model_uses_the_plugin_encoder_by_name(plugin):
    script = textwrap.dedent(
        """
        import json
        import fsdiff

        model = fsdiff.build_model(
            {
                "image_shape": [8, 8, 1],
                "set_size": 3,
                "encoder": {"type": "pixel_mean", "width": 8, "patch": 2},
                "conditioner": {"type": "mean"},
                "denoiser": {"type": "dit", "width": 16, "depth": 1, "heads": 2, "patch": 2},
                "diffusion": {"steps": 10},
            }
        )
        print(json.dumps([type(model.encoder).__module__, model.config["encoder"]]))
        """
    )
    result = run(plugin, "-c", script)
    assert result.returncode == 0, result.stderr
    module, config = json.loads(result.stdout)
    assert module == "fsdiff_example_plugin.pixel_mean"
    assert config == {"type": "pixel_mean", "width": 8, "patch": 2}


def test_the_plugin_passes_its_own_kit_tests(plugin):
    result = run(plugin, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin["source"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(check_names('encoder')) + 1} passed" in result.stdout
