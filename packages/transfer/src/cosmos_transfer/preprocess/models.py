"""Loading the preparation models from local folders or the local Hugging Face cache, never downloading.

``transformers`` and its helpers are the ``preprocess`` extra of cosmos-transfer, imported only
here; a missing one, or a model that is neither a local folder nor in the cache, stops the action
with one message that says what to install or download.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from cosmos_transfer.preprocess.errors import PrepareError

EXTRA = "preprocess"


def require(module: str, *, extra: str = EXTRA, purpose: str = "") -> Any:
    """Import ``module`` or stop, naming the cosmos-transfer extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        package = module.split(".")[0]
        raise PrepareError(
            f"{purpose or 'this step'} needs the Python package {package!r}, which is not installed "
            f"({err}). Install it with: pip install 'cosmos-transfer[{extra}]'"
        ) from None


def pick_device(name: str | None) -> Any:
    """``torch.device``: ``name`` if given (``cpu``, ``cuda``, ``cuda:1``), else CUDA when present."""
    import torch

    if name:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise PrepareError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_pretrained(
    loader: Callable[..., Any], name_or_path: str, *, what: str, flag: str, cache_dir: str | None = None, **kwargs: Any
) -> Any:
    """``loader(name_or_path, local_files_only=True, ...)`` (a ``from_pretrained``) with a clear error.

    ``what`` says what the model is for ("the T5 text encoder"), ``flag`` which option names it.
    """
    location = os.path.expanduser(name_or_path)
    try:
        return loader(location, local_files_only=True, cache_dir=cache_dir, **kwargs)
    except (OSError, ValueError) as err:
        if os.path.isdir(location):
            raise PrepareError(f"{flag} {name_or_path}: cannot load {what} from this folder: {err}") from None
        where = cache_dir or os.environ.get("HF_HUB_CACHE") or "the Hugging Face cache (~/.cache/huggingface/hub)"
        raise PrepareError(
            f"{flag} {name_or_path}: {what} is neither a local folder nor in {where}, and nothing is downloaded "
            f"at run time. Download it first (hf download {name_or_path}"
            + (f" --cache-dir {cache_dir}" if cache_dir else "")
            + f"), or pass {flag} /path/to/a/folder holding it."
        ) from None
