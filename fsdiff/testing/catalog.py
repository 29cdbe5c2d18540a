"""The checks, by name, with the kinds they apply to."""

import dataclasses
from collections.abc import Callable

from fsdiff.testing import conditioner_checks, config_checks, denoiser_checks, encoder_checks, numeric_checks
from fsdiff.testing.shape_checks import shape_contract
from fsdiff.testing.subject import KINDS, Subject

EVERY_KIND = frozenset(KINDS)


@dataclasses.dataclass(frozen=True)
class Check:
    """A named property ``run(subject)`` verifies for the components of ``kinds`` (its docstring says what)."""

    name: str
    kinds: frozenset[str]
    run: Callable[[Subject], None]


CHECKS = (
    Check("constructor_schema", EVERY_KIND, config_checks.constructor_schema),
    Check("config_round_trip", EVERY_KIND, config_checks.config_round_trip),
    Check("bad_options", EVERY_KIND, config_checks.bad_options),
    Check("shape_contract", EVERY_KIND, shape_contract),
    Check("jit_consistency", EVERY_KIND, numeric_checks.jit_consistency),
    Check("finite", EVERY_KIND, numeric_checks.finite),
    Check("batch_consistency", EVERY_KIND, numeric_checks.batch_consistency),
    Check("determinism", EVERY_KIND, numeric_checks.determinism),
    Check("no_retracing", EVERY_KIND, numeric_checks.no_retracing),
    Check("input_dependence", EVERY_KIND, numeric_checks.input_dependence),
    Check("permutation_invariance", frozenset({"encoder"}), encoder_checks.permutation_invariance),
    Check("masked_elements", frozenset({"encoder"}), encoder_checks.masked_elements),
    Check("time_awareness", frozenset({"encoder"}), encoder_checks.time_awareness),
    Check("leave_one_out", frozenset({"encoder"}), encoder_checks.leave_one_out),
    Check("key_usage", frozenset({"conditioner"}), conditioner_checks.key_usage),
    Check("null_conditioning", frozenset({"conditioner"}), conditioner_checks.null_conditioning),
    Check("time_dependence", frozenset({"denoiser"}), denoiser_checks.time_dependence),
    Check("conditioning_dependence", frozenset({"denoiser"}), denoiser_checks.conditioning_dependence),
)
"""Every check, in the order they run: config first, then shapes, numerics, and the kind's own contract."""


def checks_for(kind: str) -> list[Check]:
    """The checks that apply to components of ``kind``."""
    if kind not in EVERY_KIND:
        raise ValueError(f"fsdiff.testing checks the kinds {', '.join(KINDS)}; got {kind!r}")
    return [check for check in CHECKS if kind in check.kinds]


def check_names(kind: str | None = None) -> list[str]:
    """The names of the checks (of ``kind``'s checks)."""
    return [check.name for check in (CHECKS if kind is None else checks_for(kind))]


def known_check(kind: str, name: str) -> str:
    """``name`` if it names one of ``kind``'s checks; otherwise a ``ValueError`` listing them."""
    known = check_names(kind)
    if name not in known:
        raise ValueError(f"unknown check {name!r} for a {kind}; the checks are: {', '.join(known)}")
    return name
