"""README's examples work as pasted: "Write your own encoder" registers an encoder, builds a model from a config
with it and the built-in conditioner and denoiser, and the conformance kit passes it; "Compose a model by hand"
builds a model from its parts in Python, without a config."""

import ast
import re
from pathlib import Path

import jax.numpy as jnp

import fsdiff

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Write your own encoder"


def example(heading: str = SECTION) -> str:
    """The ```python block of the README section under ``heading``."""
    section = README.read_text().split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]
    (block,) = re.findall(r"^```python\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)
    return block


def test_the_example_is_short():
    assert len(example().splitlines()) <= 30


def test_the_example_runs_as_pasted(capsys):
    namespace = {"__name__": "readme_example"}
    with fsdiff.isolated_registry():
        exec(compile(example(), str(README), "exec"), namespace)
        assert fsdiff.lookup("encoder", "flat_mean") is namespace["FlatMean"]
    model = namespace["model"]
    assert isinstance(model, fsdiff.FewShotDiffusion) and type(model.encoder).__name__ == "FlatMean"
    assert model.config["encoder"] == {"type": "flat_mean", "width": 32}
    outcomes = ast.literal_eval(capsys.readouterr().out)
    assert set(outcomes.values()) == {"passed"}
    assert "flat_mean" not in fsdiff.list_components("encoder"), "the example registered into an isolated registry"


def test_the_hand_composed_model_trains_without_a_config():
    namespace = {"__name__": "readme_example"}
    exec(compile(example("### Compose a model by hand"), str(README), "exec"), namespace)
    model, loss = namespace["model"], namespace["loss"]
    assert model.config is None and model.image_shape == (16, 16, 1) and model.training_context == "leave_one_out"
    assert loss.shape == () and bool(jnp.isfinite(loss))
    assert set(namespace["metrics"]) == {"loss", "mse", "vb", "kl", "context_norm"}
