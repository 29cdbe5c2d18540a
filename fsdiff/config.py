"""Config validation: nested dicts checked against constructor signatures before any JAX work.

A component config is ``{"type": name, **options}``; its options are the keyword parameters of the registered
constructor (minus the derived ones, see ``registry.DERIVED_ARGS``), checked with beartype against their
annotations. Sections are checked the same way against a schema callable: ``model`` against ``FewShotDiffusion``'s
constructor (an option annotated with a kind's base class is a component config), ``diffusion``, ``data`` and
``train`` against theirs. Every problem is collected with its dotted path and raised at once as one ``ConfigError``.
"""

import dataclasses
import difflib
import inspect
import math
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated

from beartype import BeartypeConf, BeartypeStrategy
from beartype.door import is_bearable

from fsdiff import registry
from fsdiff.errors import ConfigError, RegistryError
from fsdiff.typing import coerce, type_name

_EVERY_ITEM = BeartypeConf(strategy=BeartypeStrategy.On)
"""Check every item of a list/tuple option (beartype's default checks one random item)."""


@dataclasses.dataclass(frozen=True)
class Component:
    """A nested component config of ``kind``: what an option annotated with the kind's base class holds
    (``encoder: Encoder``)."""

    kind: str


@dataclasses.dataclass(frozen=True)
class Section:
    """A nested section validated against ``schema``'s keyword parameters: an option annotated with a class, or
    marked ``Annotated[dict, Section(schema)]``."""

    schema: Callable


def fill_config(cfg: object, schema: Callable | None = None, path: str = "model") -> dict:
    """Validate ``cfg`` against ``schema`` (default: the ``model`` section, ``FewShotDiffusion``'s constructor) and
    return it with every default written in (JSON-safe: lists, not tuples). Raises ``ConfigError`` listing every
    problem with its dotted path."""
    if schema is None:
        from fsdiff.model import FewShotDiffusion  # the model module builds on this one

        schema = FewShotDiffusion
    problems: list[tuple[str, str]] = []
    filled = check_section(cfg, schema, path, problems)
    if problems:
        raise ConfigError(problems)
    return filled


def fill_component(cfg: object, kind: str, path: str) -> dict:
    """``fill_config`` for a single component config ``{"type": ..., **options}`` of ``kind``."""
    problems: list[tuple[str, str]] = []
    filled = check_component_config(cfg, kind, path, problems)
    if problems:
        raise ConfigError(problems)
    return filled


def check_section(cfg: object, schema: Callable | registry.Entry, path: str, problems: list) -> dict:
    """Check the options of one mapping against ``schema``'s keyword parameters, or a registry entry's options (its
    ``type`` key, derived arguments and a preset's fixed options are not options); append problems; return the
    filled mapping."""
    if not isinstance(cfg, Mapping):
        problems.append((path, f"expected a mapping of options, got {_kind_of(cfg)}"))
        return {}
    component = isinstance(schema, registry.Entry)
    options = schema.options() if component else registry.options(schema, derived=frozenset())
    filled = {}
    for key in cfg:
        if key not in options and not (component and key == "type"):
            problems.append((_join(path, key), _unknown_option(key, list(options))))
    for key, option in options.items():
        where = _join(path, key)
        if key in cfg:
            filled[key] = check_value(cfg[key], option.annotation, where, problems)
        elif _omissible(option):
            filled[key] = check_section({}, _marker(option.annotation).schema, where, problems)
        elif option.required:
            problems.append((where, f"missing required option (expected {_expected(option.annotation)})"))
        else:
            filled[key] = _jsonable(option.default)
    return filled


def check_component_config(cfg: object, kind: str, path: str, problems: list) -> dict:
    """Check a ``{"type": name, **options}`` component config of ``kind``."""
    if not isinstance(cfg, Mapping):
        problems.append((path, f"expected a mapping with a 'type' key naming a registered {kind}, got {_kind_of(cfg)}"))
        return {}
    try:
        known = registry.list_components(kind)
    except RegistryError as exc:
        problems.append((path, str(exc)))
        return dict(cfg)
    name = cfg.get("type")
    if name is None:
        problems.append((f"{path}.type", f"missing; expected the name of a registered {kind}: {', '.join(known)}"))
        problems.extend(
            (f"{path}.{key}", _unknown_option(key, ["type"]))
            for key in cfg
            if difflib.get_close_matches(str(key), ["type"], n=1, cutoff=0.6)
        )
        return dict(cfg)
    if not isinstance(name, str):
        problems.append((f"{path}.type", f"expected a string naming a registered {kind}, got {_kind_of(name)}"))
        return dict(cfg)
    if name not in known:
        problems.append((f"{path}.type", registry.unknown_name_message(kind, name, known)))
        return dict(cfg)
    options = check_section(cfg, registry.entry(kind, name), path, problems)
    return {"type": name, **options}


def check_value(value: object, annotation: object, path: str, problems: list) -> object:
    """Check one option value; nested components and sections recurse. Returns the JSON-safe value."""
    marker = _marker(annotation)
    if isinstance(marker, Component):
        return check_component_config(value, marker.kind, path, problems)
    if isinstance(marker, Section):
        return check_section(value, marker.schema, path, problems)
    coerced = coerce(value, annotation)
    if not is_bearable(coerced, annotation, conf=_EVERY_ITEM):
        problems.append((path, f"expected {_expected(annotation)}, got {_kind_of(value)}"))
        return value
    infinite = [(where, number) for where, number in _numbers(coerced, path) if not math.isfinite(number)]
    problems.extend((where, f"expected a finite number, got {_kind_of(number)}") for where, number in infinite)
    return value if infinite else _jsonable(coerced)


def _numbers(value: object, path: str) -> Iterator[tuple[str, float]]:
    """Every float in an option value (nested in lists and mappings) with its dotted path: inf and NaN pass most
    annotations (``float``, ``x >= 0``) but are never a meaningful setting."""
    if isinstance(value, float):
        yield path, value
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _numbers(item, f"{path}[{i}]")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _numbers(item, _join(path, key))


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _marker(annotation: object) -> object:
    """The nested config an option holds: marked with ``Annotated``, or annotated with a class (not a builtin): a
    component config when the class is a kind's base (``Encoder``), else a section of the class's options."""
    if typing.get_origin(annotation) is Annotated:
        for meta in typing.get_args(annotation)[1:]:
            if isinstance(meta, Section):
                return meta
    if inspect.isclass(annotation) and annotation.__module__ != "builtins":
        kind = registry.kind_with_base(annotation)
        return Component(kind) if kind else Section(annotation)
    return None


def _omissible(option: registry.Option) -> bool:
    """A required section whose own options all have defaults may be left out: it is filled with them."""
    section = _marker(option.annotation)
    return (
        option.required
        and isinstance(section, Section)
        and not any(o.required for o in registry.options(section.schema, derived=frozenset()).values())
    )


def _jsonable(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _expected(annotation: object) -> str:
    return type_name(annotation) if annotation is not inspect.Parameter.empty else "any value"


def _kind_of(value: object) -> str:
    return f"{type(value).__name__} {value!r}" if isinstance(value, str | int | float | bool) else type(value).__name__


def _unknown_option(key: object, known: list[str]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown option{hint} known: {', '.join(known) or '(none)'}"
