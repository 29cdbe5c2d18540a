"""Prototypical classification: exact values on hand-set features."""

import jax.numpy as jnp
import numpy as np
import pytest

from fsdiff.evaluation import class_accuracy, nearest_prototype, prototypes, prototypical_loss, squared_distances

CENTRES = jnp.asarray([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def test_prototypes_are_support_means_and_distances_squared():
    support = jnp.asarray([[[0.0, 0.0], [2.0, 2.0]], [[4.0, 0.0], [6.0, 0.0]]])
    assert prototypes(support).tolist() == [[1.0, 1.0], [5.0, 0.0]]
    assert squared_distances(jnp.asarray([[3.0, 4.0]]), jnp.zeros((1, 2))).tolist() == [[25.0]]


def test_nearest_prototype_and_class_accuracy():
    assert nearest_prototype(jnp.asarray([[9.0, 1.0], [1.0, 8.0], [0.5, 0.5]]), CENTRES).tolist() == [1, 2, 0]
    generated = jnp.asarray([[[1.0, 1.0], [9.0, 0.0]], [[9.0, 1.0], [8.0, 2.0]], [[0.0, 9.0], [0.0, 1.0]]])
    assert float(class_accuracy(generated, CENTRES)) == pytest.approx(4.0 / 6.0)


def test_prototypical_loss_matches_a_hand_computed_softmax():
    support = jnp.asarray([[[0.0]], [[2.0]]])  # prototypes 0 and 2
    queries = jnp.asarray([[[0.0]], [[1.5]]])
    loss, accuracy = prototypical_loss(support, queries)
    logits = -np.asarray([[0.0, 4.0], [2.25, 0.25]])
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert float(loss) == pytest.approx(-(log_probs[0, 0] + log_probs[1, 1]) / 2, rel=1e-6)
    assert float(accuracy) == 1.0
