"""An example fsdiff plugin: the ``pixel_mean`` set encoder, registered through the ``fsdiff.components`` entry
point."""

from fsdiff_example_plugin.pixel_mean import PixelMeanEncoder

__all__ = ["PixelMeanEncoder"]
