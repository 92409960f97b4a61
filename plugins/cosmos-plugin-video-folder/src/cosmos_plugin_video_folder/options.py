"""The options of the ``video_folder`` type, set under a split's ``options`` mapping::

    dataset:
      train_dataset: {dataset_type: video_folder, data_root: /data/clips, options: {caption_suffix: .caption}}

cosmos-run validates them when the spec loads (``dataset.train_dataset.options.caption_suffx: unknown
config key; did you mean ...``), without any change to the shared dataset config.
"""

from __future__ import annotations

import attrs
from cosmos_core.config import option


def _suffix(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if not value.startswith(".") or len(value) < 2 or "/" in value:
        raise ValueError(f"caption_suffix must be a file extension such as '.txt', got {value!r}")


@attrs.frozen
class VideoFolderOptions:
    caption_suffix: str = option(
        ".txt",
        help="Extension of the sidecar caption file beside each video (clip.mp4 -> clip.txt).",
        validator=_suffix,
    )
