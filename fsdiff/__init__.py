"""fsdiff: few-shot diffusion models (FSDM) in JAX, built from registered components with shape contracts."""

from fsdiff.conditioners import Conditioner
from fsdiff.config import fill_config
from fsdiff.debug import debug_checks
from fsdiff.denoisers import Denoiser
from fsdiff.diffusion import GaussianDiffusion
from fsdiff.encoders import Encoder
from fsdiff.errors import (
    CheckpointError,
    ConfigError,
    ContractError,
    DataError,
    FsdiffError,
    RegistryError,
    TrainingError,
)
from fsdiff.evaluation import EvalResult, FeatureExtractor, evaluate, markdown_table
from fsdiff.model import FewShotDiffusion, build_model
from fsdiff.registry import add_kind, describe, isolated_registry, kinds, list_components, lookup, register
from fsdiff.typing import Conditioning, SetEncoding

RUN_LAYER = ("Run", "evaluate_run", "load", "train")
"""Names of the Run layer (``fsdiff.runs``), imported on first use: the core (``import fsdiff.model``) never loads
the run folder's machinery (Orbax checkpoints, the lock, plotting)."""

__all__ = [
    "CheckpointError",
    "Conditioner",
    "Conditioning",
    "ConfigError",
    "ContractError",
    "DataError",
    "Denoiser",
    "Encoder",
    "EvalResult",
    "FeatureExtractor",
    "FewShotDiffusion",
    "GaussianDiffusion",
    "FsdiffError",
    "RegistryError",
    "Run",
    "SetEncoding",
    "TrainingError",
    "add_kind",
    "build_model",
    "debug_checks",
    "describe",
    "evaluate",
    "evaluate_run",
    "fill_config",
    "isolated_registry",
    "kinds",
    "list_components",
    "load",
    "lookup",
    "markdown_table",
    "register",
    "train",
]


def __getattr__(name: str):
    if name in RUN_LAYER:
        from fsdiff import runs

        return getattr(runs, name)
    raise AttributeError(f"module 'fsdiff' has no attribute {name!r}")
