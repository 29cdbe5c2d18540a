"""The component under test: its kind, registered name, options, and the constructor arguments the kit derives."""

import contextlib
import dataclasses
from collections.abc import Iterator

from flax import nnx

from fsdiff import registry
from fsdiff.config import fill_component
from fsdiff.testing.calls import check_compilation

KINDS = ("encoder", "conditioner", "denoiser")
"""The component kinds the kit knows how to feed."""

DEFAULT_DERIVED = {"image_shape": (8, 8, 1), "set_size": 3, "in_dim": 16, "context_dim": 16}
"""Derived constructor arguments the kit passes when the user names none (``out_channels`` follows ``image_shape``:
the image channels)."""


@dataclasses.dataclass(frozen=True)
class Subject:
    """A component to check: its registry ``entry`` (kind, name, class or factory, a preset's fixed options), the
    filled config ``options`` and the ``derived`` constructor arguments (``image_shape``, ``set_size``, ``in_dim``,
    ``context_dim``, ``out_channels``) passed to a constructor that declares them, as ``build_model`` does."""

    entry: registry.Entry
    options: dict
    derived: dict

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def label(self) -> str:
        """``kind:name``, as contracts and errors name a component."""
        return f"{self.kind}:{self.name}"

    @property
    def config(self) -> dict:
        """The component config ``{"type": name, **options}``."""
        return {"type": self.name, **self.options}

    def build(self, seed: int = 0, **derived: object) -> nnx.Module:
        """A fresh instance in evaluation mode (dropout off), with ``derived`` overriding the subject's derived
        arguments. Options get the types their annotations declare (JSON lists become tuples). Errors of the
        constructor propagate unchanged (a ``ConfigError`` refuses a shape)."""
        rngs = nnx.Rngs(params=seed, dropout=seed + 1)
        module = registry.instantiate(self.entry, self.options, {**self.derived, **derived, "rngs": rngs})
        module.eval()
        return module


@contextlib.contextmanager
def component_under_test(kind: str, cls_or_name: object, options: dict) -> Iterator[Subject]:
    """Resolve ``cls_or_name`` of ``kind`` and split ``options`` into config options and derived arguments.

    A class that is not registered is registered for the duration under its class name, in an isolated registry
    (registering never edits a class), so the check leaves no trace. Invalid options raise the
    ``ConfigError`` that ``build_model`` would.
    """
    if kind not in KINDS:
        raise ValueError(f"fsdiff.testing checks the kinds {', '.join(KINDS)}; got {kind!r}")
    registry.list_components()  # load the plugins into the real registry, not into an isolated copy
    derived = {key: options[key] for key in registry.DERIVED_ARGS & options.keys()}
    if "rngs" in derived:
        raise ValueError("fsdiff.testing makes the rngs of every instance it builds; pass no 'rngs'")
    config_options = {key: value for key, value in options.items() if key not in derived}
    with _registered(kind, cls_or_name) as entry, check_compilation():
        filled = fill_component({"type": entry.name, **config_options}, kind, f"model.{kind}")
        filled.pop("type")
        yield Subject(entry=entry, options=filled, derived=_derived(derived))


def _derived(given: dict) -> dict:
    values = {**DEFAULT_DERIVED, **given}
    values["image_shape"] = tuple(values["image_shape"])
    values.setdefault("out_channels", values["image_shape"][-1])
    return values


@contextlib.contextmanager
def _registered(kind: str, cls_or_name: object) -> Iterator[registry.Entry]:
    if isinstance(cls_or_name, str):
        yield registry.entry(kind, cls_or_name)
        return
    if not callable(cls_or_name):
        raise TypeError(f"expected a registered {kind} name or a component class, got {cls_or_name!r}")
    for name in registry.list_components(kind):
        if registry.entry(kind, name) == registry.Entry(kind, name, cls_or_name):
            yield registry.entry(kind, name)
            return
    with registry.isolated_registry():
        registry.register(kind, cls_or_name.__name__, override=True)(cls_or_name)
        yield registry.entry(kind, cls_or_name.__name__)
