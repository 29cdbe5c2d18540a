"""Shape contracts of registered components: clear errors, checked at trace time only under jit."""

import chex
import jax
import jax.numpy as jnp
import pytest
from flax import nnx

import fsdiff
from fsdiff import registry
from fsdiff.contracts import is_contracted
from fsdiff.typing import SetEncoding
from tests.toys import MeanEncoder, WrongOutputEncoder

DERIVED = {"image_shape": (4, 4, 1), "rngs": nnx.Rngs(0)}


@pytest.fixture
def encoder():
    with fsdiff.isolated_registry():
        fsdiff.register("encoder", "toy_mean")(MeanEncoder)
        yield registry.build("encoder", {"type": "toy_mean", "width": 8}, DERIVED, "model.encoder")


def test_correct_call_passes_and_returns_the_encoding(encoder):
    out = encoder(jnp.ones((2, 3, 4, 4, 1)))
    assert isinstance(out, SetEncoding) and out.pooled.shape == (2, 8)


def test_wrong_rank_names_component_argument_expected_and_actual(encoder):
    with pytest.raises(fsdiff.ContractError) as info:
        encoder(jnp.ones((2, 4, 4, 1)))
    message = str(info.value)
    assert message.startswith(
        "encoder:toy_mean: argument 'x' expected Float[Array, 'b n h w c'], got float32[2, 4, 4, 1]"
    )
    assert isinstance(info.value, TypeError)


def test_wrong_dtype_is_a_contract_error(encoder):
    with pytest.raises(fsdiff.ContractError, match=r"argument 'x' expected Float.*got int32\[2, 3, 4, 4, 1\]"):
        encoder(jnp.ones((2, 3, 4, 4, 1), jnp.int32))


def test_inconsistent_dimensions_between_arguments_are_caught(encoder):
    with pytest.raises(
        fsdiff.ContractError, match=r"argument 'mask' expected Bool\[Array, 'b n'\] \| None, got bool\[2, 5\]"
    ):
        encoder(jnp.ones((2, 3, 4, 4, 1)), mask=jnp.ones((2, 5), bool))


def test_returned_container_fields_share_the_dimension_memo():
    with fsdiff.isolated_registry():
        fsdiff.register("encoder", "wrong_out")(WrongOutputEncoder)
        enc = registry.build("encoder", {"type": "wrong_out"}, DERIVED, "model.encoder")
        with pytest.raises(fsdiff.ContractError, match=r"encoder:wrong_out: return value field 'pooled' expected"):
            enc(jnp.ones((2, 3, 4, 4, 1)))


def test_under_jit_a_violation_raises_at_trace_time(encoder):
    @jax.jit
    def run(x):
        return encoder(x).pooled

    with pytest.raises(fsdiff.ContractError, match="encoder:toy_mean"):
        run(jnp.ones((2, 4, 4, 1)))


def test_a_correct_jitted_call_traces_once(encoder):
    graphdef, state = nnx.split(encoder)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(state, x):
        return nnx.merge(graphdef, state)(x).pooled

    for _ in range(3):
        run(state, jnp.ones((2, 3, 4, 4, 1)))


def test_a_component_without_array_annotations_is_refused():
    class Bare(fsdiff.Encoder):
        def __call__(self, x, mask=None, t=None):
            return x

    with fsdiff.isolated_registry(), pytest.raises(fsdiff.ContractError, match=r"no array annotations.*annotate"):
        fsdiff.register("encoder", "bare")(Bare)


def test_a_directly_constructed_component_is_checked_under_its_class_name():
    encoder = MeanEncoder(width=8, image_shape=(4, 4, 1), rngs=nnx.Rngs(0))
    with pytest.raises(fsdiff.ContractError, match=r"^MeanEncoder: argument 'x' expected"):
        encoder(jnp.ones((2, 4, 4, 1)))


def test_a_contract_is_attached_where_the_class_is_defined_and_registering_leaves_it_alone():
    """Registration stores the class: the same object, the same ``__call__``, registered or not."""

    class Fresh(MeanEncoder):
        def __call__(self, x: fsdiff.typing.SetImages, mask=None, t=None) -> SetEncoding:
            return super().__call__(x, mask, t)

    call = Fresh.__call__
    assert is_contracted(call)
    with fsdiff.isolated_registry():
        assert fsdiff.register("encoder", "fresh")(Fresh) is Fresh
        assert fsdiff.lookup("encoder", "fresh") is Fresh and Fresh.__call__ is call
    assert Fresh.__call__ is call and vars(Fresh)["__call__"] is call


def test_a_contract_error_names_the_registered_name_each_instance_was_built_as():
    """A class registered under two names (a preset and its base) reports the name the failing instance was built
    as, whichever was built last: building ``dit_s`` never relabels a plain ``dit``."""

    def build(config):
        derived = {"image_shape": (8, 8, 1), "context_dim": 4, "out_channels": 1, "rngs": nnx.Rngs(0)}
        return registry.build("denoiser", {"patch": 2, "mlp_ratio": 1.0, **config}, derived, "model.denoiser")

    sized = nnx.eval_shape(lambda: build({"type": "dit_s"}))
    plain = build({"type": "dit", "width": 8, "depth": 1, "heads": 2})
    assert type(sized) is type(plain)
    with pytest.raises(fsdiff.ContractError, match=r"^denoiser:dit: argument 'x' expected"):
        plain(jnp.ones((2, 8, 8)), jnp.zeros(2, jnp.int32), None)
    with pytest.raises(fsdiff.ContractError, match=r"^denoiser:dit_s: argument 'x' expected"):
        sized(jnp.ones((2, 8, 8)), jnp.zeros(2, jnp.int32), None)
