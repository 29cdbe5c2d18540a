"""Registered conditioners."""

from fsdiff.conditioners.base import Conditioner
from fsdiff.conditioners.lag import LagConditioner
from fsdiff.conditioners.mean import MeanConditioner

__all__ = ["Conditioner", "LagConditioner", "MeanConditioner"]
