"""What the checks raise: a failed property, a check that does not apply, and the one error a component's run
of checks ends with."""

from fsdiff.errors import FsdiffError


class CheckFailure(AssertionError):
    """One check found a component violating its property; the message says what was expected and what came."""


class NotApplicable(Exception):
    """The component declares a fact that makes the check moot (e.g. ``permutation_invariant = False``)."""


class ComponentCheckError(FsdiffError, AssertionError):
    """A component failed checks. ``failures`` maps each failed check's name to what it found; the message lists
    them all, one per line, after the component's ``kind:name``."""

    def __init__(self, label: str, failures: dict[str, str]):
        self.label = label
        self.failures = dict(failures)
        lines = "\n".join(f"  {name}: {message}" for name, message in self.failures.items())
        count = "1 check" if len(self.failures) == 1 else f"{len(self.failures)} checks"
        super().__init__(f"{label} failed {count}:\n{lines}")
