"""The component registry: encoders, conditioners, denoisers (and any kind added later) under string keys.

Registering stores ``kind:name -> class`` (or a factory, or a preset: a config of another registered name with some
options fixed) and never edits the class: its shape contract was attached where it was defined (``Contracted``), and
the build names each instance ``kind:name`` for its errors. Third-party packages register through the entry-point
group ``fsdiff.components``, loaded once on first need. String dispatch lives here and nowhere else.
"""

import contextlib
import copy
import dataclasses
import difflib
import fnmatch
import importlib.metadata
import inspect
import logging
import typing
import warnings
from collections.abc import Callable, Iterator, Mapping, Set

from fsdiff.contracts import is_contracted
from fsdiff.errors import ConfigError, ContractError, FsdiffError, RegistryError
from fsdiff.typing import coerce, type_name

ENTRY_POINT_GROUP = "fsdiff.components"

DERIVED_ARGS = frozenset({"image_shape", "set_size", "in_dim", "context_dim", "out_channels", "dtype", "rngs"})
"""Constructor arguments that follow from the rest of the model: ``build_model`` passes them by name to any
component that declares them; they are never config options."""

_LABEL_ATTR = "_fsdiff_label"

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered component: a class (subclass of its kind's base) or a factory returning one, built with the
    ``fixed`` options of a preset (``dit_s`` is ``dit`` with its width, depth and heads fixed)."""

    kind: str
    name: str
    obj: Callable
    fixed: dict = dataclasses.field(default_factory=dict)

    def options(self) -> dict[str, "Option"]:
        """The config options: the constructor's parameters except the derived and the fixed ones."""
        return options(self.obj, DERIVED_ARGS | self.fixed.keys())


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

    def add_kind(self, kind: str, base: type | None = None) -> None:
        """Declare a component kind; registered classes of that kind must subclass ``base``."""
        self._bases.setdefault(kind, base)
        self._entries.setdefault(kind, {})

    def kinds(self) -> list[str]:
        return sorted(self._bases)

    def kind_with_base(self, base: type) -> str | None:
        return next((kind for kind, known in self._bases.items() if known is base), None)

    def add(self, kind: str, name: str, obj: Callable | Mapping, override: bool = False) -> Callable | Mapping:
        self._check_kind(kind)
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{kind}: a component name must be a non-empty string, got {name!r}")
        entry = self._preset(kind, name, obj) if isinstance(obj, Mapping) else Entry(kind, name, obj)
        existing = self._entries[kind].get(name)
        if existing == entry:
            return obj
        if existing is not None and not override:
            raise RegistryError(
                f"{kind} '{name}' is already registered ({_where(existing.obj)}); pass override=True to replace it"
            )
        if inspect.isclass(obj):
            self._check_class(kind, name, obj)
        elif not callable(entry.obj):
            raise RegistryError(f"{kind}:{name}: expected a class, a factory function or a preset, got {obj!r}")
        self._entries[kind][name] = entry
        return obj

    def get(self, kind: str, name: str) -> Entry:
        self.load_plugins()
        return self._find(kind, name)

    def _find(self, kind: str, name: str) -> Entry:
        """``get`` without loading the plugins (a preset registered while fsdiff itself is imported)."""
        self._check_kind(kind)
        entry = self._entries[kind].get(name)
        if entry is None:
            raise RegistryError(unknown_name_message(kind, name, sorted(self._entries[kind])))
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

    def _check_class(self, kind: str, name: str, cls: type) -> None:
        base = self._bases[kind]
        if base is not None and not issubclass(cls, base):
            raise RegistryError(f"{kind}:{name}: {cls.__qualname__} must subclass fsdiff.{base.__name__}")
        if base is not None and cls.__call__ is base.__call__:
            raise RegistryError(f"{kind}:{name}: {cls.__qualname__} must define an annotated __call__")
        if base is not None and not is_contracted(cls.__call__):
            raise ContractError(
                f"{kind}:{name}: __call__ has no array annotations, so it has no shape contract; annotate its inputs "
                "and output with the aliases of fsdiff.typing, e.g. `def __call__(self, x: SetImages, mask: "
                "ElementMask | None = None, t: Timesteps | None = None) -> SetEncoding`"
            )

    def _preset(self, kind: str, name: str, preset: Mapping) -> Entry:
        """The entry of a preset ``{"type": registered name, **fixed options}``."""
        fixed = {key: value for key, value in preset.items() if key != "type"}
        base = self._find(kind, preset.get("type"))
        unknown = sorted(fixed.keys() - base.options().keys())
        if unknown:
            raise RegistryError(f"{kind}:{name}: preset fixes {unknown}, which are not options of '{base.name}'")
        return Entry(kind, name, base.obj, {**base.fixed, **fixed})

    def _check_kind(self, kind: str) -> None:
        if kind not in self._bases:
            raise RegistryError(unknown_name_message("component kind", kind, self.kinds()))


_registry = Registry()


def register(kind: str, name: str, override: bool = False) -> Callable:
    """Decorator registering a component class (or a factory returning one) as ``kind:name``; called on a preset
    ``{"type": name, **options}`` it registers a named configuration of another component (its options fixed).

    A duplicate name is an error unless ``override=True``; registering the very same object again is a no-op.
    The class is stored as it is; a class whose ``__call__`` has no array annotations (no contract) is refused.
    """

    def decorate(obj):
        return _registry.add(kind, name, obj, override=override)

    return decorate


def add_kind(kind: str, base: type | None = None) -> None:
    """Declare a new component kind (``encoder``, ``conditioner``, ``denoiser``, ``feature_extractor`` ...)."""
    _registry.add_kind(kind, base)


def lookup(kind: str, name: str) -> Callable:
    """The class or factory registered as ``kind:name`` (of a preset: the one it configures); an unknown name lists
    the known ones."""
    return _registry.get(kind, name).obj


def entry(kind: str, name: str) -> Entry:
    """The registry entry ``kind:name``: its class or factory and the options a preset fixes."""
    return _registry.get(kind, name)


def list_components(kind: str | None = None, pattern: str = "*") -> dict[str, list[str]] | list[str]:
    """Names registered under ``kind`` matching the glob ``pattern``; without a kind, a dict over all kinds."""
    if kind is not None:
        return [name for name in _registry.names(kind) if fnmatch.fnmatch(name, pattern)]
    return {k: [n for n in _registry.names(k) if fnmatch.fnmatch(n, pattern)] for k in _registry.kinds()}


def kinds() -> list[str]:
    """The declared component kinds."""
    return _registry.kinds()


def kind_with_base(base: type) -> str | None:
    """The kind whose components subclass ``base`` (``Encoder`` -> ``"encoder"``), None if no kind has it."""
    return _registry.kind_with_base(base)


def describe(kind: str, name: str) -> ComponentInfo:
    """Options (with types and defaults), shape contract, docstring and defining file of ``kind:name``."""
    found = entry(kind, name)
    obj = found.obj
    call = obj.__call__ if inspect.isclass(obj) else inspect.signature(obj).return_annotation.__call__
    doc = inspect.cleandoc(obj.__doc__ or "")
    if found.fixed:
        fixed = ", ".join(f"{key}={value!r}" for key, value in found.fixed.items())
        doc = f"Preset of {obj.__name__} with {fixed}.\n\n{doc}"
    return ComponentInfo(
        kind=kind,
        name=name,
        options=found.options(),
        contract=f"__call__{_contract_signature(call)}",
        doc=doc,
        file=_source_file(obj),
    )


def options(obj: Callable, derived: Set[str] = DERIVED_ARGS) -> dict[str, Option]:
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
    options = {k: v for k, v in config.items() if k != "type"}
    try:
        return instantiate(entry(kind, name), options, derived)
    except ConfigError as exc:
        raise ConfigError([(f"{path}.{p}" if p else path, f"{kind}:{name}: {m}") for p, m in exc.problems]) from exc
    except (FsdiffError, TypeError, ValueError) as exc:
        raise ConfigError([(path, f"{kind}:{name} could not be built: {type(exc).__name__}: {exc}")]) from exc


def instantiate(found: Entry, options: dict, derived: dict) -> object:
    """Call ``found``'s constructor with its preset's fixed options, ``options`` (coerced to their annotations:
    JSON lists become tuples) and the ``derived`` values it declares; the instance is named ``kind:name`` for its
    contract errors. Errors of the constructor propagate unchanged."""
    obj = found.obj
    declared = constructor_parameters(obj)
    hints = _hints(obj.__init__ if inspect.isclass(obj) else obj)
    kwargs = {k: coerce(v, hints.get(k, object)) for k, v in {**found.fixed, **options}.items()}
    kwargs.update({k: v for k, v in derived.items() if k in declared})
    instance = obj(**kwargs)
    setattr(instance, _LABEL_ATTR, f"{found.kind}:{found.name}")
    return instance


def label_of(module: object) -> str:
    """``kind:name`` of a component instance, as its errors name it: the name it was built as, else the name its
    class is registered under, else its class name (a class composed by hand and never registered)."""
    built = vars(module).get(_LABEL_ATTR)
    if built:
        return built
    cls = type(module)
    names = [f"{e.kind}:{e.name}" for es in _registry._entries.values() for e in es.values() if e.obj is cls]
    return min(names, default=cls.__name__)


@contextlib.contextmanager
def isolated_registry() -> Iterator[Registry]:
    """Run a block against a copy of the registry; registrations made inside never leak out."""
    global _registry
    saved = _registry
    saved.load_plugins()
    _registry = copy.deepcopy(saved)  # classes and functions are not copied, only the tables
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
