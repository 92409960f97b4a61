"""prepare_data: HD-VILA rows with local and loopback-http sources, and a folder of captioned videos."""

from __future__ import annotations

import http.server
import json
import threading

import numpy as np
import pytest
from cosmos_transfer.data.video_io import Mp4Writer, probe_video
from cosmos_transfer.preprocess.errors import PrepareError
from cosmos_transfer.tasks import prepare_data


def write_source(path, frames=48):
    with Mp4Writer(path, 24) as writer:
        for t in range(frames):
            writer.write(np.full((32, 48, 3), 4 * t, np.uint8))
    return path


@pytest.fixture
def www(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    write_source(folder / "remote.mp4")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(folder), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def rows(www):
    return [
        {"video_id": "loc", "url": "sources/local.mp4", "clip_id": "loc.0.mp4", "span_start": "00:00:00.500",
         "span_end": "00:00:01.000", "caption": "a grey fade"},
        {"video_id": "loc", "url": "sources/local.mp4", "clip_id": "loc.1.mp4", "span_start": "00:00:01.000",
         "span_end": "00:00:01.500", "caption": "the same fade, later"},
        {"video_id": "rem", "url": f"{www}/remote.mp4", "clip_id": "rem.0.mp4", "span_start": "00:00:00",
         "span_end": "00:00:01.000", "caption": "a remote fade"},
        {"video_id": "gone", "url": f"{www}/missing.mp4", "clip_id": "gone.0.mp4", "span_start": "00:00:00",
         "span_end": "00:00:01", "caption": "never there"},
    ]  # fmt: skip


@pytest.fixture
def dataset(tmp_path, www):
    root = tmp_path / "hdvila"
    (root / "sources").mkdir(parents=True)
    write_source(root / "sources" / "local.mp4")
    (root / "hdvila-100M.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows(www)))
    return root


def test_download_and_clip(dataset, parse, ctx, tmp_path):
    args = parse("prepare_data", "--dataset_path", dataset, "--N_videos", 3, "--do_download", "--do_clip",
                 "--clips_per_video", 0, "--cache_dir", tmp_path / "cache")  # fmt: skip
    assert prepare_data.run(args, ctx) == 1  # the 404 is reported, the rest is done
    assert sorted(p.name for p in (dataset / "videos_orig").iterdir()) == ["loc.mp4", "rem.mp4"]
    assert sorted(p.name for p in (dataset / "videos").iterdir()) == ["loc.0.mp4", "loc.1.mp4", "rem.0.mp4"]
    assert [probe_video(dataset / "videos" / f"{n}.mp4").num_frames for n in ("loc.0", "loc.1", "rem.0")] == [
        12,
        12,
        24,
    ]
    assert (dataset / "metas" / "loc.1.txt").read_text() == "the same fade, later"
    assert json.loads((dataset / "metas" / "rem.0.json").read_text())["clip_id"] == "rem.0.mp4"
    summary = ctx.runs[0].summary_line
    assert "2 downloaded" in summary and "3 clips cut" in summary and "1 failed" in summary
    mtime = (dataset / "videos" / "loc.0.mp4").stat().st_mtime_ns
    assert prepare_data.run(args, ctx) == 1
    assert (
        "0 downloaded, 2 already" in ctx.runs[1].summary_line and "0 clips cut, 3 already" in ctx.runs[1].summary_line
    )
    assert (dataset / "videos" / "loc.0.mp4").stat().st_mtime_ns == mtime


def test_one_clip_per_video_as_the_reference(dataset, parse, ctx, tmp_path):
    args = parse("prepare_data", "--dataset_path", dataset, "--N_videos", 1, "--do_download", "--do_clip")
    assert prepare_data.run(args, ctx) == 0
    assert [p.name for p in (dataset / "videos").iterdir()] == ["loc.0.mp4"]


def test_clip_without_download_names_the_missing_source(dataset, parse, ctx, caplog):
    args = parse("prepare_data", "--dataset_path", dataset, "--N_videos", 1, "--do_clip")
    assert prepare_data.run(args, ctx) == 1
    assert "1 failed" in ctx.runs[0].summary_line
    assert "videos_orig/loc.mp4 not found (run with --do_download first)" in caplog.text
    assert not (dataset / "videos" / "loc.0.mp4").exists()


def test_youtube_without_pytubefix_stops_before_any_work(tmp_path, parse, ctx, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pytubefix", None)  # import fails
    root = tmp_path / "yt"
    root.mkdir()
    row = {"video_id": "x", "url": "https://www.youtube.com/watch?v=x", "clip_id": "x.0.mp4",
           "span_start": "00:00:00", "span_end": "00:00:02", "caption": "c"}  # fmt: skip
    (root / "hdvila-100M.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(PrepareError, match="pytubefix"):
        prepare_data.run(parse("prepare_data", "--dataset_path", root, "--do_download"), ctx)
    assert ctx.runs == [] and sorted(p.name for p in root.iterdir()) == ["hdvila-100M.jsonl"]


def test_nothing_to_do_is_an_error(dataset, parse, ctx):
    with pytest.raises(PrepareError, match="--do_download and/or --do_clip"):
        prepare_data.run(parse("prepare_data", "--dataset_path", dataset), ctx)


def test_folder_of_captioned_videos(tmp_path, parse, ctx):
    source = tmp_path / "in"
    source.mkdir()
    for name in ("a", "b", "c"):
        write_source(source / f"{name}.mp4", frames=6)
    (source / "a.txt").write_text("first")
    (source / "b.txt").write_text("second")
    root = tmp_path / "ds"
    assert prepare_data.run(parse("prepare_data", "--dataset_path", root, "--input_dir", source), ctx) == 0
    assert sorted(p.name for p in (root / "videos").iterdir()) == ["a.mp4", "b.mp4"]
    assert (root / "metas" / "b.txt").read_text() == "second"
    assert "1 videos without caption" in ctx.runs[0].summary_line
    assert (
        prepare_data.run(parse("prepare_data", "--dataset_path", root, "--input_dir", source, "--N_videos", 1), ctx)
        == 0
    )
    assert "0 written, 1 already there" in ctx.runs[1].summary_line
