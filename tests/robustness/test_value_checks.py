"""Value contracts in debug mode (``fsdiff.debug_checks`` / ``FSDIFF_DEBUG_CHECKS``): data out of ``[-1, 1]``, an
all-masked set, non-finite outputs and probabilities out of ``[0, 1]`` fail naming the component and argument,
eagerly and under ``jit`` alike; off (the default) they add no operation to a program."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.experimental import checkify

import fsdiff
from benchmarks.contracts import unchecked
from fsdiff.debug import ENV_VAR, check_probabilities, debug_checks_enabled
from fsdiff.model import FewShotDiffusion
from fsdiff.runs import train
from fsdiff.runs.grids import few_shot_grid
from tests.runs import tiny_config
from tests.test_model import model_config, sets

KEY = jax.random.key(0)
Failure = checkify.JaxRuntimeError


@functools.cache
def tiny_model() -> FewShotDiffusion:
    model = fsdiff.build_model(model_config("cnn", conditioner_options={"null_prob": 0.5}))
    model.eval()
    return model


def nan_denoiser_model() -> FewShotDiffusion:
    model = nnx.clone(tiny_model())
    params = nnx.state(model.denoiser, nnx.Param)
    nnx.update(model.denoiser, jax.tree.map(lambda p: p * jnp.nan, params))
    return model


class ValueChecksEagerAndJitted(chex.TestCase):
    """The same failure, with the same message, whether the call is jitted or not (chexify functionalizes the
    checks of a jitted function)."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_data_out_of_range(self):
        model = tiny_model()
        loss = chex.chexify(self.variant(lambda x: model.loss(x, KEY)[0]), async_check=False)
        with fsdiff.debug_checks():
            loss(sets())  # in range: passes
            with pytest.raises(Failure, match=r"FewShotDiffusion.loss: argument 'x_set' has values outside \[-1, 1\]"):
                loss(sets() * 3.0)

    @chex.variants(with_jit=True, without_jit=True)
    def test_nan_context(self):
        model = tiny_model()
        sample = chex.chexify(self.variant(lambda c: model.sample(c, 1, KEY, steps=2)), async_check=False)
        with fsdiff.debug_checks(), pytest.raises(Failure, match="FewShotDiffusion.sample: argument 'context' has"):
            sample(sets(b=1, n=2).at[0, 0, 0, 0, 0].set(jnp.nan))

    @chex.variants(with_jit=True, without_jit=True)
    def test_all_masked_set(self):
        encoder = tiny_model().encoder
        encode = chex.chexify(self.variant(lambda x, m: encoder(x, m).pooled), async_check=False)
        mask = jnp.ones((2, 4), bool).at[1].set(False)
        with (
            fsdiff.debug_checks(),
            pytest.raises(Failure, match=r"encoder:cnn: argument 'mask' masks out every element of 1 set\(s\)"),
        ):
            encode(sets(), mask)

    @chex.variants(with_jit=True, without_jit=True)
    def test_non_finite_component_output(self):
        model = nan_denoiser_model()
        sample = chex.chexify(self.variant(lambda c: model.sample(c, 1, KEY, steps=2)), async_check=False)
        with (
            fsdiff.debug_checks(),
            pytest.raises(Failure, match=r"denoiser:dit: return value has non-finite values \(64 of 64\)"),
        ):
            sample(sets(b=1, n=2))

    @chex.variants(with_jit=True, without_jit=True)
    def test_probabilities(self):
        check = chex.chexify(
            self.variant(lambda p: check_probabilities("conditioner:x", "weights", p) or p.sum()), async_check=False
        )
        with fsdiff.debug_checks():
            check(jnp.asarray([0.0, 0.5, 1.0]))
            with pytest.raises(
                Failure, match=r"conditioner:x: weights has values outside \[0, 1\] \(min -0.5, max 1.0\)"
            ):
                check(jnp.asarray([-0.5, 1.0]))


def test_off_by_default_bad_values_pass_unchecked(monkeypatch):
    """Off, a value problem is not looked for (shapes still are): the loss of out-of-range data is computed."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert not debug_checks_enabled()
    loss, _ = tiny_model().loss(sets() * 3.0, KEY)
    assert jnp.isfinite(loss)


@pytest.mark.parametrize(
    ("value", "enabled"),
    [("1", True), ("true", True), ("yes", True), ("0", False), ("false", False), ("off", False), ("", False)],
)
def test_the_environment_variable_turns_checks_on(monkeypatch, value, enabled):
    monkeypatch.setenv(ENV_VAR, value)
    assert debug_checks_enabled() is enabled


def test_the_context_manager_overrides_the_environment_and_nests(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    with fsdiff.debug_checks(False):
        assert not debug_checks_enabled()
        with fsdiff.debug_checks():
            assert debug_checks_enabled()
        assert not debug_checks_enabled()
    assert debug_checks_enabled()


def test_eager_failures_raise_at_once_with_the_env_var(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1")
    with pytest.raises(Failure, match=r"FewShotDiffusion.bpd: argument 'x' has values outside \[-1, 1\]"):
        tiny_model().bpd(jnp.full((1, 8, 8, 1), 2.0), None, KEY)


def test_off_the_checks_add_no_operation_to_a_traced_program(monkeypatch):
    """The jaxpr of the checked loss equals the jaxpr with every contract unwrapped; on, it has more equations."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    model = tiny_model()

    def traced(loss):
        return jax.make_jaxpr(checkify.checkify(lambda x: loss(model, x, KEY)[0]))(sets())

    checked = traced(FewShotDiffusion.loss)
    with unchecked(model.encoder, model.conditioner, model.denoiser):
        bare = traced(FewShotDiffusion.loss.__wrapped__)
    assert str(checked) == str(bare)
    with fsdiff.debug_checks():
        on = traced(FewShotDiffusion.loss)
    assert len(on.jaxpr.eqns) > len(bare.jaxpr.eqns)


def test_fsdiffs_own_jitted_calls_train_sample_and_check_values_in_debug_mode(tmp_path):
    """The training step, the preview grid and ``few_shot_grid`` are jitted by fsdiff itself: in debug mode they
    are functionalized, so a run trains and samples, and bad values still fail by name."""
    run = tmp_path / "run"
    with fsdiff.debug_checks():
        train(tiny_config(steps=2, checkpoint_every=2, log_every=2, sample_every=2), run, progress=False)
        assert (run / "samples" / "step_0000002.png").is_file()
        model = fsdiff.load(run)
        with pytest.raises(Failure, match=r"FewShotDiffusion.sample: argument 'context' has values outside \[-1, 1\]"):
            few_shot_grid(model, np.full((1, 2, 8, 8, 1), 3.0, np.float32), tmp_path / "grid.png", num=1, steps=2)
