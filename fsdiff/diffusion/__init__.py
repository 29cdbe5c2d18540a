"""Gaussian diffusion: schedules, the forward process and its parametrizations, losses, the variational bound and
samplers. Independent of every component."""

from fsdiff.diffusion.gaussian import GaussianDiffusion
from fsdiff.diffusion.likelihood import discretized_gaussian_log_likelihood, normal_kl
from fsdiff.diffusion.sampling import Prediction, ddim, ddpm
from fsdiff.diffusion.schedules import BETA_SCHEDULES, Schedule, cosine_betas, linear_betas, respace

__all__ = [
    "BETA_SCHEDULES",
    "GaussianDiffusion",
    "Prediction",
    "Schedule",
    "cosine_betas",
    "ddim",
    "ddpm",
    "discretized_gaussian_log_likelihood",
    "linear_betas",
    "normal_kl",
    "respace",
]
