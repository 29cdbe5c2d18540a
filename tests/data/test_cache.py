"""The render cache: where it lives, what its key covers, build once then load, atomic and self-healing."""

import numpy as np

from fsdiff.data import cache
from fsdiff.data.cache import cache_dir, cache_path, cached

from .test_classes import toy


def test_cache_dir_prefers_fsdiff_cache_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("FSDIFF_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("FSDIFF_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "fsdiff"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "fsdiff"


def test_key_covers_every_parameter_and_the_name():
    base = cache_path("set", {"size": 32, "jitter": {"rotation": 0.1}})
    assert base == cache_path("set", {"jitter": {"rotation": 0.1}, "size": 32})  # order does not matter
    assert base != cache_path("set", {"size": 28, "jitter": {"rotation": 0.1}})
    assert base != cache_path("set", {"size": 32, "jitter": {"rotation": 0.2}})
    assert base != cache_path("other", {"size": 32, "jitter": {"rotation": 0.1}})


def test_builds_once_then_loads_identical_arrays(monkeypatch, tmp_path):
    monkeypatch.setenv("FSDIFF_CACHE", str(tmp_path))
    builds = []

    def build():
        builds.append(1)
        return toy(3, 2)

    first = cached("toy", {"n": 1}, build)
    second = cached("toy", {"n": 1}, build)
    assert len(builds) == 1
    np.testing.assert_array_equal(first.images, second.images)
    assert first.names == second.names
    cached("toy", {"n": 2}, build)
    assert len(builds) == 2
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".npz", ".npz"]  # no temporary files left


def test_unreadable_cache_file_is_rebuilt(monkeypatch, tmp_path):
    monkeypatch.setenv("FSDIFF_CACHE", str(tmp_path))
    cache_path("toy", {}).parent.mkdir(parents=True, exist_ok=True)
    cache_path("toy", {}).write_bytes(b"truncated")
    data = cached("toy", {}, lambda: toy(2, 2))
    assert data.num_classes == 2
    assert cached("toy", {}, lambda: toy(9, 9)).num_classes == 2  # repaired on disk


def test_unwritable_cache_still_returns_the_data(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(cache, "cache_dir", lambda: blocker / "below-a-file")
    assert cached("toy", {}, lambda: toy(2, 2)).num_classes == 2
