"""The abstract set encoder: a set of images -> patch tokens and a pooled vector."""

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float, Real

from fsdiff.component import Contracted
from fsdiff.errors import ContractError
from fsdiff.nn.sets import others_index
from fsdiff.registry import add_kind
from fsdiff.typing import ElementMask, SetEncoding, SetImages, Timesteps


class Encoder(Contracted):
    """A set encoder: ``x "b n h w c"`` (optional element mask ``"b n"``, optional diffusion time ``"b"``) ->
    ``SetEncoding(tokens "b p d", pooled "b d")``. Masked-out elements must have no influence at all.

    Class-level facts, read by the model and the conformance checks (an instance may refine them from its
    options, e.g. ``time_aware`` from a time-token option):
      - ``time_aware``: uses ``t`` (the model passes each element's diffusion time to its context);
      - ``fixed_set_size``: accepts only its constructor's ``set_size`` elements (use the mask for fewer);
      - ``permutation_invariant``: output unchanged when set elements are reordered;
      - ``decomposable``: the encoding is ``finish(mean of element_features)`` over the present elements, so a
        leave-one-out context is one pass plus a subtraction.
    """

    time_aware: ClassVar[bool] = False
    fixed_set_size: ClassVar[bool] = False
    permutation_invariant: ClassVar[bool] = True
    decomposable: ClassVar[bool] = False

    def __call__(self, x: SetImages, mask: ElementMask | None = None, t: Timesteps | None = None) -> SetEncoding:
        raise TypeError(f"{type(self).__name__} must define __call__")

    def element_features(self, x: SetImages) -> SetEncoding:
        """Decomposable encoders: per-element features, tokens ``"b n p d"`` and pooled ``"b n d"``."""
        raise TypeError(f"{type(self).__name__} is not decomposable")

    def finish(self, features: SetEncoding) -> SetEncoding:
        """Decomposable encoders: the encoding from the mean of ``element_features`` over the present elements."""
        raise TypeError(f"{type(self).__name__} is not decomposable")

    def leave_one_out(self, x: SetImages, t: Real[Array, "b n"] | None = None) -> SetEncoding:
        """For every set and element ``i``: the encoding of the set without ``i``, a ``SetEncoding`` whose batch
        is the ``b * n`` contexts, set-major. ``t "b n"`` is the diffusion time of the element each context
        conditions (time-aware encoders only).

        Vectorized, no dummy images: decomposable encoders take one pass and subtract each element from the set
        sum; fixed-size encoders mask element ``i``; the rest encode the ``n - 1`` other elements (one gather).
        Encoders override this to share more work across the ``n`` subsets.
        """
        b, n = x.shape[:2]
        if n < 2:
            raise ContractError(f"{type(self).__name__}: a leave-one-out context needs sets of n >= 2, got n={n}")
        if self.decomposable:
            features = self.element_features(x)
            tokens = _mean_of_others(features.tokens)
            pooled = _mean_of_others(features.pooled)
            return self.finish(
                SetEncoding(tokens=tokens.reshape(b * n, *tokens.shape[2:]), pooled=pooled.reshape(b * n, -1))
            )
        times = None if t is None else t.reshape(b * n)
        if self.fixed_set_size:
            subsets = jnp.repeat(x, n, axis=0)
            mask = jnp.tile(~jnp.eye(n, dtype=bool), (b, 1))
            return self(subsets, mask, times)
        subsets = x[:, others_index(n)].reshape(b * n, n - 1, *x.shape[2:])
        return self(subsets, None, times)


def _mean_of_others(features: Float[Array, "b n *rest"]) -> Float[Array, "b n *rest"]:
    """Mean over the other ``n - 1`` elements of each element's set: ``(sum - own) / (n - 1)``."""
    n = features.shape[1]
    return (features.sum(axis=1, keepdims=True) - features) / (n - 1)


add_kind("encoder", Encoder)
