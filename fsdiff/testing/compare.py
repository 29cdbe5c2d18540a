"""Comparing outputs: closeness, difference and finiteness of the arrays of two pytrees (a ``SetEncoding``, a
``Conditioning``, an image batch), with messages that name the field and the size of the gap."""

import jax
import numpy as np

from fsdiff.testing.failures import CheckFailure

RTOL = 1e-4
ATOL = 1e-5
"""Default tolerances of ``assert_close``: float32 reorderings (jit fusion, batch size) move a tiny network's
outputs by ~1e-6."""


def fields(tree: object) -> dict[str, np.ndarray]:
    """The arrays of ``tree`` by path (``.pooled``, ``.tokens``, ``[0]``; ``""`` for a bare array), as NumPy."""
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def assert_close(actual: object, expected: object, what: str, *, rtol: float = RTOL, atol: float = ATOL) -> None:
    """Raise ``CheckFailure`` unless ``actual`` and ``expected`` have the same fields, shapes and close values."""
    got, want = fields(actual), fields(expected)
    if got.keys() != want.keys():
        raise CheckFailure(f"{what}: the output fields differ: {sorted(got)} vs {sorted(want)}")
    for path, value in got.items():
        reference = want[path]
        name = f"output{path}"
        if value.shape != reference.shape:
            raise CheckFailure(f"{what}: {name} has shape {list(value.shape)}, expected {list(reference.shape)}")
        if not np.allclose(value, reference, rtol=rtol, atol=atol):
            gap = np.abs(value.astype(np.float64) - reference.astype(np.float64))
            raise CheckFailure(
                f"{what}: {name} differs by up to {np.nanmax(gap):.3g} (rtol={rtol:g}, atol={atol:g}; "
                f"{int(np.sum(~np.isclose(value, reference, rtol=rtol, atol=atol)))} of {value.size} values)"
            )


def differs(a: object, b: object, *, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """True when some array of ``a`` is not close to its counterpart in ``b`` (or the shapes differ)."""
    left, right = fields(a), fields(b)
    return any(
        left[path].shape != right[path].shape or not np.allclose(left[path], right[path], rtol=rtol, atol=atol)
        for path in left.keys() & right.keys()
    )


def assert_finite(tree: object, what: str) -> None:
    """Raise ``CheckFailure`` naming every field of ``tree`` that holds NaN or infinity."""
    counts = {path: int(np.sum(~np.isfinite(value))) for path, value in fields(tree).items()}
    bad = [f"{path or '(array)'} ({count} of {fields(tree)[path].size})" for path, count in counts.items() if count]
    if bad:
        raise CheckFailure(f"{what} hold NaN or infinity: {', '.join(bad)}")
