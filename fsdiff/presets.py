"""Run configs from files or shipped presets, and ``--set path=value`` overrides."""

import json
from pathlib import Path

import yaml

from fsdiff.config_files import load_config_file
from fsdiff.errors import ConfigError

PRESETS = Path(__file__).parent / "configs"


def preset_names() -> list[str]:
    """The presets shipped in ``fsdiff/configs`` (usable wherever a config file is)."""
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def load_config(path_or_name: str | Path) -> dict:
    """A run config from a YAML or JSON file, or from a shipped preset by name (``vit_lag``, ``demo``, ...)."""
    path = Path(path_or_name)
    if not path.exists() and (PRESETS / f"{path_or_name}.yaml").is_file():
        path = PRESETS / f"{path_or_name}.yaml"
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found (presets: {', '.join(preset_names())})")
    config = load_config_file(path)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping with model/data/train sections, got {type(config).__name__}")
    return config


def apply_overrides(config: dict, assignments: list[str], *, steps: int | None = None) -> dict:
    """``config`` with each ``path=value`` applied (values parsed as YAML: ``6``, ``true``, ``[1, 2]``, ``lag``).
    The result is validated like a file, so a misspelt path is reported with its dotted path."""
    config = json.loads(json.dumps(config))
    for assignment in assignments:
        path, sep, text = assignment.partition("=")
        if not sep or not path:
            raise ConfigError([(assignment, "expected --set PATH=VALUE, e.g. model.encoder.depth=6")])
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError([(path, f"cannot parse value {text!r}: {exc}")]) from exc
        node = config
        *parents, leaf = path.split(".")
        for i, key in enumerate(parents):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError([(".".join(parents[: i + 1]), f"is not a section, cannot set {path}")])
        node[leaf] = value
    if steps is not None:
        config.setdefault("train", {})["steps"] = steps
    return config
