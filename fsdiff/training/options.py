"""The ``train`` config section and the whole run config ``{"model": ..., "data": ..., "train": ...}``."""

import dataclasses
from typing import Annotated, Literal

from fsdiff.config import Section, fill_config
from fsdiff.data import load_dataset
from fsdiff.model import FewShotDiffusion
from fsdiff.typing import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Probability


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """How to train: its keyword constructor is the ``train`` config section.

    ``steps`` optimizer steps on batches of ``batch_sets`` sets (of the model's ``set_size``), or fewer when
    ``time_limit`` seconds of training have passed (compilation included; the step crossing it is saved: equal wall
    budgets for comparisons). AdamW with linear warm-up over ``warmup`` steps then cosine decay to
    ``lr * final_lr_fraction`` over the run's steps, or over its time limit when the clock is further along (a
    run its limit stops still ends at the low rate, on a slow machine as on a fast one; a resumed run counts its
    limit from its own start, its rate decaying from where its steps are), global-norm clipping at ``clip``,
    decoupled ``weight_decay`` on weight matrices only.
    ``lr_multipliers`` scales the learning rate per module (``encoder``, ``conditioner``, ``denoiser``); 0 freezes a
    module (its parameters get no update at all, Adam included). EMA of the parameters with ``ema_decay`` (warmed
    up as ``min(decay, (1 + t) / (10 + t))``). The KL weight ramps linearly from 0 to ``kl_weight`` over
    ``kl_warmup`` steps. Every ``log_every`` steps a line of ``metrics.jsonl``; every ``checkpoint_every`` steps an
    atomic checkpoint (the last ``keep`` are kept); every ``sample_every`` steps and at the end a sample grid of
    ``sample_classes`` held-out (validation) classes (0: none). ``sample_method`` (``ddim``, or ``ddpm``: ancestral),
    ``sample_steps`` (respaced sampler steps) and ``sample_guidance`` (the classifier-free guidance scale) are the
    sampler of the run's samples: those grids, ``demo.png``, and the defaults of ``fsdiff sample`` and ``fsdiff eval``.
    ``seed`` fixes initialisation, batches and noise. ``distributed``: join the other processes of a multi-host run
    first, at ``coordinator_address`` (``host:port`` of process 0) as ``process_id`` of ``num_processes``, each read
    from ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID`` when unset, or detected by JAX when none
    is set (SLURM ...; see README and ``fsdiff.training.distributed``).
    """

    steps: PositiveInt = 2000
    time_limit: PositiveFloat | None = None
    batch_sets: PositiveInt = 8
    lr: PositiveFloat = 3e-4
    final_lr_fraction: Probability = 0.1
    warmup: NonNegativeInt = 100
    weight_decay: NonNegativeFloat = 0.0
    clip: PositiveFloat = 1.0
    lr_multipliers: dict[str, NonNegativeFloat | NonNegativeInt] = dataclasses.field(default_factory=dict)
    ema_decay: Probability = 0.999
    kl_weight: NonNegativeFloat = 1.0
    kl_warmup: NonNegativeInt = 0
    seed: NonNegativeInt = 0
    log_every: PositiveInt = 10
    checkpoint_every: PositiveInt = 500
    keep: PositiveInt = 3
    sample_every: PositiveInt = 500
    sample_shots: PositiveInt = 5
    sample_classes: NonNegativeInt = 6
    sample_num: PositiveInt = 8
    sample_steps: PositiveInt = 50
    sample_method: Literal["ddim", "ddpm"] = "ddim"
    sample_guidance: NonNegativeFloat = 1.0
    val_classes: Probability | NonNegativeInt = 0.1
    test_classes: Probability | NonNegativeInt = 0.1
    distributed: bool = False
    coordinator_address: str | None = None
    num_processes: PositiveInt | None = None
    process_id: NonNegativeInt | None = None


def run_schema(
    *,
    model: Annotated[dict, Section(FewShotDiffusion)],
    data: Annotated[dict, Section(load_dataset)] = {},  # noqa: B006 - a schema default, never mutated
    train: Annotated[dict, Section(TrainOptions)] = {},  # noqa: B006
) -> None:
    """A run: the ``model`` (see ``FewShotDiffusion``), the ``data`` set (see ``fsdiff.data.load_dataset``) and how
    to ``train`` it (see ``TrainOptions``)."""


def fill_run_config(cfg: object) -> dict:
    """Validate a run config and write every default in; one ``ConfigError`` lists every problem."""
    return fill_config(cfg, run_schema, path="")
