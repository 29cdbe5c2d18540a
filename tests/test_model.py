"""FewShotDiffusion: leave-one-out contexts, the loss, sampling and likelihoods, for every registered encoder."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from hypothesis import given
from hypothesis import strategies as st

import fsdiff
from fsdiff.data import SetSampler, context_sets, procedural_dataset

ENCODERS = {
    "vit": {"type": "vit", "width": 16, "depth": 1, "heads": 2, "patch": 4},
    "vit_factorized_time": {
        "type": "vit",
        "width": 16,
        "depth": 2,
        "heads": 2,
        "patch": 4,
        "set_layers": 1,
        "time_token": True,
    },
    "set_vit": {"type": "set_vit", "width": 16, "depth": 1, "heads": 2, "patch": 4},
    "cnn": {"type": "cnn", "width": 16, "channels": 8, "depth": 1, "groups": 4, "heads": 2},
}
CONDITIONERS = {"mean": {"type": "mean"}, "lag": {"type": "lag"}}
DENOISERS = {
    "dit": {"type": "dit", "width": 16, "depth": 1, "heads": 2, "patch": 4},
    "unet": {
        "type": "unet",
        "width": 8,
        "channel_mult": [1, 2],
        "num_res_blocks": 1,
        "attention_resolutions": [2],
        "groups": 4,
        "heads": 2,
    },
}


def model_config(encoder="cnn", conditioner="mean", denoiser="dit", *, n=4, steps=50, **extra):
    return {
        "image_shape": [8, 8, 1],
        "set_size": n,
        "encoder": ENCODERS[encoder],
        "conditioner": {**CONDITIONERS[conditioner], **extra.pop("conditioner_options", {})},
        "denoiser": DENOISERS[denoiser],
        "diffusion": {"steps": steps, **extra.pop("diffusion", {})},
        **extra,
    }


def sets(b=2, n=4, seed=0):
    return jax.random.uniform(jax.random.key(seed), (b, n, 8, 8, 1), minval=-1.0, maxval=1.0)


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_vectorized_context_equals_a_plain_loop_over_elements(encoder):
    model = fsdiff.build_model(model_config(encoder))
    x = sets()
    t = jnp.asarray([[3, 7, 11, 19], [23, 29, 31, 37]], jnp.int32)
    encoding = model.encode_context(x, t)
    mask = jnp.ones((2, 4), bool)
    for i in range(4):
        others = [j for j in range(4) if j != i]
        times = t[:, i] if model.encoder.time_aware else None
        if model.encoder.fixed_set_size:
            expected = model.encoder(x, mask.at[:, i].set(False), times)
        else:
            expected = model.encoder(x[:, others], None, times)
        np.testing.assert_allclose(encoding.pooled.reshape(2, 4, -1)[:, i], expected.pooled, atol=2e-5, rtol=1e-4)
        np.testing.assert_allclose(
            encoding.tokens.reshape(2, 4, *encoding.tokens.shape[1:])[:, i], expected.tokens, atol=2e-5, rtol=1e-4
        )


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_context_of_an_element_ignores_the_element_and_other_sets(encoder):
    model = fsdiff.build_model(model_config(encoder))
    x = sets()

    def context_of(x, s, i):
        encoding = model.encode_context(x, jnp.full((2, 4), 5, jnp.int32))
        return encoding.pooled.reshape(2, 4, -1)[s, i].sum() + encoding.tokens.reshape(2, 4, -1)[s, i].sum()

    for s, i in ((0, 0), (1, 2)):
        grad = jax.grad(context_of)(x, s, i)
        assert float(jnp.abs(grad[s, i]).max()) == 0.0, "an element must not see itself"
        assert float(jnp.abs(grad[1 - s]).max()) == 0.0, "a set must not see another set"
        assert float(jnp.abs(grad[s]).max()) > 0.0, "the rest of its own set must matter"


def test_include_self_context_does_see_the_element():
    model = fsdiff.build_model(model_config("cnn", training_context="include_self"))
    grad = jax.grad(lambda x: model.encode_context(x).pooled.reshape(2, 4, -1)[0, 0].sum())(sets())
    assert float(jnp.abs(grad[0, 0]).max()) > 0.0


@pytest.mark.parametrize("encoder", list(ENCODERS))
@pytest.mark.parametrize("conditioner", list(CONDITIONERS))
@pytest.mark.parametrize("denoiser", list(DENOISERS))
def test_every_combination_builds_and_gives_finite_jitted_loss_and_gradient(encoder, conditioner, denoiser):
    model = fsdiff.build_model(model_config(encoder, conditioner, denoiser))
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    @jax.jit
    def loss_and_grad(params, x, key):
        return jax.value_and_grad(lambda p: nnx.merge(graphdef, p, rest).loss(x, key)[0])(params)

    loss, grads = loss_and_grad(params, sets(), jax.random.key(0))
    assert np.isfinite(float(loss))
    assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))


@given(
    b=st.integers(1, 3),
    n=st.integers(2, 5),
    size=st.sampled_from([8, 16, 28]),
    channels=st.sampled_from([1, 3]),
    encoder=st.sampled_from(["vit", "cnn"]),
    conditioner=st.sampled_from(list(CONDITIONERS)),
)
def test_loss_and_sample_shapes(b, n, size, channels, encoder, conditioner):
    patch = 4 if size % 4 == 0 else 7
    cfg = model_config(encoder, conditioner, "dit", n=n)
    cfg["image_shape"] = [size, size, channels]
    cfg["denoiser"] = {**cfg["denoiser"], "patch": patch}
    if encoder == "vit":
        cfg["encoder"] = {**cfg["encoder"], "patch": patch}
    model = nnx.eval_shape(lambda: fsdiff.build_model(cfg))
    graphdef, state = nnx.split(model)
    loss, metrics = jax.eval_shape(
        lambda s, x: nnx.merge(graphdef, s).loss(x, jax.random.key(0)),
        state,
        jax.ShapeDtypeStruct((b, n, size, size, channels), jnp.float32),
    )
    assert loss.shape == () and set(metrics) >= {"loss", "mse", "vb", "kl", "context_norm"}
    images = jax.eval_shape(
        lambda s, c: nnx.merge(graphdef, s).sample(c, 3, jax.random.key(0), steps=2),
        state,
        jax.ShapeDtypeStruct((b, max(n - 1, 1), size, size, channels), jnp.float32),
    )
    assert images.shape == (b, 3, size, size, channels)


def test_loss_traces_once_for_a_fixed_shape():
    model = fsdiff.build_model(model_config("cnn"))
    graphdef, state = nnx.split(model)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def loss(state, x, key):
        return nnx.merge(graphdef, state).loss(x, key)[0]

    for seed in range(3):
        loss(state, sets(seed=seed), jax.random.key(seed))


def test_loss_adds_the_weighted_kl_of_a_variational_context():
    model = fsdiff.build_model(model_config("cnn", conditioner_options={"posterior": "gaussian"}))
    x, key = sets(), jax.random.key(0)
    loss0, m0 = model.loss(x, key, kl_weight=0.0)
    loss1, m1 = model.loss(x, key, kl_weight=1.0)
    assert float(m0["kl"]) > 0
    np.testing.assert_allclose(float(loss1 - loss0), float(m1["kl"]), rtol=1e-5)
    np.testing.assert_allclose(float(loss0), float(m0["mse"] + m0["vb"]), rtol=1e-6)


@pytest.mark.parametrize("encoder", ["vit_factorized_time", "set_vit", "cnn"])
def test_sampling_from_fewer_shots_than_training_and_with_guidance(encoder):
    model = fsdiff.build_model(model_config(encoder, conditioner_options={"null_prob": 0.5}))
    model.eval()
    context = sets(b=2, n=2)
    plain = model.sample(context, 3, jax.random.key(0), steps=4)
    guided = model.sample(context, 3, jax.random.key(0), steps=4, guidance=2.0)
    ddpm = model.sample(context, 3, jax.random.key(0), steps=4, method="ddpm")
    for images in (plain, guided, ddpm):
        assert images.shape == (2, 3, 8, 8, 1) and bool(jnp.isfinite(images).all())


def test_too_many_shots_for_a_fixed_size_encoder_is_a_contract_error():
    model = fsdiff.build_model(model_config("set_vit"))
    with pytest.raises(
        fsdiff.ContractError,
        match="argument 'context' holds k=5 images per set, but the encoder takes at most set_size=4",
    ):
        model.sample(sets(b=1, n=5), 1, jax.random.key(0), steps=2)


def test_a_tiny_model_learns_a_toy_set_problem_and_uses_its_context():
    """300 Adam steps on six procedural classes: the loss falls well below its start, and held-out images of
    those classes are more likely (fewer bits/dim) given their class's context than under the learned null."""
    data = procedural_dataset(classes=6, instances=12, size=8, seed=3)
    sampler = SetSampler(data, set_size=4, batch_size=8, seed=0)
    cfg = model_config("cnn", "mean", "dit", steps=50, conditioner_options={"null_prob": 0.2})
    model = fsdiff.build_model(cfg, seed=0)
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    optimizer = optax.adam(3e-3)
    opt_state = optimizer.init(params)

    @jax.jit
    def step(params, opt_state, x, key):
        loss, grads = jax.value_and_grad(lambda p: nnx.merge(graphdef, p, rest, copy=True).loss(x, key)[0])(params)
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    losses = []
    for i in range(300):
        params, opt_state, loss = step(params, opt_state, jnp.asarray(sampler.batch(i)), jax.random.key(i))
        losses.append(float(loss))
    assert np.mean(losses[-30:]) < 0.6 * np.mean(losses[:10])

    nnx.update(model, params)
    model.eval()
    held = context_sets(data, shots=3, targets=2, seed=99)
    x = jnp.asarray(held.targets[:, 0])
    bpd = nnx.jit(fsdiff.FewShotDiffusion.bpd)
    conditional = bpd(model, x, jnp.asarray(held.context), jax.random.key(0))
    unconditional = bpd(model, x, None, jax.random.key(0))
    assert float(conditional.mean()) < float(unconditional.mean())


def test_unconditional_samples_are_the_null_prediction_of_guided_sampling():
    """``sample(None, ...)`` samples from the learned null conditioning: the same images as guidance 0 (whose
    guided prediction is the null one), whatever the context, and ``sets`` sets of ``num`` images each."""
    model = fsdiff.build_model(model_config("cnn", conditioner_options={"null_prob": 0.5}))
    model.eval()
    key = jax.random.key(3)
    unconditional = model.sample(None, 3, key, sets=2, steps=4)
    null_guided = model.sample(sets(b=2, n=2), 3, key, steps=4, guidance=0.0)
    assert unconditional.shape == (2, 3, 8, 8, 1)
    np.testing.assert_allclose(unconditional, null_guided, atol=1e-5)
    assert model.sample(None, 2, key, steps=4).shape == (1, 2, 8, 8, 1)
