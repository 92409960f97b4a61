"""Small real videos, metadata files and a loopback HTTP server that the dataset tests build themselves."""

from __future__ import annotations

import collections
import http.server
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.samples import generate_sample_dataset, write_video

COUNTING_FRAMES = 40
COUNTING_FPS = 8


def counting_value(index: int) -> int:
    """Grey level of frame ``index`` of the counting video."""
    return 20 + 5 * index


@pytest.fixture(scope="session")
def counting_video(tmp_path_factory) -> Path:
    """40 flat grey 32x64 frames at 8 fps (frame t has grey level 20 + 5t), a keyframe every 4 frames."""
    frames = np.stack([np.full((32, 64, 3), counting_value(t), dtype=np.uint8) for t in range(COUNTING_FRAMES)])
    return write_video(tmp_path_factory.mktemp("counting") / "count.mp4", frames, fps=COUNTING_FPS, gop=4)


@pytest.fixture(scope="session")
def sample_dataset(tmp_path_factory) -> Path:
    """18 sample videos (3 per class: one train, one val, one test each); returns the metadata path."""
    return generate_sample_dataset(tmp_path_factory.mktemp("samples"), num_videos=18, frames=8, size=(32, 32))


@pytest.fixture
def sample_entries(sample_dataset) -> list[dict]:
    """The entries of the sample dataset's metadata (paths relative to its folder)."""
    return json.loads(sample_dataset.read_text())


@pytest.fixture
def write_metadata(tmp_path):
    """``write_metadata(entries, name="meta.json")``: a JSON array (or JSONL for ``*.jsonl``) file."""

    def write(entries: list[dict], name: str = "meta.json") -> Path:
        path = tmp_path / name
        if name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(e) + "\n" for e in entries))
        else:
            path.write_text(json.dumps(entries, indent=2))
        return path

    return write


@pytest.fixture
def small_config():
    """``small_config(**fields)``: a SingleDatasetConfig for tiny, fast clips."""

    def make(**fields) -> SingleDatasetConfig:
        defaults = {"num_video_frames": 4, "resolution": [16, 16], "workers": 0, "decode_backend": "pyav"}
        return SingleDatasetConfig(**{**defaults, **fields})

    return make


class _VideoServer(http.server.ThreadingHTTPServer):
    """Serves ``files`` under ``/files/NAME``; other first path parts misbehave on purpose:

    ``/missing/NAME`` 404, ``/truncated/NAME`` half the body under the full Content-Length,
    ``/slow/NAME`` answers after ``delay`` seconds, ``/flaky/NAME`` answers 503 ``failures`` times
    before serving. ``hits[path]`` counts the requests.
    """

    daemon_threads = True
    delay = 1.0
    failures = 1

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _VideoHandler)
        self.files: dict[str, bytes] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that gave up on a slow answer close the socket mid-write; that is the point."""


class _VideoHandler(http.server.BaseHTTPRequestHandler):
    server: _VideoServer

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        with self.server.lock:
            self.server.hits[self.path] += 1
            hits = self.server.hits[self.path]
        kind, _, name = self.path.strip("/").partition("/")
        body = self.server.files.get(name)
        if body is None or kind == "missing":
            self.send_error(404)
            return
        if kind == "flaky" and hits <= self.server.failures:
            self.send_error(503)
            return
        if kind == "slow":
            time.sleep(self.server.delay)
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if kind == "truncated" else body)
        if kind == "truncated":
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def video_server(sample_dataset):
    """A loopback HTTP server (in a thread) serving the sample videos; see :class:`_VideoServer`."""
    server = _VideoServer()
    for path in sorted(sample_dataset.parent.glob("videos/*.mp4")):
        server.files[path.name] = path.read_bytes()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
