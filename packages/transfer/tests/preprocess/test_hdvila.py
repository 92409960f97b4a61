"""HD-VILA-100M rows: the real fields, span times, which videos and clips are taken."""

from __future__ import annotations

import json

import pytest
from cosmos_datasets.errors import MetadataError
from cosmos_transfer.preprocess.hdvila import local_path, parse_timestamp, read_hdvila_jsonl, select_videos, url_kind


def row(video, clip, start="00:00:01.000", end="00:00:03.500", url=None):
    return {
        "video_id": video,
        "url": url or f"https://www.youtube.com/watch?v={video}",
        "clip_id": f"{video}.{clip}.mp4",
        "span_start": start,
        "span_end": end,
        "caption": f"clip {clip} of {video}",
    }


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("text, seconds", [("00:00:05.5", 5.5), ("00:01:02.250", 62.25), ("01:00:00", 3600.0)])
def test_span_times(text, seconds):
    assert parse_timestamp(text, "x") == pytest.approx(seconds)


def test_rows_and_clip_names(tmp_path):
    rows = read_hdvila_jsonl(write_jsonl(tmp_path / "h.jsonl", [row("abc", 0), row("abc", 1, "00:00:04", "00:00:06")]))
    assert [r.clip_name for r in rows] == ["abc.0", "abc.1"]
    assert (rows[1].start_sec, rows[1].end_sec, rows[1].video_id) == (4.0, 6.0, "abc")
    assert rows[0].source.endswith("h.jsonl:1") and rows[0].caption == "clip 0 of abc"


def test_selection_by_video_and_clips_per_video(tmp_path):
    rows = read_hdvila_jsonl(
        write_jsonl(
            tmp_path / "h.jsonl", [row("a", 0), row("a", 1), row("b", 0), row("a", 2), row("c", 0), row("b", 1)]
        )
    )
    assert [[r.clip_name for r in v] for v in select_videos(rows, 2, 1)] == [["a.0"], ["b.0"]]
    assert [[r.clip_name for r in v] for v in select_videos(rows, 2, 0)] == [["a.0", "a.1", "a.2"], ["b.0", "b.1"]]
    assert len(select_videos(rows, 10, 1)) == 3


@pytest.mark.parametrize(
    "line, problem",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"url": "x"}), "missing field(s) video_id, clip_id"),
        (json.dumps(row("a", 0, "00:00:05", "00:00:02")), "not after span_start"),
        (json.dumps(row("a", 0, "5 seconds")), "not HH:MM:SS"),
    ],
)
def test_bad_rows_name_their_line(tmp_path, line, problem):
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(row("ok", 0)) + "\n\n" + line + "\n")
    with pytest.raises(MetadataError) as caught:
        read_hdvila_jsonl(path)
    assert f"{path}:3" in str(caught.value) and problem in str(caught.value)


def test_url_kinds_and_local_paths(tmp_path):
    assert url_kind("https://www.youtube.com/watch?v=x") == "youtube" and url_kind("https://youtu.be/x") == "youtube"
    assert url_kind("http://127.0.0.1:8000/v.mp4") == "http" and url_kind("videos/v.mp4") == "local"
    assert url_kind("file:///data/v.mp4") == "local"
    assert local_path("videos/v.mp4", tmp_path) == tmp_path / "videos" / "v.mp4"
    assert str(local_path("file:///data/my%20v.mp4", tmp_path)) == "/data/my v.mp4"
