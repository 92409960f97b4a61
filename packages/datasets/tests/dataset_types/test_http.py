import attrs
import pytest
from cosmos_datasets.collate import collate_samples
from cosmos_datasets.dataset_types.http import HttpDataset
from cosmos_datasets.errors import MetadataError, VideoDecodeError
from cosmos_datasets.factories import build_http
from cosmos_datasets.loader import build_dataloader
from cosmos_datasets.skips import SkipLog


@pytest.fixture
def http_config(video_server, write_metadata, small_config, tmp_path):
    """Five URLs: three good videos, a 404 and a truncated download.

    Every failure here is immediate, so the timeout is one no loopback answer needs: a busy machine
    must not turn a good video into a timed-out one.
    """
    good, other, third = sorted(video_server.files)[:3]
    entries = [
        {"url": f"{video_server.url}/files/{good}", "anomaly_type": "red", "split": "train"},
        {"url": f"{video_server.url}/files/{other}", "anomaly_type": "blue", "split": "train"},
        {"url": f"{video_server.url}/missing/{good}", "anomaly_type": "red", "split": "train"},
        {"url": f"{video_server.url}/truncated/{other}", "anomaly_type": "blue", "split": "train"},
        {"video_url": f"{video_server.url}/flaky/{third}", "anomaly_type": "red", "split": "test"},
    ]
    return small_config(
        dataset_type="http",
        metadata=str(write_metadata(entries)),
        data_root=str(tmp_path / "cache"),
        http_timeout_sec=60.0,
        http_attempts=2,
        batch_size=5,
        workers=2,
        drop_last=False,
    )


def test_failed_urls_are_skipped_and_counted_as_missing(http_config):
    dataset = HttpDataset(http_config, training=False)
    assert len(dataset) == 5 and dataset.label_names() == ["blue", "red"]
    log, records, sizes = SkipLog(), [], []
    for batch in build_dataloader(dataset, http_config):
        log.add(batch["skipped"])
        records += batch["skipped"]
        sizes.append(batch["video"].shape[0])
    assert sizes == [3] and log.counts()["missing file"] == 2 and log.total == 2
    reasons = sorted(record["reason"] for record in records)
    assert reasons[0] == "missing file: HTTP 404 Not Found"
    assert reasons[1].startswith("missing file: truncated body")
    assert len(list(dataset.cache.directory.iterdir())) == 3  # only whole files are cached


def test_cached_videos_load_without_the_server(http_config, video_server):
    dataset = HttpDataset(attrs.evolve(http_config, split="train"), training=False)
    first = dataset[0]
    assert first["path"].startswith("http://") and first["video"].shape == (4, 3, 16, 16)
    video_server.files.clear()  # the server now answers 404 to everything
    assert dataset[0]["video"].equal(first["video"])


def test_strict_mode_and_training_wrapper(http_config):
    strict = HttpDataset(attrs.evolve(http_config, skip_missing_files=False), training=False)
    with pytest.raises(VideoDecodeError, match="HTTP 404"):
        strict[2]
    training = build_http(attrs.evolve(http_config, split="train"), training=True)
    batch = collate_samples([training[i] for i in range(4)])
    # Items 2 (404) and 3 (truncated) are replaced by the next loadable ones; each failed try counts.
    assert batch["video"].shape[0] == 4 and len(batch["skipped"]) == 3


def test_entries_must_list_http_urls(write_metadata, small_config, tmp_path):
    metadata = write_metadata([{"url": str(tmp_path / "v.mp4"), "anomaly_type": "x"}])
    with pytest.raises(
        MetadataError, match=r"meta.json:2: http entry video '.*v.mp4' is not an http:// or https:// URL"
    ):
        HttpDataset(small_config(dataset_type="http", metadata=str(metadata)), training=False)
    metadata = write_metadata([{"anomaly_type": "x"}])
    with pytest.raises(MetadataError, match="http entry has no 'url' or 'video_url' or 'path' field"):
        HttpDataset(small_config(dataset_type="http", metadata=str(metadata)), training=False)


def test_path_remap_rewrites_url_prefixes(http_config, video_server):
    remapped = attrs.evolve(http_config, path_remap={f"{video_server.url}/missing/": f"{video_server.url}/files/"})
    dataset = HttpDataset(remapped, training=False)
    assert dataset.clips[2].path.startswith(f"{video_server.url}/files/") and "video" in dataset[2]
