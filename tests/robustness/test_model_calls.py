"""Hostile calls of the model's public methods: every wrong rank, dtype, image size, context size, count, method or
guidance is a ``ContractError`` naming the method and the argument, at trace time, never a NaN image or a raw
unpacking error; the right calls still work."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fsdiff
from tests.test_model import model_config

KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def models():
    """A variable-size (cnn) and a fixed-set-size (set_vit) tiny model: 8x8x1 images, sets of 4."""
    return {
        name: fsdiff.build_model(model_config(name, conditioner_options={"null_prob": 0.5}))
        for name in ("cnn", "set_vit")
    }


def images(*shape, dtype=jnp.float32):
    return jnp.zeros(shape, dtype)


GOOD_CONTEXT = images(2, 2, 8, 8, 1)

# (method, call, words the message must contain); every call raises ContractError on both models.
CASES = [
    (
        "loss",
        lambda m: m.loss(images(4, 8, 8, 1), KEY),
        "argument 'x_set' expected Float[Array, 'b n h w c'], got float32[4, 8, 8, 1]",
    ),
    ("loss", lambda m: m.loss(images(1, 2, 4, 8, 8, 1), KEY), "argument 'x_set' expected Float[Array, 'b n h w c']"),
    ("loss", lambda m: m.loss(images(8, 8, 1), KEY), "argument 'x_set' expected Float[Array, 'b n h w c']"),
    (
        "loss",
        lambda m: m.loss(images(2, 4, 8, 8, 1, dtype=jnp.int32), KEY),
        "argument 'x_set' expected Float[Array, 'b n h w c'], got int32",
    ),
    (
        "loss",
        lambda m: m.loss(images(2, 4, 8, 8, 1, dtype=jnp.uint8), KEY),
        "argument 'x_set' expected Float[Array, 'b n h w c'], got uint8",
    ),
    (
        "loss",
        lambda m: m.loss(images(2, 4, 8, 8, 1, dtype=bool), KEY),
        "argument 'x_set' expected Float[Array, 'b n h w c'], got bool",
    ),
    (
        "loss",
        lambda m: m.loss(images(2, 4, 16, 16, 1), KEY),
        "argument 'x_set' expected images of shape [8, 8, 1] (the model's image_shape)",
    ),
    ("loss", lambda m: m.loss(images(2, 4, 8, 8, 3), KEY), "argument 'x_set' expected images of shape [8, 8, 1]"),
    ("loss", lambda m: m.loss(images(2, 4, 8, 4, 1), KEY), "argument 'x_set' expected images of shape [8, 8, 1]"),
    (
        "loss",
        lambda m: m.loss(images(2, 1, 8, 8, 1), KEY),
        "argument 'x_set' needs sets of n >= 2 for a leave-one-out context, got n=1",
    ),
    (
        "loss",
        lambda m: m.loss(images(2, 4, 8, 8, 1), KEY, kl_weight=-1.0),
        "argument 'kl_weight' expected finite number >= 0",
    ),
    (
        "loss",
        lambda m: m.loss(images(2, 4, 8, 8, 1), KEY, kl_weight=float("nan")),
        "argument 'kl_weight' expected finite number >= 0",
    ),
    (
        "loss",
        lambda m: m.loss(images(2, 4, 8, 8, 1), KEY, kl_weight=float("inf")),
        "argument 'kl_weight' expected finite number >= 0",
    ),
    (
        "loss",
        lambda m: m.loss(images(2, 4, 8, 8, 1), KEY, kl_weight="1"),
        "argument 'kl_weight' expected finite number >= 0",
    ),
    ("loss", lambda m: m.loss(images(2, 4, 8, 8, 1), 0), "argument 'key'"),
    (
        "encode_context",
        lambda m: m.encode_context(images(4, 8, 8, 1)),
        "FewShotDiffusion.encode_context: argument 'x_set' expected Float[Array, 'b n h w c']",
    ),
    (
        "encode_context",
        lambda m: m.encode_context(images(2, 4, 8, 8, 1, dtype=jnp.int32)),
        "argument 'x_set' expected Float[Array, 'b n h w c'], got int32",
    ),
    (
        "encode_context",
        lambda m: m.encode_context(images(2, 4, 16, 16, 1)),
        "argument 'x_set' expected images of shape [8, 8, 1]",
    ),
    ("encode_context", lambda m: m.encode_context(images(2, 1, 8, 8, 1)), "argument 'x_set' needs sets of n >= 2"),
    (
        "encode_context",
        lambda m: m.encode_context(images(2, 4, 8, 8, 1), jnp.zeros((2, 3), jnp.int32)),
        "argument 't' expected Int[Array, 'b n']",
    ),
    (
        "encode_context",
        lambda m: m.encode_context(images(2, 4, 8, 8, 1), jnp.zeros((2, 4))),
        "argument 't' expected Int[Array, 'b n']",
    ),
    (
        "sample",
        lambda m: m.sample(images(2, 8, 8, 1), 1, KEY, steps=2),
        "argument 'context' expected Float[Array, 'b k h w c'] | None, got float32[2, 8, 8, 1]",
    ),
    (
        "sample",
        lambda m: m.sample(images(2, 2, 8, 8, 1, dtype=jnp.int32), 1, KEY, steps=2),
        "argument 'context' expected Float[Array, 'b k h w c'] | None, got int32",
    ),
    ("sample", lambda m: m.sample(images(2, 2, 8, 8, 1, dtype=jnp.uint8), 1, KEY, steps=2), "got uint8[2, 2, 8, 8, 1]"),
    (
        "sample",
        lambda m: m.sample(images(2, 2, 16, 16, 1), 1, KEY, steps=2),
        "FewShotDiffusion.sample: argument 'context' expected images of shape [8, 8, 1]",
    ),
    (
        "sample",
        lambda m: m.sample(images(2, 2, 8, 8, 3), 1, KEY, steps=2),
        "argument 'context' expected images of shape [8, 8, 1]",
    ),
    (
        "sample",
        lambda m: m.sample(images(2, 0, 8, 8, 1), 1, KEY, steps=2),
        "argument 'context' needs k >= 1 context images per set, got k=0",
    ),
    ("sample", lambda m: m.sample(GOOD_CONTEXT, 0, KEY, steps=2), "argument 'num' expected int > 0, got int 0"),
    ("sample", lambda m: m.sample(GOOD_CONTEXT, -3, KEY, steps=2), "argument 'num' expected int > 0, got int -3"),
    ("sample", lambda m: m.sample(GOOD_CONTEXT, 1.5, KEY, steps=2), "argument 'num' expected int > 0, got float 1.5"),
    ("sample", lambda m: m.sample(GOOD_CONTEXT, True, KEY, steps=2), "argument 'num' expected int > 0, got bool True"),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=0),
        "argument 'steps' expected int > 0 | None, got int 0",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=-5),
        "argument 'steps' expected int > 0 | None, got int -5",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, method="DDPM"),
        "argument 'method' expected one of 'ddim', 'ddpm', got str 'DDPM'",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, method="foo"),
        "argument 'method' expected one of 'ddim', 'ddpm', got str 'foo'",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, method=None),
        "argument 'method' expected one of 'ddim', 'ddpm'",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, guidance=float("nan")),
        "argument 'guidance' expected finite number >= 0, got float nan",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, guidance=float("inf")),
        "argument 'guidance' expected finite number >= 0, got float inf",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, guidance=-1.0),
        "argument 'guidance' expected finite number >= 0, got float -1.0",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, eta=float("nan")),
        "argument 'eta' expected finite number >= 0",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, eta=-0.5),
        "argument 'eta' expected finite number >= 0",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, sets=0),
        "argument 'sets' expected int > 0 | None, got int 0",
    ),
    (
        "sample",
        lambda m: m.sample(GOOD_CONTEXT, 1, KEY, steps=2, sets=3),
        "argument 'sets' is for context=None; with a context the batch is its first axis (2), got sets=3",
    ),
    (
        "sample",
        lambda m: m.sample(None, 1, KEY, steps=2, guidance=2.0),
        "argument 'guidance' needs a context to guide towards",
    ),
    ("sample", lambda m: m.sample(None, 0, KEY, steps=2), "argument 'num' expected int > 0, got int 0"),
    ("sample", lambda m: m.sample(None, 1, KEY, steps=0), "argument 'steps' expected int > 0 | None"),
    (
        "sample",
        lambda m: m.sample(None, 1, KEY, sets=-1, steps=2),
        "argument 'sets' expected int > 0 | None, got int -1",
    ),
    (
        "bpd",
        lambda m: m.bpd(images(8, 8, 1), None, KEY),
        "FewShotDiffusion.bpd: argument 'x' expected Float[Array, 'b h w c'], got float32[8, 8, 1]",
    ),
    (
        "bpd",
        lambda m: m.bpd(images(2, 8, 8, 1, dtype=jnp.int32), None, KEY),
        "argument 'x' expected Float[Array, 'b h w c'], got int32",
    ),
    ("bpd", lambda m: m.bpd(images(2, 16, 16, 1), None, KEY), "argument 'x' expected images of shape [8, 8, 1]"),
    ("bpd", lambda m: m.bpd(images(2, 8, 8, 1), images(2, 0, 8, 8, 1), KEY), "argument 'context' needs k >= 1"),
    (
        "bpd",
        lambda m: m.bpd(images(2, 8, 8, 1), images(2, 2, 4, 4, 1), KEY),
        "argument 'context' expected Float[Array, 'b k h w c'] | None, got float32[2, 2, 4, 4, 1]",
    ),
    (
        "bpd",
        lambda m: m.bpd(images(3, 8, 8, 1), GOOD_CONTEXT, KEY),
        "argument 'context' expected Float[Array, 'b k h w c'] | None, got float32[2, 2, 8, 8, 1]",
    ),
    (
        "bpd",
        lambda m: m.bpd(images(2, 8, 8, 1), images(2, 8, 8, 1), KEY),
        "argument 'context' expected Float[Array, 'b k h w c'] | None",
    ),
]


@pytest.mark.parametrize("encoder", ["cnn", "set_vit"])
@pytest.mark.parametrize(("method", "call", "words"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_wrong_call_is_a_contract_error_naming_the_argument(models, encoder, method, call, words):
    with pytest.raises(fsdiff.ContractError) as raised:
        call(models[encoder])
    message = str(raised.value)
    assert message.startswith(f"FewShotDiffusion.{method}: "), message
    assert words in message, message


FIXED_SIZE_CASES = [
    (
        lambda m: m.loss(images(2, 3, 8, 8, 1), KEY),
        "FewShotDiffusion.loss: argument 'x_set' must hold set_size=4 images per set for this encoder "
        "(fixed set size), "
        "got n=3",
    ),
    (lambda m: m.loss(images(2, 5, 8, 8, 1), KEY), "argument 'x_set' must hold set_size=4 images per set"),
    (
        lambda m: m.sample(images(1, 5, 8, 8, 1), 1, KEY, steps=2),
        "FewShotDiffusion.sample: argument 'context' holds k=5 images per set, but the encoder takes at most "
        "set_size=4",
    ),
    (
        lambda m: m.bpd(images(1, 8, 8, 1), images(1, 6, 8, 8, 1), KEY),
        "FewShotDiffusion.bpd: argument 'context' holds k=6 images per set",
    ),
]


@pytest.mark.parametrize(("call", "words"), FIXED_SIZE_CASES)
def test_a_fixed_set_size_encoder_refuses_other_set_sizes(models, call, words):
    with pytest.raises(fsdiff.ContractError) as raised:
        call(models["set_vit"])
    assert words in str(raised.value)


def test_a_variable_size_encoder_takes_any_number_of_context_images(models):
    """k > set_size is fine for an encoder that is not of fixed size (a mean over the set)."""
    images_ = models["cnn"].sample(jnp.zeros((1, 6, 8, 8, 1)), 2, KEY, steps=2)
    assert images_.shape == (1, 2, 8, 8, 1)


@pytest.mark.parametrize("encoder", ["cnn", "set_vit"])
def test_the_right_calls_still_work_numpy_included(models, encoder):
    """Legal edge values pass the contracts: NumPy inputs, an int guidance, guidance 0, eta 1, steps None is not
    tried (every diffusion step), k = 1, unconditional sets."""
    model = models[encoder]
    context = np.zeros((2, 1, 8, 8, 1), np.float32)
    assert model.sample(context, 1, KEY, steps=2, guidance=2).shape == (2, 1, 8, 8, 1)
    assert model.sample(context, 1, KEY, steps=2, guidance=0.0, eta=1.0, method="ddpm").shape == (2, 1, 8, 8, 1)
    assert model.sample(None, 2, KEY, sets=3, steps=2).shape == (3, 2, 8, 8, 1)
    loss, _ = model.loss(np.zeros((1, 4, 8, 8, 1), np.float32), KEY, kl_weight=0)
    assert np.isfinite(float(loss))


def test_contracts_are_checked_at_trace_time_under_jit(models):
    """The same errors come from inside ``jax.jit``: shapes and static arguments are known when tracing."""
    model = models["cnn"]
    with pytest.raises(fsdiff.ContractError, match="argument 'x_set' expected images of shape"):
        jax.jit(lambda x: model.loss(x, KEY))(images(2, 4, 16, 16, 1))
    with pytest.raises(fsdiff.ContractError, match="argument 'context' needs k >= 1"):
        jax.jit(lambda c: model.sample(c, 1, KEY, steps=2))(images(2, 0, 8, 8, 1))
