"""The plugin module named by the ``cosmos_core.plugins`` entry point: hook implementations only.

cosmos-run imports this module for every command (``cosmos-run plugins`` included), so it imports
nothing heavy; the dataset class, and torch with it, load only when a spec uses ``video_folder``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cosmos_core.hookspecs import hookimpl

from cosmos_plugin_video_folder.options import VideoFolderOptions

if TYPE_CHECKING:
    from cosmos_core.registry import DatasetRegistry
    from cosmos_datasets.config import SingleDatasetConfig
    from cosmos_datasets.dataset_types.base import VideoDataset


def build_video_folder(
    config: SingleDatasetConfig, *, training: bool, options: VideoFolderOptions | None = None
) -> VideoDataset:
    """The factory cosmos-run calls with a split's ``dataset.*_dataset`` config and its options."""
    from cosmos_datasets.factories import for_training

    from cosmos_plugin_video_folder.dataset import VideoFolderDataset

    return for_training(VideoFolderDataset(config, training=training, options=options), training)


@hookimpl
def cosmos_register_datasets(registry: DatasetRegistry) -> None:
    registry.add(
        "video_folder",
        build_video_folder,
        help="A folder of videos (data_root[/split]) captioned by sidecar .txt files or by their class folder.",
        options=VideoFolderOptions,
        requires=("data_root",),
    )
