"""``parametrize_with_checks``: the kit as a pytest parametrization, one test case per (component, check)."""

from collections.abc import Iterable

import pytest

from fsdiff.testing.catalog import Check, checks_for
from fsdiff.testing.failures import ComponentCheckError
from fsdiff.testing.runner import PASSED, run_one, waivers
from fsdiff.testing.subject import component_under_test


class CheckCase:
    """One parametrized case: calling it runs one check on one component. A check that does not apply skips; a
    failure raises ``ComponentCheckError`` naming the check."""

    def __init__(self, kind: str, cls_or_name: object, check: Check, options: dict, case_id: str):
        self.kind = kind
        self.cls_or_name = cls_or_name
        self.check = check
        self.options = options
        self.id = case_id

    def __call__(self) -> None:
        with component_under_test(self.kind, self.cls_or_name, self.options) as subject:
            outcome = run_one(self.check, subject)
        if outcome != PASSED:
            pytest.skip(outcome)

    def __repr__(self) -> str:
        return self.id


def parametrize_with_checks(components: Iterable[tuple]) -> pytest.MarkDecorator:
    """A ``pytest.mark.parametrize`` over argument ``check``: one case per component and check, with ids like
    ``encoder:vit-permutation_invariance``. Call ``check()`` in the test::

        @parametrize_with_checks([("encoder", "pixel_mean", {"width": 8})])
        def test_pixel_mean(check):
            check()

    Each component is ``(kind, name_or_class)`` or ``(kind, name_or_class, kwargs)``, ``kwargs`` being the keyword
    arguments of ``check_component``: options, derived overrides and ``expected_failures``. A waived check is marked
    ``xfail`` (strict: a waived check that passes fails). When one component is listed with several option sets,
    its ids carry the options that differ: ``encoder:vit[pool='cls']-leave_one_out``.
    """
    specs = [_unpack(spec) for spec in components]
    labels = _labels(specs)
    params = []
    for (kind, obj, kwargs), label in zip(specs, labels, strict=True):
        options = dict(kwargs)
        waived = waivers(kind, options.pop("expected_failures", None))
        for check in checks_for(kind):
            case_id = f"{label}-{check.name}"
            reason = waived.get(check.name)
            marks = [pytest.mark.xfail(reason=reason, raises=ComponentCheckError, strict=True)] if reason else []
            params.append(pytest.param(CheckCase(kind, obj, check, options, case_id), id=case_id, marks=marks))
    return pytest.mark.parametrize("check", params)


def _unpack(spec: tuple) -> tuple[str, object, dict]:
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise TypeError(f"a component to check is (kind, name_or_class) or (kind, name_or_class, kwargs), got {spec!r}")
    kind, obj, *rest = spec
    return kind, obj, dict(rest[0]) if rest else {}


def _labels(specs: list[tuple[str, object, dict]]) -> list[str]:
    """``kind:name``, plus the options that differ from the first listing when a component is listed again."""
    first: dict[str, dict] = {}
    labels = []
    for kind, obj, kwargs in specs:
        label = f"{kind}:{obj if isinstance(obj, str) else obj.__name__}"
        options = {key: value for key, value in kwargs.items() if key != "expected_failures"}
        if label not in first:
            first[label] = options
            labels.append(label)
            continue
        differing = {key: value for key, value in options.items() if first[label].get(key, object()) != value}
        differing |= {key: None for key in first[label].keys() - options.keys()}
        labels.append(label + "[" + ",".join(f"{key}={value!r}" for key, value in sorted(differing.items())) + "]")
    return labels
