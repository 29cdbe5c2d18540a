"""Set encoders: the abstract ``Encoder`` and the registered ``vit``, ``set_vit`` and ``cnn``."""

from fsdiff.encoders.base import Encoder
from fsdiff.encoders.cnn import CNNEncoder
from fsdiff.encoders.set_vit import SetViTEncoder
from fsdiff.encoders.vit import ViTEncoder

__all__ = ["CNNEncoder", "Encoder", "SetViTEncoder", "ViTEncoder"]
