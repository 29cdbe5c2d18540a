"""Checks of the conditioner contract: a variational conditioner samples with its key, and the learned null
conditioning is shaped like the real one and does not depend on the set."""

import jax
import numpy as np

from fsdiff.testing.calls import apply
from fsdiff.testing.compare import assert_close, differs, fields
from fsdiff.testing.failures import CheckFailure, NotApplicable
from fsdiff.testing.inputs import example_inputs
from fsdiff.testing.perturb import perturbed
from fsdiff.testing.subject import Subject


def key_usage(subject: Subject) -> None:
    """A variational conditioner (non-zero KL) gives different conditionings for different keys: its sample
    comes from the key it is handed. A conditioner with zero KL is deterministic and may ignore the key (not
    applicable); that the same key gives the same output is ``determinism``'s business."""
    module = subject.build()
    encoding, _ = example_inputs(subject, module, keyed=False)
    first = apply(module, (encoding, jax.random.key(1)))
    if not np.any(fields(first.kl)[""]):
        raise NotApplicable("the KL is zero: a deterministic conditioner may ignore its key")
    if not differs(first, apply(module, (encoding, jax.random.key(2)))):
        raise CheckFailure("the KL is non-zero (a variational context), but two keys give the same conditioning")


def null_conditioning(subject: Subject) -> None:
    """``null(encoding)`` has the fields and shapes of ``self(encoding)``, both fill exactly the forms the
    conditioner ``provides``, and the null is the same for any set (it is learned, not computed from the set)."""
    module = perturbed(subject.build())
    encoding, _ = example_inputs(subject, module, keyed=False)
    other, _ = example_inputs(subject, module, seed=1, keyed=False)
    cond, null = apply(module, (encoding, None)), apply(module, (encoding,), "null")
    for what, value in (("self(encoding)", cond), ("null(encoding)", null)):
        if value.provides != module.provides:
            raise CheckFailure(
                f"{what} fills {sorted(value.provides)}, but the conditioner provides {sorted(module.provides)}"
            )
    shapes = {path: array.shape for path, array in fields(cond).items()}
    null_shapes = {path: array.shape for path, array in fields(null).items()}
    if shapes != null_shapes:
        raise CheckFailure(f"null(encoding) is shaped {null_shapes}, self(encoding) {shapes}")
    assert_close(apply(module, (other,), "null"), null, "the null conditioning of another set")
