import pytest
from cosmos_datasets.errors import MetadataError
from cosmos_datasets.metadata import read_records, require_field, require_text


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


def test_require_field_names_field_type_and_location():
    with pytest.raises(MetadataError) as info:
        require_field({"path": "a.mp4"}, "anomaly_type", dataset_type="vad_r1", path="m.json", line=7)
    message = str(info.value)
    assert message.startswith("m.json:7:") and "'anomaly_type'" in message and "vad_r1" in message
    assert "fields present: path" in message
    assert require_field({"fps": 30}, "fps", dataset_type="vad_r1", path="m.json", line=1) == 30


def test_require_text_takes_the_first_present_alternative():
    fields = ("path", "video_path")
    assert require_text({"video_path": "v.mp4"}, fields, dataset_type="vad_r1", path="m", line=1) == "v.mp4"
    with pytest.raises(MetadataError, match="m:2: vad_r1 entry has no 'path' or 'video_path' field"):
        require_text({"fps": 30}, fields, dataset_type="vad_r1", path="m", line=2)
    with pytest.raises(MetadataError, match="m:3: .* 'path' must be a non-empty string"):
        require_text({"path": 5}, fields, dataset_type="vad_r1", path="m", line=3)
