"""Fitting the real ``protonet`` on procedural glyph classes: it classifies held-out classes far above chance, the
copy baseline scores near-perfect class accuracy, and random noise images score chance."""

import jax.numpy as jnp
import numpy as np
import pytest

from fsdiff.data import ClassImages, context_sets
from fsdiff.errors import DataError
from fsdiff.evaluation import class_accuracy, copy_samples, embed, episode_shape, few_shot_accuracy

from .conftest import GLYPH_SIZE


def class_features(extractor, images: np.ndarray) -> jnp.ndarray:
    flat = embed(extractor, images.reshape(-1, GLYPH_SIZE, GLYPH_SIZE, 1))
    return jnp.asarray(flat.reshape(*images.shape[:2], -1), jnp.float32)


def test_fitted_protonet_classifies_held_out_classes(glyph_protonet, glyph_splits):
    _, extractor, record = glyph_protonet
    assert record["fitted"]["final_accuracy"] > 0.8
    held_out = few_shot_accuracy(extractor, glyph_splits.test, ways=6, shots=3, queries=3, episodes=5)
    assert held_out["chance"] == pytest.approx(1 / 6)
    assert held_out["accuracy"] > 0.8


def test_copies_of_the_context_are_recognised_and_noise_is_at_chance(glyph_protonet, glyph_splits):
    _, extractor, _ = glyph_protonet
    sets = context_sets(glyph_splits.test, shots=3, targets=5, seed=1)
    centres = class_features(extractor, sets.targets).mean(axis=1)
    copies = class_features(extractor, copy_samples(sets.context, 5))
    assert float(class_accuracy(copies, centres)) > 0.8
    noise = np.random.default_rng(0).uniform(-1, 1, (6, 40, GLYPH_SIZE, GLYPH_SIZE, 1)).astype(np.float32)
    assert abs(float(class_accuracy(class_features(extractor, noise), centres)) - 1 / 6) < 0.1


def tiny_classes(counts: list[int]) -> ClassImages:
    labels = np.repeat(np.arange(len(counts)), counts)
    images = np.zeros((len(labels), 2, 2, 1), np.uint8)
    return ClassImages(images=images, labels=labels, names=tuple(map(str, range(len(counts)))), source="tiny")


def test_episodes_shrink_to_fit_the_data():
    shape = episode_shape(tiny_classes([4, 3, 5]), ways=20, shots=5, queries=5)
    assert (shape.ways, shape.shots, shape.queries) == (3, 2, 1)
    with pytest.raises(DataError, match="tiny: prototypical episodes need at least 2 classes"):
        episode_shape(tiny_classes([4]), ways=5, shots=1, queries=1)
