"""README's "Write your own encoder" example works as pasted: it registers an encoder, builds a model from a config
with it and the built-in conditioner and denoiser, and the conformance kit passes it."""

import ast
import re
from pathlib import Path

import fsdiff

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Write your own encoder"


def example() -> str:
    """The ```python block of the README section."""
    section = README.read_text().split(f"\n{SECTION}\n", 1)[1].split("\n## ", 1)[0]
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
    assert model.config["encoder"] == {"type": "flat_mean", "dim": 32}
    outcomes = ast.literal_eval(capsys.readouterr().out)
    assert set(outcomes.values()) == {"passed"}
    assert "flat_mean" not in fsdiff.list_components("encoder"), "the example registered into an isolated registry"
