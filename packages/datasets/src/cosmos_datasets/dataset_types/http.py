"""``http``: videos listed by HTTP/HTTPS URL in a JSON or JSONL metadata file.

Entries are like VAD-R1 entries (caption fields per ``caption_field``, optional ``split``; labels as
in :mod:`cosmos_datasets.dataset_types.captioned`) but name their video by ``url`` (or
``video_url``/``path``). ``path_remap`` rewrites URL prefixes (e.g. to a mirror). Each video is
downloaded when its item is first loaded, inside the DataLoader worker, into a cache keyed by URL
(``data_root``, default ``~/.cache/cosmos-run/http``) with ``http_timeout_sec`` and ``http_attempts``;
a URL that cannot be fetched is skipped and counted as a missing file. HTTPS servers are verified
against the system's CA store or ``http_ca_bundle``; a certificate that fails verification is not
retried, and the skip reason says how to pass a CA bundle.
"""

from __future__ import annotations

import urllib.parse

from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.dataset_types.base import Clip, ClipDataset
from cosmos_datasets.dataset_types.captioned import read_captioned_metadata
from cosmos_datasets.entries import resolve_video_path
from cosmos_datasets.errors import DatasetConfigError, MetadataError, VideoDecodeError
from cosmos_datasets.http_cache import CaBundleError, FetchError, HttpCache, default_cache_dir
from cosmos_datasets.skips import MISSING_FILE, SkippedSample

DATASET_TYPE = "http"
URL_FIELDS = ("url", "video_url", "path")


class HttpDataset(ClipDataset):
    """Clips of videos fetched over HTTP(S); see the module docstring."""

    dataset_type = DATASET_TYPE
    check_files = False

    def __init__(self, config: SingleDatasetConfig, *, training: bool) -> None:
        metadata = read_captioned_metadata(config, dataset_type=self.dataset_type, path_fields=URL_FIELDS)
        labels = metadata.label_map(config)
        clips = []
        for entry in metadata.entries:
            url = resolve_video_path(entry.raw_path, data_root=None, path_remap=config.path_remap)
            if urllib.parse.urlparse(url).scheme not in ("http", "https"):
                raise MetadataError(
                    f"{entry.source}: http entry video {url!r} is not an http:// or https:// URL; list URLs, "
                    "or use dataset_type vad_r1 for local files"
                )
            clips.append(
                Clip(url, entry.captions, entry.source, label=labels.label_of(entry.captions[0], entry.source))
            )
        try:
            self.cache = HttpCache(
                config.data_root or default_cache_dir(),
                timeout_sec=config.http_timeout_sec,
                attempts=config.http_attempts,
                ca_bundle=config.http_ca_bundle,
            )
        except CaBundleError as err:
            raise DatasetConfigError(f"http_ca_bundle: {err}; point it at a PEM file of CA certificates") from None
        super().__init__(config, clips, training=training, labels=labels, described=metadata.described)

    def fetch(self, index: int, clip: Clip) -> str | SkippedSample:
        """The cached download of the clip's URL, or a skip counted as a missing file."""
        try:
            return str(self.cache.fetch(clip.path))
        except FetchError as error:
            if not self.config.skip_missing_files:
                raise VideoDecodeError(clip.path, error.reason, missing=True) from error
            return SkippedSample(index, clip.path, f"{MISSING_FILE}: {error.reason}")
