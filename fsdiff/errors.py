"""Typed errors: every failure a user can cause surfaces as one of these, with a message that names the
component or path, what was expected and what came."""


class FsdiffError(Exception):
    """Base class of every error fsdiff raises on purpose."""


class ConfigError(FsdiffError, ValueError):
    """A config is invalid. ``problems`` lists every ``(dotted_path, message)`` found, all reported at once."""

    def __init__(self, problems: list[tuple[str, str]] | str):
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems = list(problems)
        lines = [f"{path}: {msg}" if path else msg for path, msg in self.problems]
        head = "invalid config" if len(lines) == 1 else f"invalid config ({len(lines)} problems)"
        super().__init__(head + ":\n  " + "\n  ".join(lines))


class RegistryError(FsdiffError, LookupError):
    """A registry operation is invalid: unknown kind or name, or a duplicate registration."""


class ContractError(FsdiffError, TypeError):
    """A component was called with (or returned) arrays that violate its shape/dtype contract."""


class DataError(FsdiffError, ValueError):
    """A data source is missing or unusable; the message names the path."""


class TrainingError(FsdiffError, RuntimeError):
    """Training cannot continue (e.g. a non-finite loss); the message names the step."""


class CheckpointError(FsdiffError, OSError):
    """A run folder or checkpoint is missing or unreadable; the message names the path."""
