"""Errors of dataset preparation that the user can fix (a missing model, a missing optional package)."""

from __future__ import annotations

from cosmos_core.errors import UserInputError


class PrepareError(UserInputError):
    """Preparation cannot start or go on; the message says what to install, download or pass."""
