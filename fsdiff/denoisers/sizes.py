"""Named DiT sizes (Peebles & Xie 2023, Table 1) as data: presets of ``dit`` registered as ``dit_s`` and ``dit_b``.

A size fixes ``width``, ``depth`` and ``heads``; ``{"type": "dit_s", "patch": 4}`` takes ``dit``'s other options.
"""

import fsdiff.denoisers.dit  # noqa: F401 - registers "dit", which the sizes configure
from fsdiff.registry import register

DIT_S = register("denoiser", "dit_s")({"type": "dit", "width": 384, "depth": 12, "heads": 6})
DIT_B = register("denoiser", "dit_b")({"type": "dit", "width": 768, "depth": 12, "heads": 12})
