"""Checks every kind shares: jit agrees with eager, outputs and gradients are finite, a set's output ignores the
rest of the batch, repeated calls agree, one input shape compiles once, and the output depends on the input."""

from fsdiff.testing.calls import TracedCall, apply, call, gradients, item, replace_items
from fsdiff.testing.compare import assert_close, assert_finite, differs
from fsdiff.testing.failures import CheckFailure
from fsdiff.testing.inputs import BATCH, example_inputs
from fsdiff.testing.perturb import perturbed
from fsdiff.testing.subject import Subject

CALLS = 3
"""Calls with fresh inputs of one shape in ``no_retracing``."""


def jit_consistency(subject: Subject) -> None:
    """The output under ``nnx.jit`` matches the eager output (no Python branch on concrete values or on tracers)."""
    module = subject.build()
    args = example_inputs(subject, module)
    assert_close(TracedCall()(module, args), call(module, args), "jit vs eager")


def finite(subject: Subject) -> None:
    """Outputs, parameter gradients and input gradients are finite."""
    module = subject.build()
    args = example_inputs(subject, module)
    assert_finite(apply(module, args), "outputs")
    param_grads, input_grads = gradients(module, args)
    assert_finite(param_grads, "parameter gradients")
    assert_finite(input_grads, "input gradients")


def batch_consistency(subject: Subject) -> None:
    """An item's output (a set's encoding, an image's prediction) does not change when the other items of the
    batch do: nothing mixes the batch. Runs on randomised parameters; conditioners are called without a key,
    where they are deterministic."""
    module = perturbed(subject.build())
    args = example_inputs(subject, module, keyed=False)
    others = example_inputs(subject, module, seed=1, keyed=False)
    out = apply(module, args)
    for index in range(BATCH):
        changed = replace_items(args, others, [i for i in range(BATCH) if i != index])
        what = f"item {index} when the other items of the batch change"
        assert_close(item(apply(module, changed), index), item(out, index), what)


def determinism(subject: Subject) -> None:
    """Two calls with the same inputs (and the same key, for a conditioner; and without a key) give bit-identical
    outputs: no hidden random state is drawn at call time in evaluation mode."""
    module = subject.build()
    for keyed in (True, False):
        args = example_inputs(subject, module, keyed=keyed)
        assert_close(call(module, args), call(module, args), "a second identical call", rtol=0.0, atol=0.0)


def no_retracing(subject: Subject) -> None:
    """Under ``nnx.jit``, calls with new inputs of one shape trace once: the module's structure does not change
    when it is called (no Python attribute updated per call, no variable created lazily)."""
    module = subject.build()
    traced = TracedCall()
    for seed in range(CALLS):
        traced(module, example_inputs(subject, module, seed))
    if traced.traces != 1:
        raise CheckFailure(f"{CALLS} calls with inputs of one shape traced {traced.traces} times, expected 1")


def input_dependence(subject: Subject) -> None:
    """With randomised parameters (see ``fsdiff.testing.perturb``), changing the input proper (the set, the
    encoding, the noisy image), all else fixed, changes the output."""
    module = perturbed(subject.build())
    args = example_inputs(subject, module, keyed=False)
    other = (example_inputs(subject, module, seed=1, keyed=False)[0], *args[1:])
    if not differs(apply(module, args), apply(module, other)):
        raise CheckFailure("the output does not change when the input changes")
