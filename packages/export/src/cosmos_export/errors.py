"""Errors of an export, printed by the launcher as one message without a traceback."""

from __future__ import annotations

from cosmos_core.errors import UserInputError

ONNX_EXTRA_HINT = "pip install 'cosmos-export[onnx]'"


class ExportFailed(UserInputError, RuntimeError):
    """The export ran but its result is not usable: the graph disagrees with the eager model beyond
    tolerance, a converter produced an invalid model, or the graph's interface is not what was asked for.

    It is reported like an input error (one message, exit status 2) because the message already holds
    everything a traceback would: what was measured, against which limit, and what to try.
    """


class MissingExportDependency(UserInputError, ImportError):
    """An optional package the chosen exporter needs is not installed."""


class ModeNotOffered(UserInputError, LookupError):
    """``export.mode`` names a graph the model family does not offer."""
