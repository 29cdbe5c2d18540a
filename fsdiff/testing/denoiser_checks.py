"""Checks of the denoiser contract: the output depends on the timestep and on every conditioning form the denoiser
declares it ``accepts``. Both run on randomised parameters (``fsdiff.testing.perturb``): adaLN-Zero and
zero-initialised gates make a fresh denoiser ignore time and conditioning by design."""

import dataclasses

from fsdiff.testing.calls import apply
from fsdiff.testing.compare import differs
from fsdiff.testing.failures import CheckFailure, NotApplicable
from fsdiff.testing.inputs import STEPS, example_inputs
from fsdiff.testing.perturb import perturbed
from fsdiff.testing.subject import Subject


def time_dependence(subject: Subject) -> None:
    """Moving every timestep by half the diffusion changes the output."""
    module = perturbed(subject.build())
    x, t, cond = example_inputs(subject, module)
    if not differs(apply(module, (x, t, cond)), apply(module, (x, (t + STEPS // 2) % STEPS, cond))):
        raise CheckFailure("the output does not change with the timestep t")


def conditioning_dependence(subject: Subject) -> None:
    """For each form the denoiser ``accepts`` (``vector``, ``tokens``, ``spatial``), new values of that form alone
    change the output. Not applicable to an unconditional denoiser (``accepts`` empty)."""
    module = perturbed(subject.build())
    if not module.accepts:
        raise NotApplicable("the denoiser accepts no conditioning")
    x, t, cond = example_inputs(subject, module)
    other = example_inputs(subject, module, seed=1)[2]
    out = apply(module, (x, t, cond))
    ignored = [
        form
        for form in sorted(module.accepts)
        if not differs(out, apply(module, (x, t, dataclasses.replace(cond, **{form: getattr(other, form)}))))
    ]
    if ignored:
        raise CheckFailure(f"the output ignores cond.{', cond.'.join(ignored)}, though the denoiser accepts it")
