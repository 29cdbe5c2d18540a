"""Prototypical classification (Snell et al. 2017): a class is the mean of its support features, an input goes
to the nearest class mean in squared Euclidean distance.

Dimension names: ``w`` classes (ways), ``s`` support images per class, ``q`` queries per class, ``m`` images to
classify, ``f`` feature width.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int


def prototypes(support: Float[Array, "w s f"]) -> Float[Array, "w f"]:
    """One prototype per class: the mean of its support features."""
    return support.mean(axis=1)


def squared_distances(features: Float[Array, "m f"], centres: Float[Array, "w f"]) -> Float[Array, "m w"]:
    """``|features_i - centres_j|²`` for every pair."""
    return jnp.sum(jnp.square(features[:, None, :] - centres[None, :, :]), axis=-1)


def nearest_prototype(features: Float[Array, "m f"], centres: Float[Array, "w f"]) -> Int[Array, " m"]:
    """The index of the nearest prototype of each feature vector."""
    return jnp.argmin(squared_distances(features, centres), axis=1)


def prototypical_loss(
    support: Float[Array, "w s f"], queries: Float[Array, "w q f"]
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    """The prototypical-network loss of one episode and its accuracy: the cross-entropy of a softmax over negative
    squared distances from each query to the ``w`` prototypes, the true class being the query's row."""
    w, q = queries.shape[:2]
    logits = -squared_distances(queries.reshape(w * q, -1), prototypes(support))
    labels = jnp.repeat(jnp.arange(w), q)
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    loss = -jnp.take_along_axis(log_probs, labels[:, None], axis=1).mean()
    accuracy = (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32).mean()
    return loss, accuracy


def class_accuracy(generated: Float[Array, "w m f"], centres: Float[Array, "w f"]) -> Float[Array, ""]:
    """The fraction of images of row ``i`` of ``generated`` whose nearest prototype is prototype ``i``."""
    w, m = generated.shape[:2]
    predicted = nearest_prototype(generated.reshape(w * m, -1), centres)
    return (predicted == jnp.repeat(jnp.arange(w), m)).astype(jnp.float32).mean()
