"""The host allocator switch: each choice is what the process runs with, freed memory is kept (no fresh page
faults when a large block is allocated again), mimalloc or tcmalloc is preloaded by one re-execution, bad choices
are errors."""

import os
import subprocess
import sys

import pytest

from fsdiff import host_memory
from fsdiff.errors import ConfigError
from tests.runs import fsdiff_cli

BLOCK = 256 * 2**20
PAGES = BLOCK // 4096

REUSE = f"""
import ctypes, os, resource
from fsdiff.host_memory import use_fast_allocator

print("started", os.getpid(), flush=True)
chosen = use_fast_allocator()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def fill_and_free():
    block = libc.malloc({BLOCK})
    ctypes.memset(block, 1, {BLOCK})
    libc.free(block)

fill_and_free()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
fill_and_free()
print(chosen, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _reuse(choice: str | None) -> tuple[list[str], str, int]:
    env = {k: v for k, v in os.environ.items() if k not in (host_memory.ENV, host_memory.RELAUNCHED, "LD_PRELOAD")}
    if choice is not None:
        env[host_memory.ENV] = choice
    done = subprocess.run([sys.executable, "-c", REUSE], env=env, capture_output=True, text=True, check=True)
    *started, last = done.stdout.strip().splitlines()
    chosen, faults = last.split()
    return started, chosen, int(faults)


def test_system_allocator_faults_in_every_large_block_again():
    """The control: glibc's default unmaps a freed 256 MiB block, so allocating it again faults in every page."""
    _, chosen, faults = _reuse("system")
    assert chosen == "system"
    assert faults > PAGES // 2


@pytest.mark.skipif(
    sys.platform != "linux" or os.uname().machine not in ("x86_64", "aarch64"),
    reason="fsdiff depends on the cmeel-mimalloc wheel on Linux x86-64 and aarch64 only",
)
def test_mimalloc_ships_with_fsdiff_on_linux():
    """A pip install brings mimalloc, so ``auto`` finds a library to preload."""
    assert host_memory.library("mimalloc") is not None


@pytest.mark.parametrize("choice", [None, "glibc", "mimalloc"])
def test_fast_allocator_reuses_freed_memory(choice):
    installed = [name for name in host_memory.PRELOADED if host_memory.library(name)]
    expected = choice or (installed[0] if installed else "glibc")
    if expected in host_memory.PRELOADED and expected not in installed:
        pytest.skip(f"no {expected} library on this platform")
    started, chosen, faults = _reuse(choice)
    assert chosen == expected
    assert faults < PAGES // 20
    relaunches = 1 if expected in host_memory.PRELOADED else 0
    assert len(started) == 1 + relaunches and len(set(started)) == 1, "one re-execution, same process"


def test_the_cli_called_from_python_leaves_the_allocator_alone(tmp_path):
    """``fsdiff.cli.main(argv)`` inside someone else's process neither re-executes it nor tunes its malloc."""
    script = (
        "from fsdiff import host_memory\n"
        "from fsdiff.cli import main\n"
        "print('started', flush=True)\n"
        f"code = main(['sample', '--run', {str(tmp_path / 'missing')!r}, '--out', 'x.png'])\n"
        "print(code, host_memory.allocator())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in (host_memory.ENV, host_memory.RELAUNCHED, "LD_PRELOAD")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["started", "2 system"], done.stderr


def test_unknown_choice_is_a_one_line_cli_error(cli_env, tmp_path):
    result = fsdiff_cli(["demo", "--steps", "1", "--out", str(tmp_path)], {**cli_env, host_memory.ENV: "jemalloc"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "fsdiff: error: invalid config: FSDIFF_ALLOCATOR: unknown allocator 'jemalloc' (environment); "
        "expected one of auto, mimalloc, tcmalloc, glibc, system"
    ]


@pytest.mark.parametrize("choice", host_memory.PRELOADED)
def test_a_preloaded_allocator_without_its_library_is_an_error(monkeypatch, choice):
    monkeypatch.setenv(host_memory.ENV, choice)
    monkeypatch.setattr(host_memory, "library", lambda name: None)
    monkeypatch.setattr(host_memory, "_loaded_libraries", lambda: "")
    with pytest.raises(ConfigError, match=f"FSDIFF_ALLOCATOR={choice} but no {choice} library is installed"):
        host_memory.use_fast_allocator()
