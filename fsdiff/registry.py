"""The component registry: encoders, conditioners, denoisers (and any kind added later) under string keys.

``register`` wraps a class's annotated ``__call__`` with its shape contract; third-party packages register through
the entry-point group ``fsdiff.components``, loaded once on first need. String dispatch lives here and nowhere else.
"""

import contextlib
import dataclasses
import difflib
import fnmatch
import importlib.metadata
import inspect
import logging
import typing
import warnings
from collections.abc import Callable, Iterator

from fsdiff.contracts import contract, contract_label
from fsdiff.errors import ConfigError, FsdiffError, RegistryError
from fsdiff.typing import coerce, type_name

ENTRY_POINT_GROUP = "fsdiff.components"

DERIVED_ARGS = frozenset({"image_shape", "set_size", "in_dim", "context_dim", "out_channels", "dtype", "rngs"})
"""Constructor arguments that follow from the rest of the model: ``build_model`` passes them by name to any
component that declares them; they are never config options."""

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered component: a class (subclass of its kind's base) or a factory returning one."""

    kind: str
    name: str
    obj: Callable


@dataclasses.dataclass(frozen=True)
class Option:
    """One config option of a component: its annotation, default, and whether it must be given."""

    annotation: object
    default: object
    required: bool


@dataclasses.dataclass(frozen=True)
class ComponentInfo:
    """What ``describe`` says of a component: options, shape contract, docstring and defining file."""

    kind: str
    name: str
    options: dict[str, Option]
    contract: str
    doc: str
    file: str

    def __str__(self) -> str:
        lines = [f"{self.kind}:{self.name}  ({self.file})", "", self.doc or "(no docstring)", "", "options:"]
        for key, opt in self.options.items():
            default = "required" if opt.required else f"default {opt.default!r}"
            lines.append(f"  {key}: {type_name(opt.annotation)}  ({default})")
        if not self.options:
            lines.append("  (none)")
        lines += ["", f"contract: {self.contract}"]
        return "\n".join(lines)


class Registry:
    """Maps ``(kind, name)`` to components. Kinds are declared with ``add_kind`` (with an optional base class)."""

    def __init__(self):
        self._bases: dict[str, type | None] = {}
        self._entries: dict[str, dict[str, Entry]] = {}
        self._plugins_loaded = False

    def copy(self) -> "Registry":
        """An independent copy (same entries, same plugin state)."""
        other = Registry()
        other._bases = dict(self._bases)
        other._entries = {kind: dict(entries) for kind, entries in self._entries.items()}
        other._plugins_loaded = self._plugins_loaded
        return other

    def add_kind(self, kind: str, base: type | None = None) -> None:
        """Declare a component kind; registered classes of that kind must subclass ``base``."""
        self._bases.setdefault(kind, base)
        self._entries.setdefault(kind, {})

    def kinds(self) -> list[str]:
        return sorted(self._bases)

    def add(self, kind: str, name: str, obj: Callable, override: bool = False) -> Callable:
        self._check_kind(kind)
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{kind}: a component name must be a non-empty string, got {name!r}")
        existing = self._entries[kind].get(name)
        if existing is not None and existing.obj is obj:
            return obj
        if existing is not None and not override:
            raise RegistryError(
                f"{kind} '{name}' is already registered ({_where(existing.obj)}); pass override=True to replace it"
            )
        if inspect.isclass(obj):
            base = self._bases[kind]
            if base is not None and not issubclass(obj, base):
                raise RegistryError(f"{kind}:{name}: {obj.__qualname__} must subclass fsdiff.{base.__name__}")
            if base is not None and obj.__call__ is base.__call__:
                raise RegistryError(f"{kind}:{name}: {obj.__qualname__} must define an annotated __call__")
            wrap_contract(obj, f"{kind}:{name}")
        elif not callable(obj):
            raise RegistryError(f"{kind}:{name}: expected a class or a factory function, got {obj!r}")
        self._entries[kind][name] = Entry(kind, name, obj)
        return obj

    def get(self, kind: str, name: str) -> Entry:
        self.load_plugins()
        self._check_kind(kind)
        entry = self._entries[kind].get(name)
        if entry is None:
            raise RegistryError(unknown_name_message(kind, name, self.names(kind)))
        return entry

    def names(self, kind: str) -> list[str]:
        self.load_plugins()
        self._check_kind(kind)
        return sorted(self._entries[kind])

    def load_plugins(self) -> None:
        """Import every ``fsdiff.components`` entry point once; a failing plugin warns by name, the rest load."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                point.load()
            except Exception as exc:  # noqa: BLE001 - any plugin failure must be isolated
                warnings.warn(
                    f"fsdiff plugin '{point.name}' ({point.value}) failed to import and was skipped: "
                    f"{type(exc).__name__}: {exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            else:
                _log.debug("loaded fsdiff plugin %s", point.name)

    def _check_kind(self, kind: str) -> None:
        if kind not in self._bases:
            raise RegistryError(unknown_name_message("component kind", kind, self.kinds()))


_registry = Registry()


def register(kind: str, name: str, override: bool = False) -> Callable:
    """Decorator registering a component class (or a factory returning one) as ``kind:name``.

    A duplicate name is an error unless ``override=True``; registering the very same object again is a no-op.
    A class's annotated ``__call__`` is wrapped with its shape contract; a class without array annotations is
    refused.
    """

    def decorate(obj):
        return _registry.add(kind, name, obj, override=override)

    return decorate


def add_kind(kind: str, base: type | None = None) -> None:
    """Declare a new component kind (``encoder``, ``conditioner``, ``denoiser``, ``feature_extractor`` ...)."""
    _registry.add_kind(kind, base)


def lookup(kind: str, name: str) -> Callable:
    """The class or factory registered as ``kind:name``; an unknown name lists the known ones."""
    return _registry.get(kind, name).obj


def list_components(kind: str | None = None, pattern: str = "*") -> dict[str, list[str]] | list[str]:
    """Names registered under ``kind`` matching the glob ``pattern``; without a kind, a dict over all kinds."""
    if kind is not None:
        return [name for name in _registry.names(kind) if fnmatch.fnmatch(name, pattern)]
    return {k: [n for n in _registry.names(k) if fnmatch.fnmatch(n, pattern)] for k in _registry.kinds()}


def kinds() -> list[str]:
    """The declared component kinds."""
    return _registry.kinds()


def describe(kind: str, name: str) -> ComponentInfo:
    """Options (with types and defaults), shape contract, docstring and defining file of ``kind:name``."""
    obj = lookup(kind, name)
    call = obj.__call__ if inspect.isclass(obj) else inspect.signature(obj).return_annotation.__call__
    return ComponentInfo(
        kind=kind,
        name=name,
        options=options(obj),
        contract=f"__call__{_contract_signature(call)}",
        doc=inspect.cleandoc(obj.__doc__ or ""),
        file=_source_file(obj),
    )


def options(obj: Callable, derived: frozenset[str] = DERIVED_ARGS) -> dict[str, Option]:
    """The config options of a component (or of a section's schema callable): its constructor's parameters
    except the ``derived`` ones."""
    params = constructor_parameters(obj)
    hints = _hints(obj.__init__ if inspect.isclass(obj) else obj)
    factories = {
        f.name: f.default_factory
        for f in (dataclasses.fields(obj) if dataclasses.is_dataclass(obj) else ())
        if f.default_factory is not dataclasses.MISSING
    }
    out = {}
    for key, param in params.items():
        if key in derived or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = factories[key]() if key in factories else param.default
        required = default is param.empty
        out[key] = Option(hints.get(key, object), None if required else default, required)
    return out


def constructor_parameters(obj: Callable) -> dict[str, inspect.Parameter]:
    """The parameters of a class's ``__init__`` (without ``self``) or of a factory function."""
    if inspect.isclass(obj):
        return dict(list(inspect.signature(obj.__init__).parameters.items())[1:])
    return dict(inspect.signature(obj).parameters)


def build(kind: str, config: dict, derived: dict, path: str) -> object:
    """Instantiate the component ``config = {"type": name, **options}`` (already validated) of ``kind``.

    Of the ``derived`` values (see ``DERIVED_ARGS``) only those the constructor declares are passed. An error
    raised inside the constructor becomes a ``ConfigError`` naming ``path`` and the component.
    """
    name = config["type"]
    obj = lookup(kind, name)
    declared = constructor_parameters(obj)
    hints = _hints(obj.__init__ if inspect.isclass(obj) else obj)
    kwargs = {k: coerce(v, hints.get(k, object)) for k, v in config.items() if k != "type"}
    kwargs.update({k: v for k, v in derived.items() if k in declared})
    try:
        instance = obj(**kwargs)
    except ConfigError as exc:
        raise ConfigError([(f"{path}.{p}" if p else path, f"{kind}:{name}: {m}") for p, m in exc.problems]) from exc
    except (FsdiffError, TypeError, ValueError) as exc:
        raise ConfigError([(path, f"{kind}:{name} could not be built: {type(exc).__name__}: {exc}")]) from exc
    if not inspect.isclass(obj):
        wrap_contract(type(instance), f"{kind}:{name}")
    return instance


def wrap_contract(cls: type, label: str) -> None:
    """Replace ``cls.__call__`` by its contract-checked version, reporting as ``label`` (a class registered
    again under another name reports its latest name; it is never wrapped twice)."""
    current = cls.__call__
    if contract_label(current) != label:
        original = current.__wrapped__ if contract_label(current) is not None else current
        cls.__call__ = contract(original, label)


@contextlib.contextmanager
def isolated_registry() -> Iterator[Registry]:
    """Run a block against a copy of the registry; registrations made inside never leak out."""
    global _registry
    saved = _registry
    saved.load_plugins()
    _registry = saved.copy()
    try:
        yield _registry
    finally:
        _registry = saved


def unknown_name_message(what: str, name: object, known: list[str]) -> str:
    """ "unknown encoder 'vitt'; did you mean 'vit'? known: cnn, set_vit, vit" (shared with config errors)."""
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {what} {name!r}{hint} known: {', '.join(known) or '(none)'}"


def _hints(fn) -> dict:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolved forward references: fall back to raw annotations
        return dict(getattr(fn, "__annotations__", {}))


def _contract_signature(call) -> str:
    sig = inspect.signature(getattr(call, "__wrapped__", call))
    hints = _hints(getattr(call, "__wrapped__", call))
    parts = [f"{k}: {type_name(hints[k])}" if k in hints else k for k in sig.parameters if k != "self"]
    ret = f" -> {type_name(hints['return'])}" if "return" in hints else ""
    return f"({', '.join(parts)}){ret}"


def _source_file(obj) -> str:
    try:
        return inspect.getsourcefile(obj) or "?"
    except TypeError:  # defined in a REPL, exec or python -c
        return "?"


def _where(obj) -> str:
    return f"{obj.__module__}.{getattr(obj, '__qualname__', obj)}"
