"""Registered conditioners."""

from fsdiff.conditioners.base import Conditioner
from fsdiff.conditioners.lag import LagConditioner
from fsdiff.conditioners.mean import MeanConditioner
from fsdiff.conditioners.projected import ProjectedConditioner
from fsdiff.conditioners.spatial import SpatialConditioner

__all__ = ["Conditioner", "LagConditioner", "MeanConditioner", "ProjectedConditioner", "SpatialConditioner"]
