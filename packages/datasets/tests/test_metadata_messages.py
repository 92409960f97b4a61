"""The exact messages a newcomer's own metadata gets: null or empty values, captions that are not text,
repeated entries, nesting no metadata file has, and numbers no video has."""

from __future__ import annotations

import json
import logging
import re
import shutil

import pytest
from cosmos_datasets.dataset_types.kinetics import KineticsDataset
from cosmos_datasets.dataset_types.msrvtt import MsrvttDataset
from cosmos_datasets.dataset_types.vad_r1 import VadR1Dataset
from cosmos_datasets.dataset_types.vad_r1_chunks import MAX_CHUNKS, VadR1ChunksDataset
from cosmos_datasets.errors import MetadataError
from cosmos_datasets.metadata import MAX_DEPTH, read_records


@pytest.fixture
def folder(tmp_path, sample_dataset):
    """``a.mp4`` and ``b.mp4`` (real clips) in a folder for metadata to name."""
    clip = next(sample_dataset.parent.glob("videos/*.mp4"))
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(clip, tmp_path / name)
    return tmp_path


@pytest.fixture
def vad(folder, small_config):
    """``vad(entries, **fields)``: a vad_r1 dataset of a JSON array written one entry per line."""

    def make(entries, dataset=VadR1Dataset, **fields):
        metadata = folder / "meta.json"
        metadata.write_text("[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]\n")
        config = small_config(dataset_type="vad_r1", metadata=str(metadata), data_root=str(folder), **fields)
        return dataset(config, training=False)

    return make


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"path": None, "anomaly_type": "x"},
            "vad_r1 entry 'path' is null; it must name the video (a path relative to data_root, or absolute)",
        ),
        ({"path": "", "anomaly_type": "x"}, "vad_r1 entry field 'path' is empty; it must name the video"),
        ({"path": "  ", "anomaly_type": "x"}, "vad_r1 entry field 'path' is blank"),
        (
            {"path": 7, "anomaly_type": "x"},
            "vad_r1 entry field 'path' must be a string naming the video, got number 7",
        ),
        ({"path": "a.mp4", "anomaly_type": ""}, "vad_r1 entry has no caption: 'anomaly_type' is empty; give it"),
        ({"path": "a.mp4", "anomaly_type": None}, "vad_r1 entry has no caption: 'anomaly_type' is null"),
        (
            {"path": "a.mp4", "anomaly_type": 3},
            "vad_r1 caption field 'anomaly_type' must be text, got number 3; write it as text in quotes (\"3\")",
        ),
        (
            {"path": "a.mp4", "anomaly_type": ["a crash", "a fire"]},
            'vad_r1 caption field \'anomaly_type\' must be text, got list ["a crash", "a fire"]; one field '
            "holds one caption: put the sentences in fields of their own and list them in caption_field",
        ),
        ({"path": "a.mp4", "anomaly_type": {"en": "x"}}, 'must be text, got object {"en": "x"}'),
        ({"path": "a.mp4", "anomaly_type": True}, "must be text, got true/false true"),
    ],
)
def test_a_bad_value_gets_a_message_about_that_value(vad, folder, entry, message):
    with pytest.raises(MetadataError) as info:
        vad([{"path": "b.mp4", "anomaly_type": "fine"}, entry])  # the entry is on line 3
    assert str(info.value).startswith(f"{folder / 'meta.json'}:3: ") and message in str(info.value)


def test_null_and_empty_captions_fall_back_to_the_next_caption_field(vad):
    dataset = vad(
        [{"path": "a.mp4", "anomaly_type": None, "what": "a dog"}, {"path": "b.mp4", "anomaly_type": "", "what": "b"}],
        caption_field=["anomaly_type", "what"],
    )
    assert [clip.captions for clip in dataset.clips] == [("a dog",), ("b",)]
    with pytest.raises(MetadataError, match=r"no caption: 'anomaly_type' is null, 'what' is empty"):
        vad([{"path": "a.mp4", "anomaly_type": None, "what": ""}], caption_field=["anomaly_type", "what"])


def test_a_list_of_numbers_becomes_its_text_with_one_warning(vad, caplog):
    entries = [{"path": name, "when": [0.2, 0.67]} for name in ("a.mp4", "b.mp4")]
    with caplog.at_level(logging.WARNING):
        dataset = vad(entries, caption_field="when")
    assert [clip.captions for clip in dataset.clips] == [("[0.2, 0.67]",), ("[0.2, 0.67]",)]
    warnings = [r.getMessage() for r in caplog.records if "caption field" in r.getMessage()]
    assert len(warnings) == 1
    assert "caption field 'when' holds a list of numbers, not text, in 2 entries (lines 2, 3)" in warnings[0]


def test_repeated_entries_are_reported_once_with_their_lines(vad, folder, caplog):
    a = {"path": "a.mp4", "anomaly_type": "x"}
    entries = [a, {"path": "b.mp4", "anomaly_type": "y"}, a, {"path": "b.mp4", "anomaly_type": "z"}, a]
    with caplog.at_level(logging.WARNING):
        dataset = vad(entries)
    assert [(clip.path.rsplit("/", 1)[1], clip.captions[0]) for clip in dataset.clips] == [
        ("a.mp4", "x"),
        ("b.mp4", "y"),
        ("b.mp4", "z"),
    ]
    [warning] = [r.getMessage() for r in caplog.records if "more than once" in r.getMessage()]
    assert warning == (
        f"{folder / 'meta.json'}: 2 videos are listed more than once: 'a.mp4' at lines 2, 4, 6 (line 4, 6: "
        "identical copy, dropped); 'b.mp4' at lines 3, 5. 2 exact copies were dropped; entries that differ are kept"
    )


def test_repeated_kinetics_rows_and_msrvtt_rows(folder, small_config, caplog):
    (folder / "k.csv").write_text("label,youtube_id,time_start,time_end\nrun,a,0,1\nrun,a,0,1\njump,a,1,2\n")
    config = small_config(dataset_type="kinetics", metadata=str(folder / "k.csv"), mp4_urls=str(folder / "*.mp4"))
    with caplog.at_level(logging.WARNING):
        assert len(KineticsDataset(config, training=False)) == 2
    assert "1 clip is listed more than once: 'a [0, 1]' at lines 2, 3 (line 3: identical copy, dropped)" in caplog.text
    rows = [
        {"video": "a.mp4", "caption": "one"},
        {"video": "a.mp4", "caption": "two"},
        {"video": "a.mp4", "caption": "one"},
    ]
    (folder / "m.json").write_text(json.dumps(rows))
    caplog.clear()
    config = small_config(dataset_type="msrvtt", metadata=str(folder / "m.json"), data_root=str(folder))
    with caplog.at_level(logging.WARNING):
        [clip] = MsrvttDataset(config, training=False).clips
    assert clip.captions == ("one", "two")  # rows of one video add up; the exact copy does not
    assert "1 video id is listed more than once: 'a' at lines 1, 1, 1 (line 1: identical copy" in caplog.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" + '{"a": ' * 2000 + "1" + "}" * 2000 + "]", "nested deeper than the JSON reader can follow"),
        ('{"a": ' * 2000 + "1" + "}" * 2000, "nested deeper than the JSON reader can follow"),
        ('[{"a": ' + "[" * 40 + "]" * 40 + "}]", f"41 levels deep (at most {MAX_DEPTH})"),
        ('[{"path": 1' + "0" * 5000 + "}]", "unreadable JSON value (Exceeds the limit"),
    ],
)
def test_metadata_no_real_file_has_is_refused_with_what_to_check(tmp_path, text, message):
    path = tmp_path / "meta.json"
    path.write_text(text)
    with pytest.raises(MetadataError) as info:
        read_records(path)
    assert str(info.value).startswith(f"{path}:1: ") and message in str(info.value)


def test_json_lines_may_hold_line_separators_inside_strings(tmp_path):
    path = tmp_path / "meta.jsonl"
    path.write_text('{"what": "one\u2028two"}\n{"what": "three\u2029four"}\n', encoding="utf-8")
    assert read_records(path) == [(1, {"what": "one\u2028two"}), (2, {"what": "three\u2029four"})]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"video_duration_sec": 1e12}, f"lasts 1e+12 s, which cuts into more than {MAX_CHUNKS:,} chunks of 5 s"),
        ({"fps": 1e-9, "total_frames": 10}, "cuts into more than"),
        ({"fps": 10**400}, "field 'fps' must be a finite number"),
        ({"chunks": [{"start_time_sec": 0, "end_time_sec": float("nan"), "is_anomaly": True}]}, "must be a finite"),
    ],
)
def test_chunk_numbers_no_video_has_are_refused(vad, fields, message):
    with pytest.raises(MetadataError, match=re.escape(message)):
        vad([{"path": "a.mp4", "anomaly_type": "x", **fields}], dataset=VadR1ChunksDataset)
