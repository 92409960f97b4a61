"""Training-time replacement of unloadable items, so every rank gets full batches."""

from __future__ import annotations

from cosmos_datasets.dataset_types.base import Sample, VideoDataset
from cosmos_datasets.errors import NothingLoadableError
from cosmos_datasets.skips import SkippedSample


class ReplaceSkipped(VideoDataset):
    """Wraps a dataset so a skipped item is replaced by the next loadable index (wrapping around).

    The replacement sample carries the skips it stands in for under ``"skipped"``, which
    :func:`~cosmos_datasets.collate.collate_samples` adds to the batch's ``skipped`` list, so nothing
    goes uncounted. Under DDP this keeps batch sizes equal across ranks; evaluation should use the
    plain dataset instead, where skipped items are simply left out.
    """

    def __init__(self, dataset: VideoDataset, *, max_attempts: int = 100) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.dataset = dataset
        self.max_attempts = max_attempts

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Sample:
        skipped: list[dict[str, str]] = []
        for attempt in range(min(self.max_attempts, len(self.dataset))):
            item = self.dataset[(index + attempt) % len(self.dataset)]
            if not isinstance(item, SkippedSample):
                return {**item, "skipped": skipped} if skipped else item
            skipped.append(item.as_record())
        listed = "; ".join(f"{s['path']} ({s['reason']})" for s in skipped[:3])
        raise NothingLoadableError(
            f"none of the {len(skipped)} items from index {index} on could be loaded, e.g. {listed}; "
            "check the videos and the dataset's data_root"
        )

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch on to a dataset that draws per epoch (windows, augmentations)."""
        inner = getattr(self.dataset, "set_epoch", None)
        if callable(inner):
            inner(epoch)

    def label_names(self) -> list[str]:
        return self.dataset.label_names()

    def skipped_at_build(self) -> list[dict[str, str]]:
        return self.dataset.skipped_at_build()
