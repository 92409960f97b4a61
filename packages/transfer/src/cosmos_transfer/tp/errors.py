"""What can be wrong with the input of ``convert_tp`` / ``merge_tp``: one clear line each, raised before
anything is written."""

from __future__ import annotations

from cosmos_core.errors import UserInputError


class ConversionError(UserInputError, ValueError):
    """A checkpoint cannot be split or merged as asked."""


class NotTransfer1CheckpointError(ConversionError):
    """The file is not a Cosmos-Transfer1 state dict (released, converted or trained)."""


class TensorParallelSizeError(ConversionError):
    """The tensor-parallel size does not divide the attention heads (or another split dimension)."""


class ShardSetError(ConversionError):
    """Shard files are missing, extra, or do not belong to one checkpoint (different iterations)."""
