"""Reading the reference's pickles without letting them run code.

The T5, segmentation and keypoint files of a Cosmos-Transfer1 dataset are Python pickles, and a
pickle can name any importable callable for the loader to call (``os.system`` is the classic). The
unpickler here resolves only the few globals that numpy arrays, dtypes and scalars need, under their
numpy 1.x and 2.x module names; containers, strings, bytes and numbers need no globals at all. Any
other global ends the load with :class:`UnsafePickleError` before anything is called.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from cosmos_transfer.data.errors import UnsafePickleError

_core = getattr(np, "_core", None) or np.core  # numpy 2 renamed numpy.core to numpy._core


def _allowed_globals() -> dict[tuple[str, str], Any]:
    targets = {
        "multiarray._reconstruct": _core.multiarray._reconstruct,
        "multiarray.scalar": _core.multiarray.scalar,
        "numeric._frombuffer": _core.numeric._frombuffer,  # arrays pickled with protocol 5
    }
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for package in ("numpy.core", "numpy._core"):
        for dotted, target in targets.items():
            module, _, name = dotted.partition(".")
            allowed[(f"{package}.{module}", name)] = target
    # Protocol-2 pickles (Python 2 era) spell bytes as _codecs.encode(text, "latin1").
    allowed[("_codecs", "encode")] = _latin1_encode
    return allowed


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    if encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"unexpected _codecs.encode encoding {encoding!r}")
    return text.encode("latin1")


_ALLOWED = _allowed_globals()


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._source}: refused to load: the pickle asks for {module}.{name}, which no "
                "Cosmos-Transfer1 data file needs (only numpy arrays, lists, dicts, tuples, strings, bytes "
                "and numbers are allowed). The file was not executed; regenerate it with the reference "
                "format or remove it."
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: refused to load: the pickle uses persistent ids")


def load_pickle(path: str | os.PathLike[str]) -> Any:
    """The object stored in the pickle at ``path``, built only from the allowed types.

    Raises :class:`UnsafePickleError` for a pickle that asks for anything else, and
    :class:`pickle.UnpicklingError` (or EOFError) for a truncated or corrupt file.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        return _RestrictedUnpickler(handle, str(path)).load()


def loads_pickle(data: bytes, source: str = "<bytes>") -> Any:
    """:func:`load_pickle` for bytes in memory; ``source`` names them in errors."""
    return _RestrictedUnpickler(io.BytesIO(data), source).load()
