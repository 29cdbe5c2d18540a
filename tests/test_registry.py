"""The registry: registration rules, lookup hints, describe, isolation and entry-point plugins."""

import copy
import importlib.metadata
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import pytest
from flax import nnx

import fsdiff
from fsdiff import registry
from tests.toys import MeanEncoder


def test_register_lookup_and_list():
    with fsdiff.isolated_registry():
        fsdiff.register("encoder", "toy_mean")(MeanEncoder)
        assert fsdiff.lookup("encoder", "toy_mean") is MeanEncoder
        assert "toy_mean" in fsdiff.list_components("encoder")
        assert fsdiff.list_components("encoder", pattern="toy_*") == ["toy_mean"]
        assert "toy_mean" in fsdiff.list_components()["encoder"]


def test_duplicate_name_is_refused_unless_override():
    class Other(MeanEncoder):
        pass

    with fsdiff.isolated_registry():
        fsdiff.register("encoder", "toy")(MeanEncoder)
        with pytest.raises(fsdiff.RegistryError, match=r"encoder 'toy' is already registered.*override=True"):
            fsdiff.register("encoder", "toy")(Other)
        fsdiff.register("encoder", "toy", override=True)(Other)
        assert fsdiff.lookup("encoder", "toy") is Other


def test_registering_the_same_object_twice_is_a_no_op():
    with fsdiff.isolated_registry():
        fsdiff.register("encoder", "toy")(MeanEncoder)
        assert fsdiff.register("encoder", "toy")(MeanEncoder) is MeanEncoder
        assert fsdiff.lookup("encoder", "toy") is MeanEncoder


def test_isolation_does_not_leak_registrations():
    call = vars(MeanEncoder)["__call__"]
    with fsdiff.isolated_registry():
        fsdiff.register("encoder", "leaky")(MeanEncoder)
        fsdiff.register("encoder", "leaky_preset")({"type": "leaky", "width": 4})
    assert not {"leaky", "leaky_preset"} & set(fsdiff.list_components("encoder"))
    assert vars(MeanEncoder)["__call__"] is call, "the class is untouched"
    instance = MeanEncoder(image_shape=(2, 2, 1), rngs=nnx.Rngs(0))
    with pytest.raises(fsdiff.ContractError, match=r"^MeanEncoder: argument 'x'"):
        instance(jnp.ones((2, 2, 1)))


def test_a_preset_is_a_named_config_of_another_component():
    with fsdiff.isolated_registry():
        fsdiff.register("encoder", "toy_mean")(MeanEncoder)
        preset = {"type": "toy_mean", "width": 4}
        assert fsdiff.register("encoder", "toy_small")(preset) is preset
        assert fsdiff.register("encoder", "toy_small")(dict(preset)) == preset, "the same preset again: a no-op"
        assert fsdiff.lookup("encoder", "toy_small") is MeanEncoder
        assert set(fsdiff.describe("encoder", "toy_small").options) == {"depth", "dropout"}
        assert fsdiff.describe("encoder", "toy_small").doc.startswith("Preset of MeanEncoder with width=4.")
        with pytest.raises(fsdiff.RegistryError, match=r"encoder:toy_bad: preset fixes \['widht'\], which are not"):
            fsdiff.register("encoder", "toy_bad")({"type": "toy_mean", "widht": 4})
        with pytest.raises(fsdiff.RegistryError, match=r"unknown encoder 'toy_maen'"):
            fsdiff.register("encoder", "toy_bad")({"type": "toy_maen"})


def test_unknown_names_and_kinds_suggest_close_matches():
    with fsdiff.isolated_registry():
        fsdiff.register("encoder", "toy_mean")(MeanEncoder)
        with pytest.raises(fsdiff.RegistryError, match=r"unknown encoder 'toy_maen'; did you mean 'toy_mean'\?"):
            fsdiff.lookup("encoder", "toy_maen")
    with pytest.raises(fsdiff.RegistryError, match=r"unknown component kind 'encodr'; did you mean 'encoder'\?"):
        fsdiff.list_components("encodr")


def test_class_must_subclass_the_kind_base():
    class NotAnEncoder:
        def __call__(self, x):
            return x

    with fsdiff.isolated_registry(), pytest.raises(fsdiff.RegistryError, match="must subclass fsdiff.Encoder"):
        fsdiff.register("encoder", "bad")(NotAnEncoder)


def test_describe_reports_options_contract_doc_and_file():
    with fsdiff.isolated_registry():
        fsdiff.register("encoder", "toy_mean")(MeanEncoder)
        info = fsdiff.describe("encoder", "toy_mean")
    assert set(info.options) == {"width", "depth", "dropout"}, "derived image_shape/rngs are not options"
    assert info.options["width"].default == 8 and not info.options["width"].required
    assert "SetImages" not in info.contract and "Float[Array, 'b n h w c']" in info.contract
    assert info.doc.startswith("Mean of a linear projection")
    assert info.file.endswith("toys.py")
    text = str(info)
    assert "width: int > 0  (default 8)" in text and "contract: __call__(x: Float[Array, 'b n h w c']" in text


def test_new_kinds_can_be_added():
    with fsdiff.isolated_registry():
        fsdiff.add_kind("widget")
        fsdiff.register("widget", "w")(len)
        assert fsdiff.list_components("widget") == ["w"]
    assert "widget" not in fsdiff.kinds()


def _write_plugin(root, dist, module, body):
    (root / f"{module}.py").write_text(textwrap.dedent(body))
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[fsdiff.components]\n{dist} = {module}\n")


def test_entry_point_plugins_load_once_and_a_broken_one_is_isolated(tmp_path, monkeypatch):
    _write_plugin(
        tmp_path,
        "good_plugin",
        "good_plugin_mod",
        """
        import fsdiff
        from tests.toys import MeanEncoder
        LOADS = []
        LOADS.append(1)
        fsdiff.register("encoder", "from_plugin")(MeanEncoder)
        """,
    )
    _write_plugin(tmp_path, "broken_plugin", "broken_plugin_mod", "raise ImportError('missing dependency xyz')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert {"good_plugin", "broken_plugin"} <= {
        p.name for p in importlib.metadata.entry_points(group="fsdiff.components")
    }
    with fsdiff.isolated_registry() as reg:
        reg._plugins_loaded = False
        with pytest.warns(RuntimeWarning, match=r"plugin 'broken_plugin' \(broken_plugin_mod\) failed.*xyz"):
            names = fsdiff.list_components("encoder")
        assert "from_plugin" in names
        fsdiff.list_components("encoder")
        assert sys.modules["good_plugin_mod"].LOADS == [1], "plugins load once"
    del sys.modules["good_plugin_mod"]


def test_cli_lists_and_describes_components():
    out = subprocess.run([sys.executable, "-m", "fsdiff.cli", "components"], capture_output=True, text=True, check=True)
    assert "encoder:" in out.stdout and "denoiser:" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "fsdiff.cli", "components", "encodr"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.startswith("fsdiff: error: unknown component kind 'encodr'") and "Traceback" not in bad.stderr


def test_registry_copy_is_independent_and_shares_the_classes():
    """``isolated_registry`` works on a deep copy: new tables, the very same classes."""
    reg = registry.Registry()
    reg.add_kind("encoder", fsdiff.Encoder)
    reg._plugins_loaded = True
    reg.add("encoder", "a", MeanEncoder)
    other = copy.deepcopy(reg)
    other.add("encoder", "b", MeanEncoder)
    assert reg.names("encoder") == ["a"] and other.names("encoder") == ["a", "b"]
    assert other.get("encoder", "a").obj is MeanEncoder
