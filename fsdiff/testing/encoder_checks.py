"""Checks of the encoder contract: invariance to the order of the set, masked elements without influence, time
used exactly when declared, and leave-one-out contexts equal to encoding the rest of the set.

Every check here runs on randomised parameters (``fsdiff.testing.perturb``): an element-order embedding or a
leaking path that starts at zero would otherwise pass at initialization and fail after training.
"""

import jax
import jax.numpy as jnp
import numpy as np

from fsdiff.testing.calls import apply, gradients
from fsdiff.testing.compare import assert_close, differs, fields
from fsdiff.testing.failures import CheckFailure, NotApplicable
from fsdiff.testing.inputs import STEPS, all_present, example_inputs, images
from fsdiff.testing.perturb import perturbed
from fsdiff.testing.subject import Subject
from fsdiff.typing import SetEncoding

LOO_TOLERANCE = 1e-4
"""``leave_one_out`` may share work (subtract an element from a sum): allow float32 rounding of that order."""


def permutation_invariance(subject: Subject) -> None:
    """Reversing the order of the elements (and of the mask) leaves the pooled vector unchanged, and the tokens
    unchanged up to their order (an encoder may emit one token per element). Not applicable to an encoder that
    declares ``permutation_invariant = False``."""
    module = perturbed(subject.build())
    if not module.permutation_invariant:
        raise NotApplicable("the encoder declares permutation_invariant = False")
    x, mask, t = example_inputs(subject, module)
    n = x.shape[1]
    if n < 2:
        raise NotApplicable("sets of one element have one order")
    order = np.arange(n)[::-1]
    _assert_same_encoding(apply(module, (x[:, order], mask[:, order], t)), apply(module, (x, mask, t)), "reversed set")


def masked_elements(subject: Subject) -> None:
    """A masked-out element has no influence: the output does not change when its image does, the gradient with
    respect to its image is exactly zero, an all-present mask equals no mask, and (unless ``fixed_set_size``) the
    output equals that of the set without the element (tokens compared without all-zero tokens)."""
    module = perturbed(subject.build())
    x, _, t = example_inputs(subject, module)
    b, n = x.shape[:2]
    if n < 2:
        raise NotApplicable("the set size is 1: no element can be masked")
    hidden = n // 2
    mask = all_present(b, n).at[:, hidden].set(False)
    out = apply(module, (x, mask, t))
    replaced = x.at[:, hidden].set(10.0 * images(np.random.default_rng(1), x[:, hidden].shape))
    assert_close(apply(module, (replaced, mask, t)), out, "another image in the masked slot")
    _, input_grads = gradients(module, (x, mask, t))
    leak = float(jnp.abs(input_grads[0][:, hidden]).max())
    if leak != 0.0:
        raise CheckFailure(f"the gradient with respect to a masked image is not zero (up to {leak:.3g})")
    assert_close(apply(module, (x, all_present(b, n), t)), apply(module, (x, None, t)), "an all-present mask vs none")
    if not module.fixed_set_size:
        kept = [i for i in range(n) if i != hidden]
        _assert_same_encoding(out, apply(module, (x[:, kept], None, t)), "the set without its masked element")


def time_awareness(subject: Subject) -> None:
    """A ``time_aware`` encoder's output changes with ``t``; any other encoder ignores ``t`` (the model passes the
    diffusion time only to encoders that declare ``time_aware``)."""
    module = perturbed(subject.build())
    x, mask, _ = example_inputs(subject, module)
    b = x.shape[0]
    t = jnp.arange(b, dtype=jnp.int32) * 7 + 3
    later = (t + STEPS // 2) % STEPS
    if module.time_aware and not differs(apply(module, (x, mask, t)), apply(module, (x, mask, later))):
        raise CheckFailure("the encoder declares time_aware, but its output does not change with t")
    if not module.time_aware and differs(apply(module, (x, mask, t)), apply(module, (x, mask, None))):
        raise CheckFailure("the output changes with t, but the encoder does not declare time_aware")


def leave_one_out(subject: Subject) -> None:
    """``leave_one_out(x, t)`` gives, for element ``i`` of each set, the encoding of the set without ``i`` (masked,
    for a ``fixed_set_size`` encoder), with ``t[:, i]``: the element itself and the other sets never leak in."""
    module = perturbed(subject.build())
    x, _, _ = example_inputs(subject, module)
    b, n = x.shape[:2]
    if n < 2:
        raise NotApplicable("a leave-one-out context needs sets of two or more")
    t = jnp.arange(b * n, dtype=jnp.int32).reshape(b, n) * 37 % STEPS if module.time_aware else None
    contexts = apply(module, (x, t), "leave_one_out")
    for leaf in jax.tree.leaves(contexts):
        if leaf.shape[0] != b * n:
            raise CheckFailure(f"leave_one_out returned a batch of {leaf.shape[0]}, expected b * n = {b * n}")
    for i in range(n):
        others = [j for j in range(n) if j != i]
        t_i = None if t is None else t[:, i]
        if module.fixed_set_size:
            expected = apply(module, (x, all_present(b, n).at[:, i].set(False), t_i))
        else:
            expected = apply(module, (x[:, others], None, t_i))
        got = jax.tree.map(lambda a, i=i: a.reshape(b, n, *a.shape[1:])[:, i], contexts)
        what = f"the leave-one-out context of element {i} vs the encoding of the other elements"
        assert_close(got, expected, what, rtol=LOO_TOLERANCE, atol=LOO_TOLERANCE)


def _assert_same_encoding(actual: SetEncoding, expected: SetEncoding, what: str) -> None:
    """``assert_close``, except that tokens may come in another order and all-zero tokens (those of masked
    elements) are ignored."""
    try:
        assert_close(actual, expected, what)
    except CheckFailure:
        assert_close(actual.pooled, expected.pooled, f"{what} (pooled)")
        if not _same_token_sets(fields(actual.tokens)[""], fields(expected.tokens)[""]):
            raise


def _same_token_sets(a: np.ndarray, b: np.ndarray) -> bool:
    """Per set, the non-zero tokens of ``a`` and ``b`` are the same up to order."""
    direction = np.random.default_rng(0).standard_normal(a.shape[-1])
    for tokens_a, tokens_b in zip(a, b, strict=True):
        kept_a = tokens_a[np.abs(tokens_a).max(axis=-1) > 0]
        kept_b = tokens_b[np.abs(tokens_b).max(axis=-1) > 0]
        if kept_a.shape != kept_b.shape:
            return False
        sorted_a = kept_a[np.argsort(kept_a @ direction)]
        sorted_b = kept_b[np.argsort(kept_b @ direction)]
        if not np.allclose(sorted_a, sorted_b, rtol=1e-4, atol=1e-5):
            return False
    return True
