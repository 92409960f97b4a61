import time

import pytest
from cosmos_datasets.http_cache import FetchError, HttpCache


@pytest.fixture
def cache(tmp_path):
    return HttpCache(tmp_path / "cache", timeout_sec=0.3, attempts=2, backoff_sec=0.01)


@pytest.fixture
def name(video_server) -> str:
    return sorted(video_server.files)[0]


def test_downloads_once_then_serves_from_the_cache(video_server, cache, name):
    url = f"{video_server.url}/files/{name}"
    path = cache.fetch(url)
    assert path.read_bytes() == video_server.files[name] and path.suffix == ".mp4"
    assert cache.fetch(url) == path and video_server.hits[f"/files/{name}"] == 1
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial files left
    assert HttpCache(path.parent).path_for(url) == path  # keyed by URL, stable across instances


def test_not_found_fails_at_once(video_server, cache, name):
    with pytest.raises(FetchError, match="HTTP 404") as info:
        cache.fetch(f"{video_server.url}/missing/{name}")
    assert info.value.reason.startswith("HTTP 404") and video_server.hits[f"/missing/{name}"] == 1
    with pytest.raises(FetchError, match="HTTP 404"):  # a later epoch in the same worker: no new request
        cache.fetch(f"{video_server.url}/missing/{name}")
    assert video_server.hits[f"/missing/{name}"] == 1


def test_truncated_body_is_retried_then_given_up(video_server, cache, name):
    with pytest.raises(FetchError, match=r"truncated body: got \d+ of \d+ bytes \(gave up after 2 attempts\)"):
        cache.fetch(f"{video_server.url}/truncated/{name}")
    assert video_server.hits[f"/truncated/{name}"] == 2
    assert not list(cache.directory.iterdir())  # nothing half-written stays in the cache


def test_slow_response_times_out_within_bounds(video_server, cache, name):
    video_server.delay = 1.0
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out \(gave up after 2 attempts\)"):
        cache.fetch(f"{video_server.url}/slow/{name}")
    assert time.monotonic() - start < 1.5 and video_server.hits[f"/slow/{name}"] == 2


def test_server_errors_are_retried(video_server, cache, name):
    path = cache.fetch(f"{video_server.url}/flaky/{name}")
    assert path.read_bytes() == video_server.files[name] and video_server.hits[f"/flaky/{name}"] == 2


def test_connection_refused_is_bounded(cache):
    with pytest.raises(FetchError, match="gave up after 2 attempts"):
        cache.fetch("http://127.0.0.1:9/video.mp4")  # the discard port: nothing listens there


def test_needs_an_attempt():
    with pytest.raises(ValueError, match="attempts must be at least 1"):
        HttpCache("/tmp", attempts=0)
