"""Checks of a component's config schema: its constructor, the round trip of its config, and the rejection of
bad options with their dotted path."""

import json

import jax
import numpy as np
from flax import nnx

from fsdiff import registry
from fsdiff.config import check_value, fill_component
from fsdiff.errors import ConfigError
from fsdiff.testing.failures import CheckFailure
from fsdiff.testing.subject import Subject

WRONG_VALUES = ({"not": "an option value"}, "not-an-option-value", [["nested"]], -1.5)
"""Values tried, in order, as a wrongly typed option: the first its annotation rejects is used."""

JSON_SCALARS = (type(None), bool, int, float, str)


def constructor_schema(subject: Subject) -> None:
    """The constructor is the config schema: keyword-only parameters, no ``*args``/``**kwargs``, every option
    annotated with a JSON-safe default (or required), ``rngs`` last."""
    params = registry.constructor_parameters(subject.entry.obj)
    options = subject.entry.options()
    problems = []
    for name, param in params.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            problems.append(f"'{param}' hides options from the config schema")
        elif param.kind is not param.KEYWORD_ONLY:
            problems.append(f"'{name}' is not keyword-only (put it after '*')")
        elif name in options and param.annotation is param.empty:
            problems.append(f"option '{name}' has no annotation, so a config cannot be checked against it")
        elif name in options and not options[name].required and not _json_safe(param.default):
            problems.append(f"option '{name}' has a default that is not JSON-safe: {param.default!r}")
    if "rngs" in params and list(params)[-1] != "rngs":
        problems.append("'rngs' must be the last parameter")
    if problems:
        raise CheckFailure("; ".join(problems))


def config_round_trip(subject: Subject) -> None:
    """The filled config (every default written) lists every option, survives JSON, is a fixed point of
    ``fill_component`` (so every default passes its own annotation), and two builds from it with one seed have
    identical parameters."""
    path = f"model.{subject.kind}"
    config = subject.config
    missing = sorted(subject.entry.options().keys() - config.keys())
    if missing:
        raise CheckFailure(f"the filled config lacks the options {missing}")
    reloaded = json.loads(json.dumps(config))
    if reloaded != config:
        raise CheckFailure(f"the filled config changes through JSON: {config} -> {reloaded}")
    try:
        refilled = fill_component(reloaded, subject.kind, path)
    except ConfigError as exc:
        raise CheckFailure(f"the filled config (defaults written) is refused when read back: {exc}") from exc
    if refilled != config:
        raise CheckFailure(f"filling is not idempotent: {config} -> {refilled}")
    first, second = (_parameters(subject, cfg, path) for cfg in (config, refilled))
    if jax.tree.structure(first) != jax.tree.structure(second) or not all(
        np.array_equal(a, b) for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second), strict=True)
    ):
        raise CheckFailure("two builds from the same config and seed have different parameters")


def bad_options(subject: Subject) -> None:
    """A config with an unknown option, a misspelled one and a wrongly typed value for every option is refused
    with one ``ConfigError`` naming each dotted path; a typo gets a did-you-mean hint."""
    path = f"model.{subject.kind}"
    config = dict(subject.config, no_such_option=1)
    expected = {f"{path}.no_such_option": "unknown option"}
    options = subject.entry.options()
    if options:
        first = next(iter(options))
        config[f"{first}_"] = config.get(first)
        expected[f"{path}.{first}_"] = f"did you mean '{first}'?"
    lax = []
    for name, option in options.items():
        wrong = _wrong_value(option.annotation)
        if wrong is None:
            lax.append(f"'{name}' ({option.annotation})")
            continue
        config[name] = wrong
        expected[f"{path}.{name}"] = "expected"
    if lax:
        raise CheckFailure(f"options whose annotation accepts any value, so a bad config passes: {', '.join(lax)}")
    try:
        fill_component(config, subject.kind, path)
    except ConfigError as exc:
        found = {where: message for where, message in exc.problems}
        unreported = [f"{where} ({says})" for where, says in expected.items() if says not in found.get(where, "")]
        if unreported:
            raise CheckFailure(f"the ConfigError misses {', '.join(unreported)}: {exc}") from exc
        return
    raise CheckFailure(f"a config with bad options was accepted: {config}")


def _wrong_value(annotation: object) -> object:
    for value in WRONG_VALUES:
        problems: list = []
        check_value(value, annotation, "", problems)
        if problems:
            return value
    return None


def _json_safe(value: object) -> bool:
    if isinstance(value, tuple | list):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return isinstance(value, JSON_SCALARS)


def _parameters(subject: Subject, config: dict, path: str) -> nnx.State:
    derived = {**subject.derived, "rngs": nnx.Rngs(params=0, dropout=1)}
    module = registry.build(subject.kind, config, derived, path)
    if not isinstance(module, nnx.Module):
        raise CheckFailure(f"building the config gave a {type(module).__name__}, not an nnx.Module")
    return nnx.state(module, nnx.Param)
