"""Every data test renders into a private cache folder, never the user's."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FSDIFF_CACHE", str(tmp_path_factory.mktemp("fsdiff-cache")))
        yield
