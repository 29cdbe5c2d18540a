"""Test settings for the whole suite: strict dtype promotion, rank promotion raises, and a small, derandomized
hypothesis profile sized for a 2-core CPU."""

import os
import tempfile

import jax
import pytest
from hypothesis import HealthCheck, settings

jax.config.update("jax_numpy_dtype_promotion", "strict")
# Identical programs (the same tiny model in several tests and CLI runs) compile once per test session.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="fsdiff-jax-cache-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
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


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory):
    """Environment for CLI subprocesses: the session's persistent compilation cache (the same tiny programs
    compile once per session) and a private data cache."""
    env = dict(os.environ)  # carries the session's JAX_COMPILATION_CACHE_DIR (tests/conftest.py)
    env.update(
        FSDIFF_CACHE=str(tmp_path_factory.mktemp("fsdiff-cache")),
        PYTHONUNBUFFERED="1",
    )
    return env
