"""The conformance kit: the property checks fsdiff runs on its own components, for plugin authors to run on theirs.

``check_component(kind, name_or_class, **options)`` runs every check of the kind and raises one
``ComponentCheckError`` listing the failures; ``parametrize_with_checks([...])`` turns the same checks into one
pytest case per (component, check). See ``CHECKS`` for what is checked.
"""

from fsdiff.testing.catalog import CHECKS, Check, check_names
from fsdiff.testing.failures import ComponentCheckError
from fsdiff.testing.parametrize import parametrize_with_checks
from fsdiff.testing.perturb import perturbed
from fsdiff.testing.runner import check_component, run_check

__all__ = [
    "CHECKS",
    "Check",
    "ComponentCheckError",
    "check_component",
    "check_names",
    "parametrize_with_checks",
    "perturbed",
    "run_check",
]
