"""k-NN precision and recall (Kynkäänniemi et al. 2019): exact values on hand-placed points."""

import numpy as np
import pytest

from fsdiff.errors import DataError
from fsdiff.evaluation import knn_radii, pairwise_distances, precision_recall


def test_a_set_against_itself_has_full_precision_and_recall():
    x = np.random.default_rng(0).normal(size=(20, 3))
    assert precision_recall(x, x) == (1.0, 1.0)


def test_far_away_samples_have_neither():
    x = np.random.default_rng(0).normal(size=(20, 3))
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)


def test_hand_placed_points():
    real = np.asarray([[0.0], [1.0], [2.0], [3.0]])  # 1-NN radius 1 everywhere
    generated = np.asarray([[0.5], [10.0], [10.5], [11.0]])  # radii 9.5, 0.5, 0.5, 0.5
    precision, recall = precision_recall(real, generated, neighbours=1)
    assert precision == 0.25  # only 0.5 lies within a real ball
    assert recall == 1.0  # the ball of 0.5 (radius 9.5) covers every real point
    assert knn_radii(generated, 1).tolist() == [9.5, 0.5, 0.5, 0.5]


def test_repeated_points_have_balls_of_radius_zero():
    """Why the copy baseline's recall collapses: duplicates are each other's nearest neighbours."""
    real = np.asarray([[0.0], [1.0], [2.0], [3.0], [4.0]])
    copies = np.asarray([[1.0], [1.0], [1.0], [3.0], [3.0], [3.0]])
    precision, recall = precision_recall(real, copies, neighbours=2)
    assert precision == 1.0 and recall == 0.4


def test_distances_are_euclidean():
    a, b = np.asarray([[0.0, 0.0], [3.0, 4.0]]), np.asarray([[0.0, 0.0]])
    assert pairwise_distances(a, b)[:, 0].tolist() == [0.0, 5.0]


def test_sets_no_larger_than_k_are_refused():
    with pytest.raises(DataError, match="needs more generated images, got 3"):
        precision_recall(np.zeros((10, 2)), np.zeros((3, 2)), neighbours=3)
