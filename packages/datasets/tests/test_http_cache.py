import socket

import pytest
from cosmos_datasets.http_cache import FetchError, HttpCache


@pytest.fixture
def cache(tmp_path):
    """Two attempts per URL; a timeout no loopback answer needs, however loaded the machine is."""
    return HttpCache(tmp_path / "cache", timeout_sec=60.0, attempts=2, backoff_sec=0.01)


@pytest.fixture
def silent_listener():
    """A loopback socket that listens but never accepts: a client connects (the kernel completes the
    handshake), sends its request and waits for an answer that never comes, however long its timeout.
    Each attempt stays in the accept queue, so the test counts them afterwards: no threads, no clock."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener


def accept_pending(listener: socket.socket) -> list[bytes]:
    """The request bytes of every connection waiting in ``listener``'s accept queue."""
    listener.setblocking(False)
    requests = []
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return requests
        with connection:
            connection.settimeout(30)  # the bytes are already buffered; this only keeps a broken test from hanging
            requests.append(connection.recv(65536))


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


def test_a_server_that_does_not_answer_times_out_on_every_attempt(silent_listener, tmp_path):
    cache = HttpCache(tmp_path / "cache", timeout_sec=0.05, attempts=2, backoff_sec=0.0)
    url = f"http://127.0.0.1:{silent_listener.getsockname()[1]}/video.mp4"
    with pytest.raises(FetchError, match=r"timed out \(gave up after 2 attempts\)"):
        cache.fetch(url)
    requests = accept_pending(silent_listener)
    assert len(requests) == 2 and all(r.startswith(b"GET /video.mp4 HTTP/1.1\r\n") for r in requests)
    assert not list(cache.directory.iterdir())


def test_server_errors_are_retried(video_server, cache, name):
    path = cache.fetch(f"{video_server.url}/flaky/{name}")
    assert path.read_bytes() == video_server.files[name] and video_server.hits[f"/flaky/{name}"] == 2


def test_connection_refused_is_retried_then_given_up(cache):
    with socket.socket() as bound:  # bound but not listening: connecting is refused, and no one else gets the port
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/video.mp4"
        with pytest.raises(FetchError, match=r"ConnectionRefusedError.*\(gave up after 2 attempts\)"):
            cache.fetch(url)


def test_needs_an_attempt():
    with pytest.raises(ValueError, match="attempts must be at least 1"):
        HttpCache("/tmp", attempts=0)
