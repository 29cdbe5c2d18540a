"""The core imports nothing from the Run layer or the CLI: components, model, diffusion, training pieces,
evaluation metrics and the testing kit work without a run folder."""

import ast
import subprocess
import sys
from pathlib import Path

import fsdiff

PACKAGE = Path(__file__).resolve().parents[1] / "fsdiff"
OUTER = ("fsdiff.runs", "fsdiff.cli")
"""The layer above the core, and who may import it: itself, the CLI and the package's re-exports."""


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_core_modules_import_nothing_from_the_run_layer_or_the_cli():
    core = [
        p
        for p in PACKAGE.rglob("*.py")
        if p.relative_to(PACKAGE).parts[0] != "runs" and p.name != "cli.py" and p != PACKAGE / "__init__.py"
    ]
    assert len(core) > 50
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(m for m in imported_modules(p) if m.startswith(OUTER))
        for p in core
        if any(m.startswith(OUTER) for m in imported_modules(p))
    }
    assert offenders == {}


def test_importing_the_core_loads_no_run_layer_until_a_run_name_is_used():
    """``fsdiff.Run``, ``fsdiff.train``, ... are imported on first use (``fsdiff.RUN_LAYER``): a process that only
    builds models never loads Orbax or the run folder's code."""
    script = (
        "import sys, fsdiff.model; print('fsdiff.runs' in sys.modules, 'orbax.checkpoint' in sys.modules); "
        "import fsdiff; fsdiff.train; print('fsdiff.runs' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]
    assert all(getattr(fsdiff, name) is getattr(fsdiff.runs, name) for name in fsdiff.RUN_LAYER)
