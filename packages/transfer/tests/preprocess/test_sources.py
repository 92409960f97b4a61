"""Source videos from local paths and loopback http(s) links; YouTube needs pytubefix."""

from __future__ import annotations

import builtins
import http.server
import threading

import pytest
from cosmos_datasets.http_cache import HttpCache
from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.preprocess.hdvila import ClipRow
from cosmos_transfer.preprocess.sources import check_youtube_support, fetch_source


def clip(url):
    return ClipRow(
        row={"url": url, "video_id": "v", "clip_id": "v.0.mp4", "caption": "c"},
        source="h.jsonl:1",
        start_sec=0,
        end_sec=1,
    )


@pytest.fixture
def server(tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "v.mp4").write_bytes(b"not really a video, but bytes to move")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "www"), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_local_sources_are_linked(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "v.mp4").write_bytes(b"abc")
    target = fetch_source(clip("in/v.mp4"), tmp_path / "orig.mp4", base=tmp_path, http_cache=None)
    assert target.read_bytes() == b"abc"
    with pytest.raises(FileNotFoundError, match="h.jsonl:1"):
        fetch_source(clip("in/none.mp4"), tmp_path / "x.mp4", base=tmp_path, http_cache=None)


def test_http_sources_go_through_the_cache(server, tmp_path):
    cache = HttpCache(tmp_path / "cache", timeout_sec=5, attempts=1)
    target = fetch_source(clip(f"{server}/v.mp4"), tmp_path / "orig.mp4", base=tmp_path, http_cache=cache)
    assert target.read_bytes() == b"not really a video, but bytes to move"
    assert cache.path_for(f"{server}/v.mp4").is_file()


def test_youtube_without_pytubefix_stops_before_work(monkeypatch):
    real_import = builtins.__import__

    def no_pytubefix(name, *args, **kwargs):
        if name == "pytubefix":
            raise ImportError("No module named 'pytubefix'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pytubefix)
    videos = [[clip("local/a.mp4")], [clip("https://www.youtube.com/watch?v=abc")]]
    with pytest.raises(PrepareError) as caught:
        check_youtube_support(videos)
    message = str(caught.value)
    assert "1 of the 2" in message and "h.jsonl:1" in message and "cosmos-transfer[youtube]" in message
    assert "--input_dir" in message
    check_youtube_support([[clip("local/a.mp4")]])  # no YouTube URL: nothing needed


def test_youtube_downloads_through_pytubefix_under_a_temporary_name(monkeypatch, tmp_path):
    import sys
    import types

    calls = []

    class Stream:
        def download(self, output_path, filename):
            calls.append(filename)
            (tmp_path / filename).write_bytes(b"yt")

    class YouTube:
        def __init__(self, url):
            self.streams = types.SimpleNamespace(get_highest_resolution=lambda: Stream())

    monkeypatch.setitem(sys.modules, "pytubefix", types.SimpleNamespace(YouTube=YouTube))
    target = fetch_source(clip("https://youtu.be/abc"), tmp_path / "v.mp4", base=tmp_path, http_cache=None)
    assert target.read_bytes() == b"yt" and calls[0] != "v.mp4" and calls[0].endswith(".tmp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]
