"""The plugin's encoder passes fsdiff's conformance kit, and fsdiff finds it by name."""

import fsdiff
from fsdiff.testing import parametrize_with_checks


@parametrize_with_checks([("encoder", "pixel_mean", {"width": 8, "patch": 2})])
def test_pixel_mean(check):
    check()


def test_registered_through_the_entry_point():
    assert "pixel_mean" in fsdiff.list_components("encoder")
