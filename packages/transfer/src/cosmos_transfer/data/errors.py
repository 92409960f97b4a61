"""Errors about Cosmos-Transfer1 data files; each names the file and what to do about it."""

from __future__ import annotations

from cosmos_datasets.errors import DatasetError


class TransferDataError(DatasetError):
    """Base class of the data errors of cosmos_transfer."""


class UnsafePickleError(TransferDataError):
    """A pickle asked to build something outside the reference formats (e.g. to call a function)."""


class PickleFormatError(TransferDataError, ValueError):
    """A pickle loaded, but its structure is not the reference format it should be."""


MISALIGNED = "misaligned control"
BAD_FILE = "bad file"


class ControlFileError(TransferDataError):
    """A control file cannot serve a sample: unreadable, malformed, or not aligned with its video.

    ``category`` is the skip category it is counted under (:data:`MISALIGNED`, :data:`BAD_FILE`);
    the message names the file and the frames or size it should have. The constructor takes the
    message alone too, as DataLoader workers re-raise errors in the main process with ``type(msg)``.
    """

    def __init__(self, message: str, *, path: str = "", category: str = BAD_FILE) -> None:
        super().__init__(message)
        self.path = str(path)
        self.category = category

    @property
    def skip_reason(self) -> str:
        return f"{self.category}: {self}"
