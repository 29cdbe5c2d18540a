"""Test settings for the whole suite: strict dtype promotion, rank promotion raises, and a small, derandomized
hypothesis profile sized for a 2-core CPU."""

import os

import jax
from hypothesis import HealthCheck, settings

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

settings.register_profile(
    "fsdiff",
    deadline=None,
    max_examples=8,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("FSDIFF_HYPOTHESIS_PROFILE", "fsdiff"))
