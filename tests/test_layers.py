"""The core imports nothing from the Run layer or the CLI: components, model, diffusion, training pieces,
evaluation metrics and the testing kit work without a run folder."""

import ast
from pathlib import Path

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
