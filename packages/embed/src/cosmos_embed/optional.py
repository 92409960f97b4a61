"""Optional dependencies: checked by name before work starts, imported only where used."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from cosmos_core.errors import UserInputError

EXTRAS = {"PIL": ("Pillow", "train"), "umap": ("umap-learn", "viz"), "matplotlib": ("matplotlib", "viz")}
"""Import name -> (distribution, cosmos-embed extra that installs it)."""


class MissingDependencyError(UserInputError, ImportError):
    """An option needs a package that is not installed."""


def missing(modules: tuple[str, ...], setting: str) -> str | None:
    """A problem line for ``setting`` when any of ``modules`` cannot be imported, else None (nothing imported)."""
    absent = [name for name in modules if importlib.util.find_spec(name) is None]
    if not absent:
        return None
    packages = ", ".join(EXTRAS[name][0] for name in absent)
    extras = ",".join(sorted({EXTRAS[name][1] for name in absent}))
    return f"{setting} needs {packages}, which is not installed: pip install 'cosmos-embed[{extras}]'"


def require(module: str, setting: str) -> ModuleType:
    """Import ``module`` for ``setting``, or fail with the line of :func:`missing`."""
    problem = missing((module,), setting)
    if problem:
        raise MissingDependencyError(problem)
    return importlib.import_module(module)
