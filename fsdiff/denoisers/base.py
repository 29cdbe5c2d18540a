"""The abstract denoiser: a noisy image, its timestep and a conditioning -> the raw network output."""

from typing import ClassVar

from fsdiff.component import Contracted
from fsdiff.registry import add_kind
from fsdiff.typing import Conditioning, DenoiserOutput, Images, Timesteps


class Denoiser(Contracted):
    """``x_t "b h w c"``, integer timesteps ``t "b"`` and a ``Conditioning`` -> ``"b h w c_out"`` (``c_out`` is
    the constructor's ``out_channels``: ``2c`` with learned variance). The output is raw: what it predicts (eps,
    x0, v) is the diffusion's business.

    ``accepts``: the conditioning forms it uses, a subset of ``{"vector", "tokens", "spatial"}``; ``build_model``
    refuses a conditioner that provides a form the denoiser does not accept.
    """

    accepts: ClassVar[frozenset[str]] = frozenset()

    def __call__(self, x: Images, t: Timesteps, cond: Conditioning) -> DenoiserOutput:
        raise TypeError(f"{type(self).__name__} must define __call__")


add_kind("denoiser", Denoiser)
