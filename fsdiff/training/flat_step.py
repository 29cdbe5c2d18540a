"""The training step jitted over the state's leaves, as the training loop runs it."""

import jax
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from fsdiff.debug import functionalized
from fsdiff.training.state import TrainState
from fsdiff.training.step import StepFn
from fsdiff.typing import SetImages


class FlatStep:
    """``step`` (from ``make_train_step``) jitted on the flat list of the state's arrays, state donated.

    A ``TrainState`` holds its parameters, optimizer moments and EMA as ``nnx.Variable`` pytree nodes (~800 for
    the reference configurations); jitting the step on the state itself makes every call flatten them and build
    them all again for the result, ~20 ms of Python a step. On the leaves, a call costs a third of that
    (``benchmarks/RESULTS.md``, *Python overhead*). The loop keeps the leaves between steps and builds the
    ``TrainState`` (``state``) only where it reads one: logs, checkpoints, previews.
    """

    def __init__(self, step: StepFn, like: TrainState):
        self.treedef = jax.tree.structure(like)
        self.step = step
        self.jitted = functionalized(jax.jit(self.flat, donate_argnums=0))

    def __call__(
        self, leaves: list[Array], batch: SetImages, key: PRNGKeyArray, progress: Float[ArrayLike, ""] | None = None
    ) -> tuple[list[Array], dict[str, Float[Array, ""]]]:
        return self.jitted(leaves, batch, key, progress)

    def flat(
        self, leaves: list[Array], batch: SetImages, key: PRNGKeyArray, progress: Float[ArrayLike, ""] | None = None
    ) -> tuple[list[Array], dict[str, Float[Array, ""]]]:
        """The step on leaves (the function that is jitted)."""
        state, metrics = self.step(self.state(leaves), batch, key, progress)
        return self.leaves(state), metrics

    def leaves(self, state: TrainState) -> list[Array]:
        return self.treedef.flatten_up_to(state)

    def state(self, leaves: list[Array]) -> TrainState:
        return self.treedef.unflatten(leaves)
