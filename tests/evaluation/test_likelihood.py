"""Few-shot likelihood gain: a model trained on an easy problem codes held-out images in fewer bits/dim with
their class's context than with the null context."""

import jax
import numpy as np
import pytest

from fsdiff.data import context_sets
from fsdiff.evaluation import likelihood_gain
from fsdiff.runs import Run


def test_the_context_of_a_held_out_class_lowers_its_bits_per_dim(levels_run):
    run = Run(levels_run)
    test = run.splits().test
    sets = context_sets(test, shots=3, targets=3, seed=0)
    gain = likelihood_gain(run.load(), sets.context, sets.targets, jax.random.key(0))
    assert gain.conditional < gain.unconditional
    assert gain.gain == pytest.approx(gain.unconditional - gain.conditional)
    assert gain.gain > 3 * gain.gain_stderr > 0
    assert all(c < u for c, u in zip(gain.conditional_per_class, gain.unconditional_per_class, strict=True))
    assert np.mean(gain.conditional_per_class) == pytest.approx(gain.conditional)
