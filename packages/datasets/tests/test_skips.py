import json

from cosmos_datasets.errors import VideoDecodeError
from cosmos_datasets.skips import SkipLog, SkippedSample, skip_reason


def test_skip_reason_starts_with_its_category():
    assert skip_reason(VideoDecodeError("a.mp4", "no such file", missing=True)) == "missing file: no such file"
    assert skip_reason(VideoDecodeError("b.mp4", "bad data")) == "undecodable: bad data"


def test_skip_log_counts_and_writes_json(tmp_path):
    log = SkipLog()
    assert log.summary() == "skipped 0 samples: 0 missing file, 0 undecodable"
    log.add([SkippedSample(3, "a.mp4", "undecodable: bad data").as_record()])
    log.add(
        [
            {"path": "a.mp4", "reason": "undecodable: bad data"},
            {"path": "b.mp4", "reason": "missing file: gone"},
        ]
    )
    assert log.total == len(log) == 3
    assert log.summary() == "skipped 3 samples: 1 missing file, 2 undecodable"
    report = json.loads(log.write_json(tmp_path / "out" / "skipped.json").read_text())
    assert report["total"] == 3 and report["counts"] == {"missing file": 1, "undecodable": 2}
    assert {"path": "a.mp4", "reason": "undecodable: bad data", "count": 2} in report["files"]
