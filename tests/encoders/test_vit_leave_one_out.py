"""vit's leave-one-out shortcuts (the first set-level block shared across contexts, the later ones run in chunks)
give each context exactly the encoding of the other elements."""

import jax
import numpy as np
import pytest
from flax import nnx

from fsdiff.encoders import vit
from fsdiff.nn.sets import others_index

B, N, SHAPE = 2, 4, (8, 8, 1)


@pytest.mark.parametrize(
    "options",
    [{"depth": 1}, {"depth": 3}, {"depth": 3, "set_layers": 2, "pool": "cls"}, {"depth": 2, "time_token": True}],
)
@pytest.mark.parametrize("scores_per_chunk", [vit.SCORES_PER_CHUNK, 1, 3 * 2 * 13**2])
def test_leave_one_out_equals_encoding_the_other_elements(options, scores_per_chunk, monkeypatch):
    """1: every context a chunk of its own; ``3 * heads * s**2`` (``s = 13`` tokens without a time token): at most
    3 contexts a chunk, so 4 chunks of 2 of the 8 contexts."""
    monkeypatch.setattr(vit, "SCORES_PER_CHUNK", scores_per_chunk)
    encoder = vit.ViTEncoder(width=16, heads=2, patch=4, **options, image_shape=SHAPE, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(0), (B, N, *SHAPE))
    t = jax.random.uniform(jax.random.key(1), (B, N), maxval=999.0) if encoder.time_aware else None
    subsets = x[:, others_index(N)].reshape(B * N, N - 1, *SHAPE)
    expected = encoder(subsets, None, None if t is None else t.reshape(B * N))
    got = encoder.leave_one_out(x, t)
    np.testing.assert_allclose(got.tokens, expected.tokens, atol=1e-5)
    np.testing.assert_allclose(got.pooled, expected.pooled, atol=1e-5)
