import pytest
from cosmos_datasets.errors import MetadataError
from cosmos_datasets.metadata import read_csv_records, read_records, require_text


def test_json_array_records_carry_their_starting_line(tmp_path):
    path = tmp_path / "meta.json"
    path.write_text('[\n  {"path": "a.mp4"},\n\n  {\n    "path": "b.mp4"\n  }\n]\n')
    assert read_records(path) == [(2, {"path": "a.mp4"}), (4, {"path": "b.mp4"})]


def test_jsonl_skips_blank_lines(tmp_path):
    path = tmp_path / "meta.jsonl"
    path.write_text('{"path": "a.mp4"}\n\n{"path": "b.mp4"}\n')
    assert read_records(path) == [(1, {"path": "a.mp4"}), (3, {"path": "b.mp4"})]


def test_empty_array_has_no_records(tmp_path):
    path = tmp_path / "meta.json"
    path.write_text("[ ]\n")
    assert read_records(path) == []


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ('{"path": "a.mp4"}\n{"path": "b.mp4",}\n', ":2:", "invalid JSON"),
        ('{"path": "a.mp4"}\n{"path": "b.mp4"\n', ":2:", "one complete object per line"),
        ('{"path": "a.mp4"}\n["b.mp4"]\n', ":2:", "must be a JSON object"),
        ('[\n  {"path": "a.mp4"},\n  {"path": "b.mp4" "x": 1}\n]', ":3:", "invalid JSON"),
        ('[\n  {"path": "a.mp4"}\n  {"path": "b.mp4"}\n]', ":3:", "expected ',' or ']'"),
        ('[\n  {"path": "a.mp4"},\n  "b.mp4"\n]', ":3:", "must be a JSON object"),
        ('[\n  {"path": "a.mp4"}\n]\n]', ":4:", "after the closing"),
        ('[\n  {"path": "a.mp4"},\n', ":3:", "invalid JSON"),
    ],
)
def test_malformed_input_names_file_and_line(tmp_path, text, where, what):
    path = tmp_path / "meta.json"
    path.write_text(text)
    with pytest.raises(MetadataError) as info:
        read_records(path)
    message = str(info.value)
    assert f"{path}{where}" in message and what in message


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(MetadataError, match="metadata file not found"):
        read_records(tmp_path / "absent.json")
    (tmp_path / "empty.json").write_text("\n")
    with pytest.raises(MetadataError, match="is empty"):
        read_records(tmp_path / "empty.json")


def test_require_text_takes_the_first_present_alternative():
    fields = ("path", "video_path")
    assert require_text({"video_path": "v.mp4"}, fields, dataset_type="vad_r1", path="m", line=1) == "v.mp4"
    with pytest.raises(MetadataError, match="m:2: vad_r1 entry has no 'path' or 'video_path' field"):
        require_text({"fps": 30}, fields, dataset_type="vad_r1", path="m", line=2)
    with pytest.raises(MetadataError, match="m:3: .* 'path' must be a string naming the video, got number 5"):
        require_text({"path": 5}, fields, dataset_type="vad_r1", path="m", line=3)
    assert require_text({"path": None, "video_path": "v.mp4"}, fields, dataset_type="d", path="m", line=4) == "v.mp4"


def test_one_json_object_over_several_lines_is_one_record(tmp_path):
    path = tmp_path / "msrvtt.json"
    path.write_text('\n{\n  "videos": [],\n  "sentences": []\n}\n')
    assert read_records(path) == [(2, {"videos": [], "sentences": []})]


def test_csv_rows_carry_their_line(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text('label, youtube_id\n\n"air drumming", abc\r\nzumba,"x,y"\n')
    rows = read_csv_records(path, dataset_type="kinetics", required=("youtube_id",), example="label,youtube_id")
    assert rows == [(3, {"label": "air drumming", "youtube_id": "abc"}), (4, {"label": "zumba", "youtube_id": "x,y"})]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("label\nzumba\n", r"k.csv:1: the kinetics CSV header has no 'youtube_id' column \(found: label\)"),
        ("label,youtube_id\nzumba\n", r"k.csv:2: expected 2 comma-separated fields \(label,youtube_id\), got 1"),
        ('label,youtube_id\nzumba,"abc\n', r"k.csv:\d: malformed CSV|k.csv:\d: expected 2"),
        ("", "k.csv: the kinetics CSV file is empty; expected a header row like label,youtube_id"),
    ],
)
def test_malformed_csv_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "k.csv"
    path.write_text(text)
    with pytest.raises(MetadataError, match=message):
        read_csv_records(path, dataset_type="kinetics", required=("youtube_id",), example="label,youtube_id")


def test_a_byte_order_mark_is_accepted(tmp_path):
    from cosmos_datasets.metadata import read_csv_records, read_records

    json_file = tmp_path / "meta.json"
    json_file.write_bytes(b"\xef\xbb\xbf" + b'[{"path": "a.mp4", "anomaly_type": "x"}]')
    assert read_records(str(json_file))[0][1]["path"] == "a.mp4"
    csv_file = tmp_path / "k.csv"
    csv_file.write_bytes(b"\xef\xbb\xbflabel,youtube_id,time_start,time_end,split\nrunning,abc,0,10,train\n")
    [(_, row)] = read_csv_records(
        str(csv_file), dataset_type="kinetics", required=("label", "youtube_id"), example="label,youtube_id"
    )
    assert row["label"] == "running"
