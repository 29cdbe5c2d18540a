"""``check_component`` and ``run_check``: run the kit's checks on one component and report every failure at once."""

from fsdiff.testing.catalog import Check, checks_for, known_check
from fsdiff.testing.failures import CheckFailure, ComponentCheckError, NotApplicable
from fsdiff.testing.subject import Subject, component_under_test

PASSED = "passed"


def check_component(
    kind: str, cls_or_name: object, /, *, expected_failures: dict[str, str] | None = None, **options: object
) -> dict[str, str]:
    """Run every check of ``kind`` on the component ``cls_or_name`` (a registered name, or a class, registered
    for the duration if it is not) built with ``options``.

    ``options`` are the component's config options (keep widths tiny: ``width=16, depth=1``) and may override the
    derived constructor arguments the kit synthesizes (``image_shape`` (8, 8, 1), ``set_size`` 3, ``in_dim`` 16,
    ``context_dim`` 16, ``out_channels`` the image channels). ``expected_failures`` maps a check name to the reason
    it is waived: its failure is tolerated, but a waived check that passes is an error (the waiver is stale).

    Returns each check's outcome (``"passed"``, ``"not applicable: ..."``, ``"expected failure: ..."``); raises
    one ``ComponentCheckError`` listing every failed check by name.
    """
    waived = waivers(kind, expected_failures)
    outcomes: dict[str, str] = {}
    failures: dict[str, str] = {}
    with component_under_test(kind, cls_or_name, options) as subject:
        for check in checks_for(kind):
            try:
                outcome = run_one(check, subject)
            except ComponentCheckError as exc:
                if check.name in waived:
                    outcomes[check.name] = f"expected failure: {waived[check.name]}"
                else:
                    failures[check.name] = exc.failures[check.name]
                continue
            if check.name in waived:
                failures[check.name] = (
                    f"waived as an expected failure ({waived[check.name]}), but it did not fail ({outcome}): "
                    "remove the waiver"
                )
            else:
                outcomes[check.name] = outcome
        label = subject.label
    if failures:
        raise ComponentCheckError(label, failures)
    return outcomes


def run_check(kind: str, cls_or_name: object, check: str, /, **options: object) -> str:
    """Run the single check named ``check`` (see ``check_names``) as ``check_component`` would, without waivers.
    Returns ``"passed"`` or ``"not applicable: ..."``; raises ``ComponentCheckError`` naming the check."""
    (selected,) = [c for c in checks_for(kind) if c.name == known_check(kind, check)]
    with component_under_test(kind, cls_or_name, options) as subject:
        return run_one(selected, subject)


def run_one(check: Check, subject: Subject) -> str:
    """Run ``check`` on ``subject``: ``"passed"`` or ``"not applicable: ..."``; a failure, or any error the
    component raises during the check, becomes a ``ComponentCheckError`` (chained to the cause)."""
    try:
        check.run(subject)
    except NotApplicable as exc:
        return f"not applicable: {exc}"
    except CheckFailure as exc:
        raise ComponentCheckError(subject.label, {check.name: str(exc)}) from exc
    except Exception as exc:
        raise ComponentCheckError(subject.label, {check.name: f"{type(exc).__name__}: {exc}"}) from exc
    return PASSED


def waivers(kind: str, expected_failures: dict[str, str] | None) -> dict[str, str]:
    """``expected_failures`` checked against the names of ``kind``'s checks."""
    waived = dict(expected_failures or {})
    for name in waived:
        known_check(kind, name)
    return waived
