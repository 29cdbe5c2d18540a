"""TransformerBlock.leave_one_out equals the block applied to each leave-one-out sequence formed explicitly."""

import jax
import numpy as np
from flax import nnx

from fsdiff.nn.transformer import TransformerBlock
from tests.nn.test_attention import B, D, N, P, sequences


def test_leave_one_out_equals_the_block_on_each_explicit_sequence():
    block = TransformerBlock(D, heads=2, rngs=nnx.Rngs(0))
    summary = jax.random.normal(jax.random.key(1), (B * N, 1, D))
    elements = jax.random.normal(jax.random.key(2), (B, N, P, D))
    np.testing.assert_allclose(block.leave_one_out(summary, elements), block(sequences(summary, elements)), atol=1e-5)
