"""Reading a config file: YAML or JSON, strictly. A duplicate key (which PyYAML and ``json`` silently resolve to
the last value) and a syntax error are both one ``ConfigError`` line with the file, line and column."""

import json
from pathlib import Path

import yaml

from fsdiff.errors import ConfigError


def load_config_file(path: Path) -> object:
    """The data in the YAML (or, for a ``.json`` suffix, JSON) file ``path``."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    return _load_json(path, text) if path.suffix == ".json" else _load_yaml(path, text)


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[object, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                first = seen[key]
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {first.line + 1}, column {first.column + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping)


def _load_yaml(path: Path, text: str) -> object:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError([(where, f"invalid YAML: {problem}")]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([(str(path), f"invalid YAML: {' '.join(str(exc).split())}")]) from exc


def _load_json(path: Path, text: str) -> object:
    def pairs(items: list[tuple[str, object]]) -> dict:
        out = {}
        for key, value in items:
            if key in out:
                raise _DuplicateKey(key)
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise ConfigError([(f"{path}:{exc.lineno}:{exc.colno}", f"invalid JSON: {exc.msg}")]) from exc
    except _DuplicateKey as exc:
        raise ConfigError([(str(path), f"invalid JSON: duplicate key {exc.args[0]!r}")]) from exc


class _DuplicateKey(Exception):
    """A JSON object names a key twice (the decoder hook knows the key, not its position)."""
