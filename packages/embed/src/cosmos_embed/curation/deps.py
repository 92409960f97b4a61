"""The optional packages of the curation actions, imported on first use with an install hint."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from cosmos_embed.optional import MissingDependencyError

EXTRAS = {
    "lancedb": ("lancedb", "curation"),
    "pyarrow": ("pyarrow", "curation"),
    "faiss": ("faiss-cpu", "curation"),
    "ray": ("ray[data]", "ray"),
    "PIL": ("Pillow", "train"),
}
"""Import name -> (distribution, cosmos-embed extra that installs it)."""


def require(module: str, setting: str) -> ModuleType:
    """Import ``module`` for ``setting`` (a config path or action), or fail saying what to install."""
    if importlib.util.find_spec(module) is None:
        package, extra = EXTRAS[module]
        raise MissingDependencyError(
            f"{setting} needs {package}, which is not installed: pip install 'cosmos-embed[{extra}]'"
        )
    return importlib.import_module(module)
